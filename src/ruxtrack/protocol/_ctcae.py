"""A clinician-stated CTCAE grade as an interval input (platelets, ANC).

"Thrombocytopenia (grade 3)" says the platelet count was 25 to < 50 x10^9/L: the grade's band of
CTCAE v5.0. The bands are read from the criteria package's knowledge file
(``knowledge/criteria/ctcae.yaml``, owned by :mod:`ruxtrack.criteria`), never retyped here; a
test checks each band against :func:`ruxtrack.criteria.evaluate`. Only the *decreased* count terms
map to a lab a rule tests; increased terms (bilirubin) grade against a ULN or a baseline that the
grade alone does not give, so they are not used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ruxtrack.errors import KnowledgeFileError
from ruxtrack.knowledge import SourceRef, knowledge_path, load_yaml

__all__ = ["GradeInterval", "grade_interval", "term_of"]

CTCAE_FILE = "criteria/ctcae.yaml"
#: Protocol lab code -> the catalogue code the CTCAE term grades.
_LAB_OF_CODE = {"plt": "plt", "anc": "anc"}

# A read-only view of a file owned by ruxtrack.criteria: only the fields used here are modelled,
# the others are ignored (that module validates the whole file with extra="forbid").
_VIEW = ConfigDict(frozen=True, extra="ignore")


class _Band(BaseModel):
    model_config = _VIEW
    grade: int
    lt: float | None = None
    le: float | None = None
    gt: float | None = None
    ge: float | None = None


class _Term(BaseModel):
    model_config = _VIEW
    label: str
    code: str
    direction: Literal["decreased", "increased"]
    unit: str | None = None
    grade1_floor: float | None = None
    bands: tuple[_Band, ...] = ()
    source: SourceRef


class _File(BaseModel):
    model_config = _VIEW
    aliases: dict[str, str]
    terms: dict[str, _Term]
    source: SourceRef


@dataclass(frozen=True)
class GradeInterval:
    """The values a stated grade allows: ``low``/``high`` with inclusivity (inf for unbounded)."""

    term: str
    label: str
    grade: int
    low: float
    low_inclusive: bool
    high: float
    high_inclusive: bool
    unit: str
    source: str
    note: str | None = None

    def text(self) -> str:
        """``25–<50``, ``<25``, ``>=75``."""
        lo_open = math.isinf(self.low)
        hi_open = math.isinf(self.high)
        lo = _num(self.low)
        hi = _num(self.high)
        if lo_open and hi_open:
            return "any value"
        if lo_open:
            return f"{'<=' if self.high_inclusive else '<'}{hi}"
        if hi_open:
            return f"{'>=' if self.low_inclusive else '>'}{lo}"
        left = lo if self.low_inclusive else f">{lo}"
        return f"{left}–{'' if self.high_inclusive else '<'}{hi}"


def _num(x: float) -> str:
    return f"{x:g}"


@cache
def _file() -> _File:
    path = knowledge_path(CTCAE_FILE)
    try:
        return _File.model_validate(load_yaml(path))
    except ValidationError as exc:
        raise KnowledgeFileError(str(path), str(exc)) from exc


def term_of(code: str | None, lab: str) -> str | None:
    """The CTCAE term id an assessment ``code`` names, when that term grades ``lab``."""
    if code is None:
        return None
    f = _file()
    key = code.strip().lower().replace(" ", "_").replace("-", "_")
    term_id = f.aliases.get(key, key if key in f.terms else None)
    if term_id is None:
        return None
    t = f.terms[term_id]
    if t.direction != "decreased" or t.code != _LAB_OF_CODE.get(lab):
        return None
    return term_id


def grade_interval(term_id: str, grade: int) -> GradeInterval | None:
    """The value interval of ``grade`` of a decreased CTCAE term; None for a grade with no band.

    Grade 1 is ``< LLN`` down to the grade-1 floor; without the local LLN its upper end is
    unknown, so grades 0 and 1 both give ``>= floor`` (the wider, safe reading). Grade 5 (death)
    is not a count.
    """
    t = _file().terms[term_id]
    unit = t.unit or ""
    src = t.source.label()
    if grade in (0, 1):
        if t.grade1_floor is None:
            return None
        return GradeInterval(
            term_id,
            t.label,
            grade,
            t.grade1_floor,
            True,
            math.inf,
            False,
            unit,
            src,
            note="grade 0-1: the upper end is the local lower limit of normal, not known here",
        )
    for b in t.bands:
        if b.grade != grade:
            continue
        if b.ge is not None:
            low, low_inc = b.ge, True
        elif b.gt is not None:
            low, low_inc = b.gt, False
        else:
            low, low_inc = -math.inf, False
        if b.lt is not None:
            high, high_inc = b.lt, False
        elif b.le is not None:
            high, high_inc = b.le, True
        else:
            high, high_inc = math.inf, False
        return GradeInterval(term_id, t.label, grade, low, low_inc, high, high_inc, unit, src)
    return None
