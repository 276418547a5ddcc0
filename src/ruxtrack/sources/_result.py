"""The source interface: what every reader returns, and the one validation layer.

A reader turns its input into :class:`Timeline` objects and problems located in its own terms
(:class:`~ruxtrack.errors.ImportProblem`), then hands both to :func:`source_result`, which runs
the checks every import shares (:func:`check_timelines`) and returns a :class:`SourceResult`.
``Store.import_source`` is the one door into the store. docs/sources.md shows how to write a
reader.
"""

from __future__ import annotations

import importlib
import os
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from ruxtrack.errors import ImportProblem, ImportValidationError, TimelineError
from ruxtrack.sources._limits import load_limits
from ruxtrack.sources._rows import format_number
from ruxtrack.sources._units import normalise_timelines
from ruxtrack.timeline import Timeline, TimeRef

__all__ = [
    "READERS",
    "Locator",
    "Reader",
    "RecordRef",
    "SourceResult",
    "Where",
    "check_input_file",
    "check_timelines",
    "read_source",
    "source_result",
]

#: Record kinds of a timeline, as the canonical files name them.
KINDS = ("patients", "events", "observations", "drugs", "support", "assessments")


@dataclass(frozen=True)
class SourceResult:
    """What a reader returns: validated timelines, or the problems that refuse them.

    When ``problems`` is not empty, ``timelines`` is empty: an import is all or nothing.
    ``source`` names the input (a path or URL) for the store's import log and messages.
    """

    timelines: list[Timeline]
    problems: list[ImportProblem]
    source: str = ""

    @property
    def ok(self) -> bool:
        """True when nothing refused the input."""
        return not self.problems

    def raise_for_problems(self) -> list[Timeline]:
        """The timelines, or :class:`ImportValidationError` listing every problem."""
        if self.problems:
            raise ImportValidationError(self.problems)
        return self.timelines


@dataclass(frozen=True)
class RecordRef:
    """A record of a timeline: ``kind`` is a canonical file name, ``index`` its position in
    the timeline's tuple (None: the patient itself), ``field`` the offending field."""

    patient_id: str
    kind: str
    index: int | None
    field: str | None = None


@dataclass(frozen=True)
class Where:
    """A place in a source, in its own terms (see :class:`ImportProblem`)."""

    file: str
    row: int | None = None
    location: tuple[tuple[str, str], ...] = ()
    field: str | None = None


#: Maps a record of a built timeline back to where the reader found it.
Locator = Callable[[RecordRef], Where]


class Reader(Protocol):
    """A source reader: ``read(path) -> SourceResult``; it never writes to the store."""

    def __call__(self, path: str | Path, /) -> SourceResult: ...


def _default_locator(ref: RecordRef) -> Where:
    """Timelines built in code: ``timeline P1``, record number, ``kind.field``."""
    row = None if ref.index is None else ref.index + 1
    fld = ref.kind if ref.field is None else f"{ref.kind}.{ref.field}"
    return Where(f"timeline {ref.patient_id}", row, (), fld)


