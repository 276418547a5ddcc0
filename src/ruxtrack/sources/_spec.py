"""The canonical folder layout: files, their columns, and the store's resolved columns.

This is the single definition of the data contract in docs/data-format.md; the reader, the
writer, the store's tables and :func:`resolved_frames` are all built from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["EXTENSIONS", "FILES", "FILE_ORDER", "ColumnSpec", "FileSpec"]

Kind = Literal["text", "number", "integer", "bool", "date", "time"]


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a canonical file."""

    name: str
    kind: Kind = "text"
    required: bool = False


@dataclass(frozen=True)
class FileSpec:
    """One canonical file (``<name>.csv`` or ``<name>.parquet``) and its columns, in order."""

    name: str
    columns: tuple[ColumnSpec, ...]
    #: resolved timestamp columns the store adds: (store column, source time column)
    resolved: tuple[tuple[str, str], ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


_PID = ColumnSpec("patient_id", required=True)
_PROV = ColumnSpec("provenance")

FILES: dict[str, FileSpec] = {
    "patients": FileSpec(
        "patients",
        (
            _PID,
            ColumnSpec("sex", required=True),
            ColumnSpec("birth_date", "date"),
            ColumnSpec("age_years", "number"),
            ColumnSpec("age_at"),
            ColumnSpec("blood_group"),
            ColumnSpec("comorbidities"),
            ColumnSpec("synthetic", "bool"),
        ),
    ),
    "events": FileSpec(
        "events",
        (
            _PID,
            ColumnSpec("event", required=True),
            ColumnSpec("occurrence", "integer"),
            ColumnSpec("time", "time", required=True),
            ColumnSpec("donor_type"),
            ColumnSpec("hla_match"),
            ColumnSpec("cell_source"),
            ColumnSpec("conditioning"),
            ColumnSpec("conditioning_intensity"),
            ColumnSpec("gvhd_prophylaxis"),
            _PROV,
        ),
        resolved=(("t", "time"),),
    ),
    "observations": FileSpec(
        "observations",
        (
            _PID,
            ColumnSpec("time", "time", required=True),
            ColumnSpec("code", required=True),
            ColumnSpec("value", "number", required=True),
            ColumnSpec("unit", required=True),
            ColumnSpec("comparator"),
            _PROV,
        ),
        resolved=(("t", "time"),),
    ),
    "drugs": FileSpec(
        "drugs",
        (
            _PID,
            ColumnSpec("drug", required=True),
            ColumnSpec("rxnorm"),
            ColumnSpec("dose", "number", required=True),
            ColumnSpec("unit", required=True),
            ColumnSpec("frequency", required=True),
            ColumnSpec("route"),
            ColumnSpec("start", "time", required=True),
            ColumnSpec("end", "time"),
            ColumnSpec("reason"),
            _PROV,
        ),
        resolved=(("t_start", "start"), ("t_end", "end")),
    ),
    "support": FileSpec(
        "support",
        (
            _PID,
            ColumnSpec("mode", required=True),
            ColumnSpec("start", "time", required=True),
            ColumnSpec("end", "time"),
            ColumnSpec("fio2", "number"),
            ColumnSpec("flow_l_min", "number"),
            _PROV,
        ),
        resolved=(("t_start", "start"), ("t_end", "end")),
    ),
    "assessments": FileSpec(
        "assessments",
        (
            _PID,
            ColumnSpec("time", "time", required=True),
            ColumnSpec("kind", required=True),
            ColumnSpec("value", required=True),
            ColumnSpec("code"),
            _PROV,
        ),
        resolved=(("t", "time"),),
    ),
}

#: Files in dependency order (patients first, events before everything that refers to them).
FILE_ORDER: tuple[str, ...] = tuple(FILES)

#: File formats read, by file extension.
EXTENSIONS: tuple[str, ...] = ("csv", "parquet")
