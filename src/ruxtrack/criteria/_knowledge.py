"""Typed shapes of the criteria knowledge files (``ruxtrack/knowledge/criteria/*.yaml``).

The files are read, never computed: each loader validates one file against a frozen pydantic
model so a bad file fails with :class:`~ruxtrack.errors.KnowledgeFileError` naming the file and
the field.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from ruxtrack.errors import KnowledgeFileError
from ruxtrack.knowledge import Citation, SourceRef, knowledge_path, load_yaml

__all__ = [
    "Band",
    "CriterionFile",
    "Freshness",
    "Threshold",
    "check_partition",
    "exact",
    "load_file",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
Op = Literal["lt", "le", "gt", "ge"]
_SYMBOL = {"lt": "<", "le": "≤", "gt": ">", "ge": "≥"}


def exact(x: float | int | str | Fraction) -> Fraction:
    """An exact rational for a decimal (12 significant digits: 1.7999999999999998 is 1.8)."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, int):
        return Fraction(x)
    return Fraction(format(float(x), ".12g"))


class Threshold(BaseModel):
    """``value op threshold`` in ``unit``, e.g. ferritin ≥ 500 ug/L."""

    model_config = _FROZEN

    op: Op
    value: float
    unit: str
    source: SourceRef | None = None

    def text(self) -> str:
        return f"{_SYMBOL[self.op]} {self.value:g} {self.unit}"


class Band(BaseModel):
    """A half-open or closed interval with what it maps to (points, grade, stage or a band text)."""

    model_config = _FROZEN

    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    points: int | None = None
    grade: int | None = None
    stage: int | None = None
    text: str | None = None
    low: float | None = None
    high: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Band:
        if self.gt is not None and self.ge is not None:
            raise ValueError("give gt or ge, not both")
        if self.lt is not None and self.le is not None:
            raise ValueError("give lt or le, not both")
        lo, hi = self.lower, self.upper
        if lo is not None and hi is not None and lo[0] > hi[0]:
            raise ValueError("lower bound above upper bound")
        return self

    @property
    def lower(self) -> tuple[Fraction, bool] | None:
        """(bound, inclusive) or None when unbounded below."""
        if self.ge is not None:
            return exact(self.ge), True
        if self.gt is not None:
            return exact(self.gt), False
        return None

    @property
    def upper(self) -> tuple[Fraction, bool] | None:
        if self.le is not None:
            return exact(self.le), True
        if self.lt is not None:
            return exact(self.lt), False
        return None

    def text_range(self, unit: str = "") -> str:
        """Human form such as ``38.4–39.4 Cel`` or ``> 39.4 Cel``."""
        u = f" {unit}" if unit else ""
        lo, hi = self.lower, self.upper
        if lo is None and hi is not None:
            return f"{'≤' if hi[1] else '<'} {float(hi[0]):g}{u}"
        if hi is None and lo is not None:
            return f"{'≥' if lo[1] else '>'} {float(lo[0]):g}{u}"
        if lo is None or hi is None:
            return "any value"
        if lo[1] and hi[1]:
            return f"{float(lo[0]):g}–{float(hi[0]):g}{u}"
        left = f"{'≥' if lo[1] else '>'}{float(lo[0]):g}"
        right = f"{'≤' if hi[1] else '<'}{float(hi[0]):g}"
        return f"{left} to {right}{u}"


def check_partition(bands: Sequence[Band], *, full: bool) -> None:
    """Bands must not overlap or leave gaps; ``full`` also requires them to cover every number."""
    ordered = sorted(bands, key=lambda b: (b.lower is not None, b.lower[0] if b.lower else 0))
    for prev, nxt in itertools.pairwise(ordered):
        up, lo = prev.upper, nxt.lower
        if up is None or lo is None or up[0] != lo[0] or up[1] == lo[1]:
            raise ValueError(
                f"bands {prev.text_range()} and {nxt.text_range()} overlap or leave a gap"
            )
    if full and ordered and (ordered[0].lower is not None or ordered[-1].upper is not None):
        raise ValueError("bands must cover every value (first unbounded below, last above)")


class Freshness(BaseModel):
    """How old an input may be on a timeline (days)."""

    model_config = _FROZEN

    labs_days: float | None = None
    findings_days: float | None = None
    stated_days: float | None = None
    body_days: float | None = None
    baseline_max_age_days: float | None = None
    baseline_anchors: tuple[str, ...] = ()
    source: SourceRef


class CriterionFile(BaseModel):
    """Fields every criterion file has."""

    model_config = _FROZEN

    id: str
    name: str
    sources: dict[str, Citation]
    source: SourceRef

    @model_validator(mode="after")
    def _source_keys_known(self) -> CriterionFile:
        for ref in _refs(self):
            if ref.key not in self.sources:
                raise ValueError(f"source key {ref.key!r} is not in the sources block")
        return self


def _refs(obj: Any) -> Iterator[SourceRef]:
    if isinstance(obj, SourceRef):
        yield obj
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from _refs(getattr(obj, name))
    elif isinstance(obj, Mapping):
        for v in obj.values():
            yield from _refs(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            yield from _refs(v)


T = TypeVar("T", bound=BaseModel)


def _field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def load_file(name: str, model: type[T], path: str | Path | None = None) -> T:
    """Load and validate one criteria knowledge file (packaged unless ``path`` is given)."""
    if path is None:
        loaded: T = _load_packaged(name, model)
        return loaded
    return _validate(Path(path), model)


@cache
def _load_packaged(name: str, model: type[T]) -> T:
    return _validate(knowledge_path(f"criteria/{name}.yaml"), model)


def _validate(path: Path, model: type[T]) -> T:
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise KnowledgeFileError(str(path), "the file must hold a mapping")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise KnowledgeFileError(
            str(path), f"field `{_field_path(first['loc'])}`: {first['msg']}"
        ) from exc
