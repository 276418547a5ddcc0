"""Canonical cells built from another format, remembering where each row came from.

A reader for a format that is not the canonical folder (OMOP, REDCap) fills :class:`Canon` with
canonical cells plus each row's origin in its own terms; :func:`finish` then runs the one
validation layer (:func:`build_timelines`, then the shared checks) and names every problem by
that origin: the format's file or table, row, location and column.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from ruxtrack.errors import ImportProblem
from ruxtrack.sources._load import RawTable
from ruxtrack.sources._problems import Problems
from ruxtrack.sources._result import RecordRef, SourceResult, Where, source_result
from ruxtrack.sources._spec import FILES
from ruxtrack.sources._validate import RowMap, build_timelines

__all__ = ["Canon", "Origin", "blank", "finish"]

_ROW0 = 2  # synthetic row numbers of the canonical tables (never shown)


@dataclass(frozen=True)
class Origin:
    """Where a canonical row came from: file or table, row, the format's own location, and
    the format's column for each canonical column."""

    file: str
    row: int | None
    location: tuple[tuple[str, str], ...] = ()
    columns: dict[str, str] = field(default_factory=dict)


@dataclass
class Canon:
    """Canonical cells by kind (``patients``, ``events``, ...), each row with its origin."""

    rows: dict[str, list[dict[str, str]]] = field(default_factory=lambda: defaultdict(list))
    origin: dict[str, list[Origin]] = field(default_factory=lambda: defaultdict(list))

    def add(self, kind: str, cells: dict[str, str], origin: Origin) -> None:
        self.rows[kind].append(cells)
        self.origin[kind].append(origin)


def blank(kind: str) -> dict[str, str]:
    """Every column of a canonical file, empty."""
    return {c.name: "" for c in FILES[kind].columns}


def _raw_tables(canon: Canon) -> dict[str, RawTable]:
    out: dict[str, RawTable] = {}
    for kind, spec in FILES.items():
        rows = canon.rows.get(kind, [])
        frame = pd.DataFrame(
            [[r.get(c, "") or "" for c in spec.column_names] for r in rows],
            columns=list(spec.column_names),
            dtype=object,
        )
        numbers = pd.Series(range(_ROW0, _ROW0 + len(rows)), dtype="int64")
        out[kind] = RawTable(f"\x00{kind}", spec, frame, numbers)
    return out


def _relocate(p: ImportProblem, canon: Canon, fallback: str) -> ImportProblem:
    if not p.file.startswith("\x00"):
        return p
    kind = p.file[1:]
    if p.row is None or not canon.origin.get(kind):
        return ImportProblem(fallback, None, p.field, p.value, p.reason, p.location)
    o = canon.origin[kind][p.row - _ROW0]
    fld = o.columns.get(p.field or "", p.field)
    return ImportProblem(o.file, o.row, fld, p.value, p.reason, o.location)


def finish(
    source: str, canon: Canon, problems: Iterable[ImportProblem], *, fallback: str
) -> SourceResult:
    """Validate the canonical cells and return the reader's :class:`SourceResult`.

    ``problems`` are the reader's own (already located); the validation's problems are
    relocated to the rows' origins; ``fallback`` names problems without a row.
    """
    found = list(problems)
    canon_problems = Problems()
    rows: RowMap = {}
    timelines = build_timelines(_raw_tables(canon), canon_problems, rows)
    found += [_relocate(p, canon, fallback) for p in canon_problems.sorted()]

    def locate(ref: RecordRef) -> Where:
        hit = rows.get((ref.patient_id, ref.kind, -1 if ref.index is None else ref.index))
        if hit is None:  # pragma: no cover - every built record has a row
            return Where(fallback, None, (("patient", ref.patient_id),), ref.field)
        p = _relocate(ImportProblem(hit[0], hit[1], ref.field, None, ""), canon, fallback)
        return Where(p.file, p.row, p.location, p.field)

    return source_result(source, timelines, found, locate=locate)