def check_input_file(path: Path, *, folder: bool = False) -> ImportProblem | None:
    """Refuse what is not a regular file (or folder): missing, dangling link, device, pipe."""
    shown = str(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return ImportProblem(shown, None, None, None, "a link to a file that does not exist")
        return ImportProblem(shown, None, None, None, "no such file or folder")
    except OSError as exc:
        return ImportProblem(shown, None, None, None, f"cannot be read: {exc.strerror or exc}")
    if folder:
        if not stat.S_ISDIR(st.st_mode):
            return ImportProblem(shown, None, None, None, "not a folder")
        return None
    if stat.S_ISDIR(st.st_mode):
        return ImportProblem(shown, None, None, None, "a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        return ImportProblem(shown, None, None, None, "not a regular file (a device or pipe?)")
    if not os.access(path, os.R_OK):
        return ImportProblem(shown, None, None, None, "cannot be read: permission denied")
    return None


def source_result(
    source: str,
    timelines: Sequence[Timeline],
    problems: Iterable[ImportProblem] = (),
    *,
    locate: Locator | None = None,
) -> SourceResult:
    """Finish a reader: run the shared checks and return its :class:`SourceResult`.

    When the reader already found problems, the shared checks are skipped (a cause is
    reported once, not again as its consequences) and no timeline is returned.
    """
    found = list(problems)
    if found:
        return SourceResult([], found, source)
    checked, more = check_timelines(timelines, source=source, locate=locate)
    if more:
        return SourceResult([], more, source)
    return SourceResult(checked, [], source)


def check_timelines(
    timelines: Sequence[Timeline], *, source: str = "import", locate: Locator | None = None
) -> tuple[list[Timeline], list[ImportProblem]]:
    """The validation every import passes, whatever its format.

    Checks: each patient once; every observation's code, unit and plausible range (converted
    to the catalogue's canonical unit); every time and birth date inside the date window of
    ``knowledge/sources/limits.yaml``; birth before every event; each dose under its drug's
    label maximum where the limits name one, else under the generic ceiling of its unit;
    no record given twice.

    Returns
    -------
    (timelines, problems)
        The timelines with observations in canonical units, and every problem found (located
        through ``locate``, else by patient and record number).
    """
    where = locate or _default_locator
    problems: list[ImportProblem] = []

    def add(ref: RecordRef, value: object, reason: str) -> None:
        w = where(ref)
        shown = None if value is None else _text(value)
        problems.append(ImportProblem(w.file, w.row, w.field, shown, reason, w.location))

    seen: dict[str, int] = {}
    for i, tl in enumerate(timelines):
        pid = tl.patient.patient_id
        if pid in seen:
            add(RecordRef(pid, "patients", None, "patient_id"), pid,
                f"patient {pid} is given twice (first as patient {seen[pid] + 1})")  # fmt: skip
        else:
            seen[pid] = i
        _check_limits(tl, add)
        _check_duplicates(tl, add)

    def unit_problem(tl: Timeline, index: int, fld: str, reason: str) -> ImportProblem:
        o = tl.observations[index]
        value = format_number(o.value) if fld == "value" else (o.unit if fld == "unit" else o.code)
        w = where(RecordRef(tl.patient.patient_id, "observations", index, fld))
        return ImportProblem(w.file, w.row, w.field, value, reason, w.location)

    try:
        out = normalise_timelines(list(timelines), problem=unit_problem)
    except ImportValidationError as exc:
        problems.extend(exc.problems)
        out = list(timelines)
    return out, problems


def _text(value: object) -> str:
    if isinstance(value, float):
        return format_number(value)
    return str(value)


Add = Callable[[RecordRef, object, str], None]

_TIMED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("events", ("time",)),
    ("observations", ("time",)),
    ("drugs", ("start", "end")),
    ("support", ("start", "end")),
    ("assessments", ("time",)),
)


def _check_limits(tl: Timeline, add: Add) -> None:
    limits = load_limits()
    lo = datetime.combine(limits.dates.earliest, datetime.min.time())
    hi = datetime.combine(limits.dates.latest, datetime.max.time())
    window = f"{limits.dates.earliest} to {limits.dates.latest}"
    pid = tl.patient.patient_id
    born = tl.patient.birth_date
    if born is not None and not (limits.dates.earliest <= born <= limits.dates.latest):
        add(RecordRef(pid, "patients", None, "birth_date"), born,
            f"birth date outside the accepted window {window}")  # fmt: skip
        born = None
    relative = tl.time_basis != "absolute"
    for kind, fields in _TIMED:
        for i, rec in enumerate(getattr(tl, kind)):
            for fld in fields:
                ref: TimeRef | None = getattr(rec, fld)
                if ref is None:
                    continue
                try:
                    when = tl.at(ref)
                except (TimelineError, OverflowError):
                    add(RecordRef(pid, kind, i, fld), ref, "time cannot be placed on the timeline")
                    continue
                if not lo <= when <= hi:
                    what = "day" if relative else "date"
                    add(RecordRef(pid, kind, i, fld), ref,
                        f"{what} outside the accepted window {window}")  # fmt: skip
                elif born is not None and not relative and when.date() < born:
                    add(RecordRef(pid, kind, i, fld), ref,
                        f"before the patient's birth date ({born.isoformat()})")  # fmt: skip
    for i, d in enumerate(tl.drugs):
        unit = d.unit.value
        label = limits.drug_max(d.drug, unit)
        if label is not None and d.dose > label.max_per_administration:
            add(RecordRef(pid, "drugs", i, "dose"), d.dose,
                f"{d.drug} {format_number(d.dose)} {unit} per administration is above the "
                f"label maximum of {format_number(label.max_per_administration)} {unit} "
                f"({label.source.label()})")  # fmt: skip
            continue
        ceiling = limits.ceiling(unit)
        if ceiling is not None and d.dose > ceiling:
            add(
                RecordRef(pid, "drugs", i, "dose"),
                d.dose,
                f"{format_number(d.dose)} {unit} per administration is above the largest "
                f"plausible dose ({format_number(ceiling)} {unit}): a unit or typing error?",
            )


_IDENTITY: dict[str, Callable[[object], tuple[object, ...]]] = {
    "observations": lambda o: (o.time, o.code, o.value, o.comparator),  # type: ignore[attr-defined]
    "drugs": lambda d: (d.drug, d.dose, d.unit, d.frequency, d.route, d.start, d.end),  # type: ignore[attr-defined]
    "support": lambda s: (s.mode, s.start, s.end, s.fio2, s.flow_l_min),  # type: ignore[attr-defined]
    "assessments": lambda a: (a.time, a.kind, a.value, a.code),  # type: ignore[attr-defined]
}


def _check_duplicates(tl: Timeline, add: Add) -> None:
    pid = tl.patient.patient_id
    for kind, key in _IDENTITY.items():
        first: dict[tuple[object, ...], int] = {}
        for i, rec in enumerate(getattr(tl, kind)):
            k = key(rec)
            if k in first:
                add(RecordRef(pid, kind, i, None), None,
                    f"the same record is given twice (first as {kind} record "
                    f"{first[k] + 1} of patient {pid})")  # fmt: skip
            else:
                first[k] = i


#: Readers by format name: ``"module:function"``, imported only when used. A new format adds
#: one line (docs/sources.md).
READERS: dict[str, str] = {
    "canonical": "ruxtrack.sources.canonical:read_canonical",
    "fhir": "ruxtrack.sources.fhir:read_fhir",
    "omop": "ruxtrack.sources.omop:read_omop_source",
    "redcap": "ruxtrack.sources.redcap:read_redcap_source",
}


def read_source(path: str | Path, format: str = "canonical") -> SourceResult:
    """Read ``path`` with the reader registered for ``format`` in :data:`READERS`."""
    target = READERS.get(format)
    if target is None:
        known = ", ".join(READERS)
        return SourceResult(
            [], [ImportProblem(str(path), None, None, format, f"unknown format; use {known}")],
            str(path),
        )  # fmt: skip
    module, _, name = target.partition(":")
    reader: Reader = getattr(importlib.import_module(module), name)
    return reader(path)
