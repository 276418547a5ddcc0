"""Shared parts of the FHIR reader: located resources, JSON helpers, times, the rows being
built with the element each cell came from, and the reader's state and helpers."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

import pandas as pd

from ruxtrack.errors import ImportProblem
from ruxtrack.sources._fhir_mapping import FhirMapping
from ruxtrack.sources._load import RawTable
from ruxtrack.sources._result import Locator, RecordRef, Where
from ruxtrack.sources._rows import format_number
from ruxtrack.sources._spec import FILES

__all__ = [
    "Drug", "Located", "PatientData", "ReaderBase", "Res", "Tables", "Unmapped", "When",
    "codings", "get", "read_time", "slug",
]  # fmt: skip

Unmapped = Literal["problem", "skip"]
Res = Mapping[str, Any]

_FHIR_DATE = re.compile(
    r"^(?P<date>\d{4}(?:-\d{2}(?:-\d{2})?)?)"
    r"(?:T(?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(?P<tz>Z|[+-]\d{2}:\d{2})?)?$"
)
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Located:
    """A resource with where it was read: ``label`` (file) and ``row`` (NDJSON line)."""

    resource: Res
    label: str = ""
    row: int | None = None
    full_url: str | None = None

    @property
    def rtype(self) -> str:
        rt = self.resource.get("resourceType")
        return rt if isinstance(rt, str) else "(no resourceType)"

    @property
    def rid(self) -> str | None:
        rid = self.resource.get("id")
        return rid if isinstance(rid, str) else None

    @property
    def name(self) -> str:
        """``Observation/plt-3`` (``Observation/(no id)`` without an id)."""
        return f"{self.rtype}/{self.rid or '(no id)'}"

    def where(self) -> str:
        return f"{self.label}, {self.name}" if self.label else self.name

    def problem(self, path: str | None, value: Any, reason: str) -> ImportProblem:
        shown = None if value is None else str(value)
        element = None if path is None else path or None
        return ImportProblem.at(
            self.label or "FHIR input", reason, value=shown, row=self.row,
            resource=self.name, element=element,
        )  # fmt: skip


# -- small readers of FHIR JSON ----------------------------------------------------------------
def get(obj: Any, *keys: str | int) -> Any:
    for k in keys:
        if isinstance(k, int):
            if not isinstance(obj, list) or len(obj) <= k:
                return None
            obj = obj[k]
        else:
            if isinstance(obj, list):  # a path over a repeating element reads its first item
                obj = obj[0] if obj else None
            if not isinstance(obj, Mapping):
                return None
            obj = obj.get(k)
    return obj


def _choice(path: str) -> str:
    """``effectiveDateTime.x`` -> ``effective[x]`` (the choice element a path starts with)."""
    top = path.split(".")[0]
    for suffix in ("DateTime", "Period", "Instant"):
        if top.endswith(suffix) and len(top) > len(suffix):
            return top[: -len(suffix)] + "[x]"
    return top


def codings(concept: Any) -> list[tuple[int, Mapping[str, Any]]]:
    codings = get(concept, "coding")
    if not isinstance(codings, list):
        return []
    return [(i, c) for i, c in enumerate(codings) if isinstance(c, Mapping)]


def _ext(res: Any, url: str) -> Mapping[str, Any] | None:
    exts = get(res, "extension")
    if not isinstance(exts, list):
        return None
    for e in exts:
        if isinstance(e, Mapping) and e.get("url") == url:
            return e
    return None


def slug(text: str) -> str:
    """A lower-case identifier made from free text (``"Burn of ear"`` -> ``burn_of_ear``)."""
    s = _SLUG.sub("_", text.lower()).strip("_")
    if s and not s[0].isalpha():
        s = "x_" + s
    return s[:64].rstrip("_")


@dataclass
class When:
    """A FHIR date/dateTime read as a local clinical time (text for the canonical cell)."""

    text: str
    instant: datetime


def read_time(value: Any) -> When | str:
    """A FHIR date or dateTime -> canonical time text; a reason string when refused.

    The wall-clock time is kept and the UTC offset dropped (ruxtrack keeps local clinical
    times); partial dates (year, year-month) are refused. The date window is checked for every
    import by :func:`ruxtrack.sources.check_timelines`.
    """
    if not isinstance(value, str):
        return "a date or dateTime must be a string"
    m = _FHIR_DATE.match(value)
    if m is None:
        return f'"{value}" is not a FHIR date or dateTime'
    d = m["date"]
    if len(d) != 10:
        return f'"{value}" gives no day; the timeline needs at least a calendar day'
    try:
        day = date.fromisoformat(d)
        hhmm = m["time"]
        if hhmm is None:
            instant = datetime(day.year, day.month, day.day)
            text = d
        else:
            clock = hhmm.split(".")[0]
            if len(clock) == 5:
                clock += ":00"
            instant = datetime.fromisoformat(f"{d}T{clock}")
            text = f"{d}T{clock}"
    except ValueError:
        return f'"{value}" is not a valid calendar date or time'
    return When(text, instant)


# -- the rows being built ------------------------------------------------------------------------
@dataclass
class _RowSource:
    loc: Located
    paths: dict[str, str]


@dataclass
class Tables:
    cells: dict[str, list[dict[str, str]]] = field(
        default_factory=lambda: {name: [] for name in FILES}
    )
    sources: dict[str, list[_RowSource]] = field(
        default_factory=lambda: {name: [] for name in FILES}
    )

    def add(
        self, table: str, loc: Located, cells: Mapping[str, Any], paths: Mapping[str, str]
    ) -> None:
        row = {c: "" for c in FILES[table].column_names}
        for k, v in cells.items():
            row[k] = "" if v is None else (format_number(v) if isinstance(v, float) else str(v))
        self.cells[table].append(row)
        self.sources[table].append(_RowSource(loc, dict(paths)))

    def raw(self) -> dict[str, RawTable]:
        out = {}
        for name, rows in self.cells.items():
            if name != "patients" and not rows:
                continue
            spec = FILES[name]
            frame = pd.DataFrame(rows, columns=list(spec.column_names), dtype=object)
            out[name] = RawTable(name, spec, frame, pd.Series(range(1, len(rows) + 1)))
        return out

    def locator(self) -> Locator:
        """RecordRef (patient, kind, index in the timeline, field) -> the resource element."""
        index: dict[tuple[str, str, int | None], _RowSource] = {}
        for table, rows in self.cells.items():
            counts: dict[str, int] = defaultdict(int)
            for row, src in zip(rows, self.sources[table], strict=True):
                pid = row["patient_id"]
                if table == "patients":
                    index[(pid, table, None)] = src
                else:
                    index[(pid, table, counts[pid])] = src
                    counts[pid] += 1

        def locate(ref: RecordRef) -> Where:
            src = index.get((ref.patient_id, ref.kind, ref.index))
            if src is None:
                return Where(f"patient {ref.patient_id}", None, (), ref.field)
            path = src.paths.get(ref.field or "", src.paths.get("*", ""))
            p = src.loc.problem(path, None, "")
            return Where(p.file, p.row, p.location)

        return locate

    def locate(self, p: ImportProblem) -> ImportProblem:
        srcs = self.sources.get(p.file)
        if srcs is None or p.row is None or not 1 <= p.row <= len(srcs):
            return ImportProblem("FHIR input", None, None, p.value, p.reason)
        src = srcs[p.row - 1]
        path = src.paths.get(p.field or "", src.paths.get("*", ""))
        return src.loc.problem(path, p.value, p.reason)


# -- per-patient collection ----------------------------------------------------------------------
@dataclass
class Drug:
    loc: Located
    source: str  # request | statement | administration
    cells: dict[str, Any]
    paths: dict[str, str]
    instant: datetime | None = None  # administrations


@dataclass
class PatientData:
    loc: Located
    pid: str
    comorbidities: list[str] = field(default_factory=list)
    events: list[tuple[Located, dict[str, Any], dict[str, str], datetime]] = field(
        default_factory=list
    )
    drugs: list[Drug] = field(default_factory=list)
    admissions: list[tuple[Located, datetime, When | None, str | None]] = field(
        default_factory=list
    )
    covid: list[tuple[Located, When]] = field(default_factory=list)


class ReaderBase:
    """State and helpers every resource handler uses."""

    def __init__(self, mapping: FhirMapping, unmapped: Unmapped) -> None:
        self.m = mapping
        self.unmapped = unmapped
        self.problems: list[ImportProblem] = []
        self.tables = Tables()
        self.patients: dict[str, PatientData] = {}
        self.by_ref: dict[str, str] = {}  # "Patient/x", fullUrl -> patient key
        self.medications: dict[str, Res] = {}
        s = mapping.systems
        self.loinc, self.ucum, self.snomed = s["loinc"], s["ucum"], s["snomed"]
        self.sys_event, self.sys_assess = s["ruxtrack_event"], s["ruxtrack_assessment"]
        self.sys_lab, self.sys_pid = s["ruxtrack_lab"], s["ruxtrack_patient_id"]
        self.drug_by_code = mapping.drug_codes()
        self.condition_by_code = mapping.condition_codes()
        self.event_proc = {
            (mapping.system(p.system), p.code): p.event for p in mapping.procedures.events
        }
        self.support_proc = {
            (mapping.system(p.system), p.code): p.mode for p in mapping.procedures.support
        }
        self.gts = {f.gts: f.frequency for f in mapping.frequencies if f.gts}
        self.route_by_snomed = {r.snomed: r.route for r in mapping.routes if r.snomed}
        self.comorbidity_system = {uri: key for key, uri in mapping.comorbidity_systems.items()}

    # -- helpers --------------------------------------------------------------------------------
    def fail(self, loc: Located, path: str | None, value: Any, reason: str) -> None:
        self.problems.append(loc.problem(path, value, reason))

    def time(self, loc: Located, path: str, value: Any) -> When | None:
        t = read_time(value)
        if isinstance(t, str):
            self.fail(loc, path, value, t)
            return None
        return t

    def status_ok(self, loc: Located, path: str = "status") -> bool | None:
        """True: use; False: skip quietly; None: refused (problem recorded).

        The rule is ``statuses[<type>]`` for ``status`` and ``statuses[<type>.<path>]`` for
        another element (``MedicationRequest.intent``); the element must be present.
        """
        key = loc.rtype if path == "status" or loc.rtype == "Condition" else f"{loc.rtype}.{path}"
        rule = self.m.statuses[key]
        value = get(loc.resource, *path.split("."))
        if loc.rtype == "Condition":
            return True if value is None else self._condition_status(loc, path, value)
        if value in rule.use:
            return True
        if value in rule.skip:
            return False
        allowed = ", ".join((*rule.use, *rule.skip))
        self.fail(
            loc,
            path,
            value,
            f"not in the required value set {loc.rtype}.{path}; expected one of {allowed}",
        )
        return None

    def _condition_status(self, loc: Located, path: str, value: Any) -> bool | None:
        rule = self.m.statuses["Condition"]
        for i, c in codings(value):
            code = c.get("code")
            if code in rule.use:
                return True
            if code in rule.skip:
                return False
            self.fail(
                loc,
                f"{path}.coding[{i}].code",
                code,
                "not a Condition status code of "
                "FHIR R4; expected one of " + ", ".join((*rule.use, *rule.skip)),
            )
            return None
        return True

    def when(
        self, loc: Located, which: str = "time", what: str = "the time of the record"
    ) -> tuple[When | None, str, bool]:
        """The first present element of the resource's ``records`` ``time`` (or ``end``) list.

        Returns ``(time, path, ok)``: ``time`` None with ``ok`` True when none is present (a
        missing start is reported here, a missing end is not); ``ok`` False when a present value
        is refused (reported).
        """
        paths: tuple[str, ...] = getattr(self.m.record(loc.rtype), which)
        for path in paths:
            value = get(loc.resource, *path.split("."))
            if value is not None:
                t = self.time(loc, path, value)
                return t, path, t is not None
        if which == "time":
            shown = " or ".join(paths)
            self.fail(loc, _choice(paths[0]), None, f"missing: {what} ({shown})")
            return None, "", False
        return None, paths[0] if paths else "", True

    def record_patient(self, loc: Located) -> PatientData | None:
        """The Patient of a record whose status makes it a record; None: leave it out."""
        if not self.status_ok(loc):
            return None
        return self.patient_of(loc)

    def in_binding(
        self, loc: Located, path: str, value: Any, allowed: Sequence[str], binding: str
    ) -> bool:
        """True when ``value`` is absent or one of the required binding's codes."""
        if value is None or value in allowed:
            return True
        self.fail(
            loc,
            path,
            value,
            f"not in the required value set {binding}; expected one of {', '.join(allowed)}",
        )
        return False

    def patient_of(self, loc: Located) -> PatientData | None:
        ref = get(loc.resource, "subject", "reference")
        if ref is None:
            ref = get(loc.resource, "patient", "reference")
        if not isinstance(ref, str):
            self.fail(
                loc, "subject", None, "missing: every record needs subject.reference to its Patient"
            )
            return None
        key = self.by_ref.get(ref)
        if key is None:
            tail = "/".join(ref.rstrip("/").split("/")[-2:])
            key = self.by_ref.get(tail) if tail.startswith("Patient/") else None
        if key is None:
            self.fail(loc, "subject.reference", ref, "refers to a Patient that is not in the input")
            return None
        return self.patients[key]

    def extension_string(self, res: Any, name: str) -> str | None:
        e = _ext(res, self.m.extension(name))
        if e is None:
            return None
        for k in ("valueString", "valueCode"):
            if isinstance(e.get(k), str):
                return str(e[k])
        return None

    def extension_number(self, res: Any, name: str) -> float | int | None:
        e = _ext(res, self.m.extension(name))
        if e is None:
            return None
        for k in ("valueInteger", "valueDecimal"):
            v = e.get(k)
            if isinstance(v, int | float) and not isinstance(v, bool):
                return v
        v = get(e, "valueQuantity", "value")
        return v if isinstance(v, int | float) and not isinstance(v, bool) else None

    def _transplant(self, res: Res) -> dict[str, Any]:
        out = {}
        for col in ("donor_type", "hla_match", "cell_source", "conditioning",
                    "conditioning_intensity", "gvhd_prophylaxis"):  # fmt: skip
            v = self.extension_string(res, col.replace("_", "-"))
            if v is not None:
                out[col] = v
        return out
