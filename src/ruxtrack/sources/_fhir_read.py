"""FHIR R4 resources -> canonical rows -> the one validation layer -> timelines.

Each mapped resource becomes rows of the canonical tables (docs/data-format.md) with, for every
cell, the FHIR element it came from. The rows then go through
:func:`ruxtrack.sources._validate.build_timelines`, the validation every import uses (units
through :mod:`ruxtrack.units`, anchors, ranges); its problems are moved back onto the resource
type/id and element path. Nothing here converts a unit or checks a range itself.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

import pandas as pd

from ruxtrack.errors import ImportProblem
from ruxtrack.sources._fhir_mapping import FhirMapping, load_fhir_mapping
from ruxtrack.sources._load import RawTable
from ruxtrack.sources._problems import Problems
from ruxtrack.sources._result import Locator, RecordRef, Where
from ruxtrack.sources._rows import format_number
from ruxtrack.sources._spec import FILES
from ruxtrack.sources._validate import build_timelines
from ruxtrack.timeline import Timeline
from ruxtrack.units import load_catalogue

__all__ = ["Located", "Unmapped", "resources_to_timelines"]

Unmapped = Literal["problem", "skip"]
Res = Mapping[str, Any]

MAPPED_TYPES = (
    "Patient", "Observation", "MedicationRequest", "MedicationAdministration",
    "MedicationStatement", "Condition", "Procedure", "Encounter",
)  # fmt: skip
_FHIR_DATE = re.compile(
    r"^(?P<date>\d{4}(?:-\d{2}(?:-\d{2})?)?)"
    r"(?:T(?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(?P<tz>Z|[+-]\d{2}:\d{2})?)?$"
)
_SLUG = re.compile(r"[^a-z0-9]+")
_RUX = "ruxolitinib"
#: administrations per calendar day -> frequency of the aggregated exposure
_PER_DAY = {1: "QD", 2: "BID", 3: "TID", 4: "QID"}


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
def _get(obj: Any, *keys: str | int) -> Any:
    for k in keys:
        if isinstance(k, int):
            if not isinstance(obj, list) or len(obj) <= k:
                return None
            obj = obj[k]
        else:
            if not isinstance(obj, Mapping):
                return None
            obj = obj.get(k)
    return obj


def _codings(concept: Any) -> list[tuple[int, Mapping[str, Any]]]:
    codings = _get(concept, "coding")
    if not isinstance(codings, list):
        return []
    return [(i, c) for i, c in enumerate(codings) if isinstance(c, Mapping)]


def _ext(res: Any, url: str) -> Mapping[str, Any] | None:
    exts = _get(res, "extension")
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
class _When:
    """A FHIR date/dateTime read as a local clinical time (text for the canonical cell)."""

    text: str
    instant: datetime


def read_time(value: Any) -> _When | str:
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
    return _When(text, instant)


# -- the rows being built ------------------------------------------------------------------------
@dataclass
class _RowSource:
    loc: Located
    paths: dict[str, str]


@dataclass
class _Tables:
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
class _Drug:
    loc: Located
    source: str  # request | statement | administration
    cells: dict[str, Any]
    paths: dict[str, str]
    instant: datetime | None = None  # administrations


@dataclass
class _PatientData:
    loc: Located
    pid: str
    comorbidities: list[str] = field(default_factory=list)
    events: list[tuple[Located, dict[str, Any], dict[str, str], datetime]] = field(
        default_factory=list
    )
    drugs: list[_Drug] = field(default_factory=list)
    admissions: list[tuple[Located, datetime, _When | None, str | None]] = field(
        default_factory=list
    )
    covid: list[tuple[Located, _When]] = field(default_factory=list)


class _Reader:
    def __init__(self, mapping: FhirMapping, unmapped: Unmapped) -> None:
        self.m = mapping
        self.unmapped = unmapped
        self.problems: list[ImportProblem] = []
        self.tables = _Tables()
        self.patients: dict[str, _PatientData] = {}
        self.by_ref: dict[str, str] = {}  # "Patient/x", fullUrl -> patient key
        self.medications: dict[str, Res] = {}
        s = mapping.systems
        self.loinc, self.ucum, self.snomed = s["loinc"], s["ucum"], s["snomed"]
        self.sys_event, self.sys_assess = s["ruxtrack_event"], s["ruxtrack_assessment"]
        self.sys_lab, self.sys_pid = s["ruxtrack_lab"], s["ruxtrack_patient_id"]
        self.drug_by_code: dict[tuple[str, str], str] = {}
        for d in mapping.drugs:
            if d.rxnorm:
                self.drug_by_code[(s["rxnorm"], d.rxnorm)] = d.drug
            if d.atc:
                self.drug_by_code[(s["atc"], d.atc)] = d.drug
        self.condition_by_code = {
            (mapping.system(c.system), c.code): cond.name
            for cond in mapping.conditions
            for c in cond.codes
        }
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

    def time(self, loc: Located, path: str, value: Any) -> _When | None:
        t = read_time(value)
        if isinstance(t, str):
            self.fail(loc, path, value, t)
            return None
        return t

    def status_ok(self, loc: Located, path: str = "status") -> bool | None:
        """True: use; False: skip quietly; None: refused (problem recorded)."""
        rule = self.m.statuses[loc.rtype]
        value = _get(loc.resource, *path.split("."))
        if loc.rtype == "Condition":
            return True if value is None else self._condition_status(loc, path, value)
        if value in rule.use:
            return True
        if value in rule.skip:
            return False
        allowed = ", ".join((*rule.use, *rule.skip))
        self.fail(
            loc, path, value, f"not a {loc.rtype} status of FHIR R4; expected one of {allowed}"
        )
        return None

    def _condition_status(self, loc: Located, path: str, value: Any) -> bool | None:
        rule = self.m.statuses["Condition"]
        for i, c in _codings(value):
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

    def patient_of(self, loc: Located) -> _PatientData | None:
        ref = _get(loc.resource, "subject", "reference")
        if ref is None:
            ref = _get(loc.resource, "patient", "reference")
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
        v = _get(e, "valueQuantity", "value")
        return v if isinstance(v, int | float) and not isinstance(v, bool) else None

    # -- pass 1: patients and medications ----------------------------------------------------
    def index(self, items: Sequence[Located]) -> None:
        for loc in items:
            if loc.rtype == "Medication":
                if loc.rid:
                    self.medications[f"Medication/{loc.rid}"] = loc.resource
                if loc.full_url:
                    self.medications[loc.full_url] = loc.resource
            if loc.rtype != "Patient":
                continue
            res = loc.resource
            pid = loc.rid
            for i, ident in enumerate(_get(res, "identifier") or []):
                if isinstance(ident, Mapping) and ident.get("system") == self.sys_pid:
                    pid = ident.get("value")
                    if not isinstance(pid, str):
                        self.fail(loc, f"identifier[{i}].value", pid, "missing")
                        pid = None
                    break
            if pid is None:
                self.fail(loc, "id", None, "missing: a Patient needs an id")
                continue
            if pid in self.patients:
                self.fail(loc, "id", pid, f"patient {pid} appears twice in the input")
                continue
            self.patients[pid] = _PatientData(loc, pid)
            if loc.rid:
                self.by_ref[f"Patient/{loc.rid}"] = pid
            if loc.full_url:
                self.by_ref[loc.full_url] = pid

    # -- pass 2: records -------------------------------------------------------------------------
    def read(self, loc: Located) -> None:
        handler = getattr(self, f"_r_{loc.rtype}", None)
        if handler is None:
            if loc.rtype in self.m.ignored_types:
                return
            if self.unmapped == "problem":
                self.fail(
                    loc,
                    "",
                    None,
                    f"resource type {loc.rtype} is not mapped to the "
                    "timeline (docs/fhir.md lists what is)",
                )
            return
        handler(loc)

    def _r_Patient(self, loc: Located) -> None:
        pd_ = next((p for p in self.patients.values() if p.loc is loc), None)
        if pd_ is None:
            return
        res = loc.resource
        gender = res.get("gender")
        if gender is not None and gender not in self.m.gender:
            self.fail(
                loc,
                "gender",
                gender,
                "not an AdministrativeGender code; expected one of " + ", ".join(self.m.gender),
            )
            return
        birth = res.get("birthDate")
        born: str | None = None
        if birth is not None:
            t = self.time(loc, "birthDate", birth)
            if t is None:
                return
            born = t.text[:10]
        synthetic = any(
            isinstance(t, Mapping) and t.get("code") == "HTEST"
            and t.get("system") == self.m.system("v3_actreason")
            for t in (_get(res, "meta", "tag") or [])
        )  # fmt: skip
        age = self.extension_number(res, "age-years")
        cells = {
            "patient_id": pd_.pid,
            "sex": gender or "unknown",
            "birth_date": born,
            "age_years": None if age is None else float(age),
            "age_at": self.extension_string(res, "age-at"),
            "blood_group": self.extension_string(res, "blood-group"),
            "synthetic": "true" if synthetic else "false",
        }
        pd_.row_cells = cells  # type: ignore[attr-defined]
        dead = res.get("deceasedDateTime")
        if dead is not None:
            t = self.time(loc, "deceasedDateTime", dead)
            if t is not None:
                prov = self.extension_string(res, "death-provenance")
                pd_.events.append(
                    (
                        loc,
                        {"event": "death", "time": t.text, "provenance": prov},
                        {"time": "deceasedDateTime", "*": "deceasedDateTime"},
                        t.instant,
                    )
                )

    def _r_Observation(self, loc: Located) -> None:
        ok = self.status_ok(loc)
        pat = self.patient_of(loc)
        if not ok or pat is None:
            return
        res = loc.resource
        when, tpath = self._effective(loc)
        codings = _codings(res.get("code"))
        for i, c in codings:
            if c.get("system") == self.sys_event:
                self._generic_event(loc, pat, c, i, when, tpath)
                return
            if c.get("system") == self.sys_assess:
                self._assessment(loc, pat, c, i, when, tpath)
                return
            if c.get("system") == self.loinc and c.get("code") == self.m.covid_test.loinc:
                self._covid(loc, pat, when)
                return
        code, cpath = self._lab_code(loc, codings)
        if code is None:
            return
        has_value = any(k.startswith("value") for k in res)
        if "dataAbsentReason" in res:
            if has_value:
                self.fail(
                    loc,
                    "dataAbsentReason",
                    None,
                    "a value and a dataAbsentReason "
                    "together (FHIR invariant obs-6): give one or the other",
                )
            return  # no value measured: nothing to record
        q = res.get("valueQuantity")
        if not isinstance(q, Mapping):
            if has_value:
                other = next(k for k in res if k.startswith("value"))
                self.fail(loc, other, None, "a lab value must be a valueQuantity")
            elif "component" in res:
                self.fail(
                    loc,
                    "component",
                    None,
                    "observations with components (panels) are "
                    "not mapped; send each analyte as its own Observation",
                )
            else:
                self.fail(loc, "value[x]", None, "missing: no value and no dataAbsentReason")
            return
        value = q.get("value")
        if not isinstance(value, int | float) or isinstance(value, bool):
            self.fail(loc, "valueQuantity.value", value, "missing: a lab value needs a number")
            return
        unit, upath = self._unit(loc, q)
        if unit is None:
            return
        comparator = q.get("comparator")
        if comparator is not None and comparator not in self.m.comparators:
            self.fail(
                loc,
                "valueQuantity.comparator",
                comparator,
                "not a QuantityComparator; expected one of " + ", ".join(self.m.comparators),
            )
            return
        if when is None:
            return
        self.tables.add(
            "observations", loc,
            {"patient_id": pat.pid, "time": when.text, "code": code, "value": float(value),
             "unit": unit, "comparator": comparator,
             "provenance": self.extension_string(res, "provenance")},
            {"patient_id": "subject.reference", "time": tpath, "code": cpath,
             "value": "valueQuantity.value", "unit": upath,
             "comparator": "valueQuantity.comparator", "*": ""},
        )  # fmt: skip

    def _effective(self, loc: Located) -> tuple[_When | None, str]:
        res = loc.resource
        for path in ("effectiveDateTime", "effectiveInstant", "effectivePeriod.start", "issued"):
            v = _get(res, *path.split("."))
            if v is not None:
                return self.time(loc, path, v), path
        self.fail(loc, "effective[x]", None, "missing: the timeline needs the time of the record")
        return None, "effective[x]"

    def _lab_code(
        self, loc: Located, codings: list[tuple[int, Mapping[str, Any]]]
    ) -> tuple[str | None, str]:
        cat = load_catalogue()
        seen = []
        for i, c in codings:
            system, code = c.get("system"), c.get("code")
            if system in (self.loinc, self.sys_lab) and isinstance(code, str):
                if code in cat:
                    return code, f"code.coding[{i}].code"
                seen.append((i, code))
        if seen:
            i, code = seen[0]
            self.fail(
                loc,
                f"code.coding[{i}].code",
                code,
                "LOINC code not in the lab catalogue "
                "(knowledge/labs.yaml); the timeline keeps catalogue labs only",
            )
        else:
            self.fail(
                loc,
                "code.coding",
                None,
                "no LOINC coding (http://loinc.org): the lab cannot be identified",
            )
        return None, ""

    def _unit(self, loc: Located, q: Mapping[str, Any]) -> tuple[str | None, str]:
        system, code, text = q.get("system"), q.get("code"), q.get("unit")
        if system is not None and system != self.ucum:
            self.fail(loc, "valueQuantity.system", system, f"units must be UCUM ({self.ucum})")
            return None, ""
        if isinstance(code, str):
            return code, "valueQuantity.code"
        if isinstance(text, str):
            return text, "valueQuantity.unit"
        return "", "valueQuantity.code"  # the catalogue decides whether a unit-less value is read

    def _generic_event(
        self, loc: Located, pat: _PatientData, c: Mapping[str, Any], i: int,
        when: _When | None, tpath: str,
    ) -> None:  # fmt: skip
        if when is None:
            return
        cells: dict[str, Any] = {"event": c.get("code"), "time": when.text}
        occ = self.extension_number(loc.resource, "occurrence")
        if occ is not None:
            cells["occurrence"] = int(occ)
        cells.update(self._transplant(loc.resource))
        cells["provenance"] = self.extension_string(loc.resource, "provenance")
        pat.events.append(
            (loc, cells, {"event": f"code.coding[{i}].code", "time": tpath, "*": ""}, when.instant)
        )

    def _transplant(self, res: Res) -> dict[str, Any]:
        out = {}
        for col in ("donor_type", "hla_match", "cell_source", "conditioning",
                    "conditioning_intensity", "gvhd_prophylaxis"):  # fmt: skip
            v = self.extension_string(res, col.replace("_", "-"))
            if v is not None:
                out[col] = v
        return out

    def _assessment(
        self, loc: Located, pat: _PatientData, c: Mapping[str, Any], i: int,
        when: _When | None, tpath: str,
    ) -> None:  # fmt: skip
        res = loc.resource
        value = res.get("valueString")
        if not isinstance(value, str):
            self.fail(loc, "valueString", None, "missing: an assessment needs its finding as text")
            return
        if when is None:
            return
        self.tables.add(
            "assessments", loc,
            {"patient_id": pat.pid, "time": when.text, "kind": c.get("code"), "value": value,
             "code": self.extension_string(res, "about"),
             "provenance": self.extension_string(res, "provenance")},
            {"time": tpath, "kind": f"code.coding[{i}].code", "value": "valueString", "*": ""},
        )  # fmt: skip

    def _covid(self, loc: Located, pat: _PatientData, when: _When | None) -> None:
        ct = self.m.covid_test
        value = loc.resource.get("valueCodeableConcept")
        codes = {(c.get("system"), c.get("code")) for _, c in _codings(value)}
        pos = (self.m.system(ct.positive.system), ct.positive.code)
        neg = (self.m.system(ct.negative.system), ct.negative.code)
        if pos in codes:
            if when is not None:
                pat.covid.append((loc, when))
        elif neg not in codes:
            self.fail(
                loc,
                "valueCodeableConcept",
                None,
                f"a SARS-CoV-2 test result must be "
                f"SNOMED CT {ct.positive.code} (detected) or {ct.negative.code} (not detected)",
            )

    def _r_Condition(self, loc: Located) -> None:
        ok = self.status_ok(loc, "clinicalStatus")
        if ok:
            ok = self._verification(loc)
        pat = self.patient_of(loc)
        if not ok or pat is None:
            return
        res = loc.resource
        codings = _codings(res.get("code"))
        for i, c in codings:
            name = self.condition_by_code.get((str(c.get("system")), str(c.get("code"))))
            if name is None:
                continue
            for path in ("onsetDateTime", "onsetPeriod.start", "recordedDate"):
                v = _get(res, *path.split("."))
                if v is not None:
                    when = self.time(loc, path, v)
                    break
            else:
                self.fail(
                    loc,
                    "onset[x]",
                    None,
                    "missing: a diagnosis needs onsetDateTime or recordedDate",
                )
                return
            if when is None:
                return
            self.tables.add(
                "assessments", loc,
                {"patient_id": pat.pid, "time": when.text, "kind": "diagnosis", "value": name,
                 "provenance": self.extension_string(res, "provenance")},
                {"time": path, "value": f"code.coding[{i}].code", "*": "code"},
            )  # fmt: skip
            return
        text = _get(res, "code", "text")
        display = next((c.get("display") for _, c in codings if c.get("display")), None)
        label = text if isinstance(text, str) else display
        name = slug(label) if isinstance(label, str) else ""
        if not name:
            self.fail(
                loc,
                "code",
                None,
                "a condition needs code.text or a coding display to be kept as a comorbidity",
            )
            return
        item = name
        for _, c in codings:
            code = c.get("code")
            if isinstance(code, str) and re.fullmatch(r"[^\s:=;]+", code):
                sysname = self.comorbidity_system.get(str(c.get("system")))
                item = f"{name}={sysname}:{code}" if sysname else f"{name}={code}"
                break
        pat.comorbidities.append(item)

    def _verification(self, loc: Located) -> bool | None:
        for i, c in _codings(loc.resource.get("verificationStatus")):
            if c.get("code") in ("entered-in-error", "refuted"):
                return False
            if c.get("code") not in ("unconfirmed", "provisional", "differential", "confirmed"):
                self.fail(
                    loc,
                    f"verificationStatus.coding[{i}].code",
                    c.get("code"),
                    "not a Condition verification status of FHIR R4",
                )
                return None
        return True

    def _r_Procedure(self, loc: Located) -> None:
        ok = self.status_ok(loc)
        pat = self.patient_of(loc)
        if not ok or pat is None:
            return
        res = loc.resource
        start_path = (
            "performedPeriod.start" if _get(res, "performedPeriod") else "performedDateTime"
        )
        start_v = _get(res, *start_path.split("."))
        for i, c in _codings(res.get("code")):
            key = (c.get("system"), c.get("code"))
            if key in self.event_proc:
                if start_v is None:
                    self.fail(loc, "performed[x]", None, "missing: the procedure needs its time")
                    return
                when = self.time(loc, start_path, start_v)
                if when is None:
                    return
                cells: dict[str, Any] = {"event": self.event_proc[key], "time": when.text}
                occ = self.extension_number(res, "occurrence")
                if occ is not None:
                    cells["occurrence"] = int(occ)
                cells.update(self._transplant(res))
                cells["provenance"] = self.extension_string(res, "provenance")
                pat.events.append(
                    (
                        loc,
                        cells,
                        {"time": start_path, "event": f"code.coding[{i}]", "*": "extension"},
                        when.instant,
                    )
                )
                return
            if key in self.support_proc:
                self._support(loc, pat, self.support_proc[key], i)
                return
        self.fail(
            loc,
            "code",
            None,
            "procedure code not mapped (transplant, intubation, "
            "extubation and respiratory-support codes are; docs/fhir.md)",
        )

    def _support(self, loc: Located, pat: _PatientData, mode: str, i: int) -> None:
        res = loc.resource
        start_v = _get(res, "performedPeriod", "start")
        spath = "performedPeriod.start"
        if start_v is None and res.get("performedDateTime") is not None:
            start_v, spath = res.get("performedDateTime"), "performedDateTime"
        if start_v is None:
            self.fail(loc, "performedPeriod.start", None, "missing: support needs its start")
            return
        start = self.time(loc, spath, start_v)
        end_v = _get(res, "performedPeriod", "end")
        end = None if end_v is None else self.time(loc, "performedPeriod.end", end_v)
        if start is None or (end_v is not None and end is None):
            return
        fio2 = self.extension_number(res, "fio2")
        flow = self.extension_number(res, "flow")
        self.tables.add(
            "support", loc,
            {"patient_id": pat.pid, "mode": mode, "start": start.text,
             "end": None if end is None else end.text,
             "fio2": None if fio2 is None else float(fio2),
             "flow_l_min": None if flow is None else float(flow),
             "provenance": self.extension_string(res, "provenance")},
            {"mode": f"code.coding[{i}].code", "start": spath, "end": "performedPeriod.end",
             "fio2": "extension(fio2)", "flow_l_min": "extension(flow)", "*": ""},
        )  # fmt: skip

    def _r_Encounter(self, loc: Located) -> None:
        ok = self.status_ok(loc)
        res = loc.resource
        cls = res.get("class")
        if not ok or not isinstance(cls, Mapping):
            return
        if cls.get("code") not in self.m.inpatient_classes.codes:
            return  # not a hospital stay: nothing on the timeline
        pat = self.patient_of(loc)
        if pat is None:
            return
        start_v = _get(res, "period", "start")
        if start_v is None:
            self.fail(loc, "period.start", None, "missing: an inpatient encounter needs its start")
            return
        start = self.time(loc, "period.start", start_v)
        end_v = _get(res, "period", "end")
        end = None if end_v is None else self.time(loc, "period.end", end_v)
        if start is None or (end_v is not None and end is None):
            return
        pat.admissions.append((loc, start.instant, end, start.text))

    # -- drugs ---------------------------------------------------------------------------------
    def _drug_name(self, loc: Located) -> tuple[str, str | None, str] | None:
        res = loc.resource
        concept = res.get("medicationCodeableConcept")
        path = "medicationCodeableConcept"
        if concept is None:
            ref = _get(res, "medicationReference", "reference")
            path = "medicationReference"
            if isinstance(ref, str) and ref.startswith("#"):
                contained = [c for c in res.get("contained") or []
                             if isinstance(c, Mapping) and c.get("id") == ref[1:]]  # fmt: skip
                med = contained[0] if contained else None
            else:
                med = self.medications.get(str(ref)) if ref is not None else None
            if med is None:
                self.fail(
                    loc,
                    "medicationReference.reference",
                    ref,
                    "refers to a Medication that is not in the input",
                )
                return None
            concept = med.get("code")
        rxnorm = None
        known = None
        for _, c in _codings(concept):
            known = known or self.drug_by_code.get((str(c.get("system")), str(c.get("code"))))
            code = c.get("code")
            if c.get("system") == self.m.system("rxnorm") and isinstance(code, str):
                rxnorm = rxnorm or code
        if known is not None:
            return known, rxnorm, path
        text = _get(concept, "text")
        display = next((c.get("display") for _, c in _codings(concept) if c.get("display")), None)
        label = text if isinstance(text, str) else display
        name = slug(label) if isinstance(label, str) else ""
        if not name:
            self.fail(
                loc,
                path,
                None,
                "the drug cannot be identified: no known RxNorm/ATC coding, no text",
            )
            return None
        return name, rxnorm, path

    def _dosage(
        self, loc: Located, dosage: Any, path: str, with_timing: bool = True
    ) -> tuple[dict[str, Any], dict[str, str]] | None:
        cells: dict[str, Any] = {}
        paths: dict[str, str] = {}
        if not isinstance(dosage, Mapping):
            self.fail(loc, path, None, "missing: the dose, unit and frequency are needed")
            return None
        q = _get(dosage, "doseAndRate", 0, "doseQuantity")
        qpath = f"{path}.doseAndRate[0].doseQuantity"
        if q is None:
            q, qpath = dosage.get("dose"), f"{path}.dose"
        if not isinstance(q, Mapping) or not isinstance(q.get("value"), int | float):
            self.fail(loc, qpath, None, "missing: the dose as a Quantity (value and unit)")
            return None
        cells["dose"] = float(q["value"])
        cells["unit"] = q.get("code") if isinstance(q.get("code"), str) else q.get("unit")
        paths.update({"dose": f"{qpath}.value", "unit": f"{qpath}.code"})
        for _, c in _codings(dosage.get("route")):
            if c.get("system") == self.snomed and c.get("code") in self.route_by_snomed:
                cells["route"] = self.route_by_snomed[c["code"]]
                break
        else:
            if dosage.get("route") is not None:
                cells["route"] = "other"
        paths["route"] = f"{path}.route"
        if with_timing:
            freq = self._frequency(dosage)
            if freq is None:
                self.fail(
                    loc,
                    f"{path}.timing",
                    None,
                    "the frequency cannot be read: give "
                    "timing.code (BID, TID, QD, ...) or timing.repeat",
                )
                return None
            cells["frequency"] = freq
            paths["frequency"] = f"{path}.timing"
        return cells, paths

    def _frequency(self, dosage: Mapping[str, Any]) -> str | None:
        if dosage.get("asNeededBoolean") is True:
            return "PRN"
        timing = dosage.get("timing")
        for _, c in _codings(_get(timing, "code")):
            if c.get("code") in self.gts:
                return self.gts[c["code"]]
        text = _get(timing, "code", "text")
        if isinstance(text, str) and text in self.gts:
            return self.gts[text]
        if isinstance(text, str) and any(text == f.frequency for f in self.m.frequencies):
            return text
        rep = _get(timing, "repeat")
        if isinstance(rep, Mapping):
            probe = {k: rep[k] for k in ("frequency", "period", "periodUnit", "count") if k in rep}
            for f in self.m.frequencies:
                if (
                    f.repeat is not None
                    and {k: probe.get(k) for k in f.repeat} == f.repeat
                    and (set(probe) <= set(f.repeat))
                ):
                    return f.frequency
        return None

    def _r_MedicationRequest(self, loc: Located) -> None:
        ok = self.status_ok(loc)
        pat = self.patient_of(loc)
        if not ok or pat is None:
            return
        res = loc.resource
        named = self._drug_name(loc)
        dosages = res.get("dosageInstruction") or []
        if len(dosages) > 1:
            self.fail(
                loc,
                "dosageInstruction[1]",
                None,
                "more than one dosage instruction is "
                "not mapped; send one MedicationRequest per dose",
            )
            return
        dose = self._dosage(loc, _get(dosages, 0), "dosageInstruction[0]")
        if named is None or dose is None:
            return
        cells, paths = dose
        start_path = "dosageInstruction[0].timing.repeat.boundsPeriod.start"
        start_v = _get(dosages, 0, "timing", "repeat", "boundsPeriod", "start")
        if start_v is None:
            start_path, start_v = "authoredOn", res.get("authoredOn")
        end_path = "dosageInstruction[0].timing.repeat.boundsPeriod.end"
        end_v = _get(dosages, 0, "timing", "repeat", "boundsPeriod", "end")
        self._drug(
            loc,
            pat,
            "request",
            named,
            cells,
            paths,
            (start_path, start_v),
            (end_path, end_v),
            _get(res, "reasonCode", 0, "text"),
        )

    def _r_MedicationStatement(self, loc: Located) -> None:
        ok = self.status_ok(loc)
        pat = self.patient_of(loc)
        if not ok or pat is None:
            return
        res = loc.resource
        named = self._drug_name(loc)
        dosages = res.get("dosage") or []
        if len(dosages) > 1:
            self.fail(
                loc,
                "dosage[1]",
                None,
                "more than one dosage is not mapped; send one MedicationStatement per dose",
            )
            return
        dose = self._dosage(loc, _get(dosages, 0), "dosage[0]")
        if named is None or dose is None:
            return
        cells, paths = dose
        if res.get("effectiveDateTime") is not None:
            start = end = ("effectiveDateTime", res.get("effectiveDateTime"))
        else:
            start = ("effectivePeriod.start", _get(res, "effectivePeriod", "start"))
            end = ("effectivePeriod.end", _get(res, "effectivePeriod", "end"))
        self._drug(
            loc,
            pat,
            "statement",
            named,
            cells,
            paths,
            start,
            end,
            _get(res, "reasonCode", 0, "text"),
        )

    def _r_MedicationAdministration(self, loc: Located) -> None:
        ok = self.status_ok(loc)
        pat = self.patient_of(loc)
        if not ok or pat is None:
            return
        res = loc.resource
        named = self._drug_name(loc)
        dose = self._dosage(loc, res.get("dosage"), "dosage", with_timing=False)
        if named is None or dose is None:
            return
        cells, paths = dose
        path = "effectiveDateTime" if "effectiveDateTime" in res else "effectivePeriod.start"
        v = _get(res, *path.split("."))
        if v is None:
            self.fail(loc, "effective[x]", None, "missing: the time of the administration")
            return
        when = self.time(loc, path, v)
        if when is None:
            return
        name, rxnorm, npath = named
        cells.update({"patient_id": pat.pid, "drug": name, "rxnorm": rxnorm})
        paths.update({"drug": npath, "rxnorm": npath, "start": path, "end": path, "*": ""})
        pat.drugs.append(_Drug(loc, "administration", cells, paths, when.instant))

    def _drug(
        self, loc: Located, pat: _PatientData, source: str, named: tuple[str, str | None, str],
        cells: dict[str, Any], paths: dict[str, str], start: tuple[str, Any],
        end: tuple[str, Any], reason: Any,
    ) -> None:  # fmt: skip
        if start[1] is None:
            self.fail(loc, start[0], None, "missing: the start of the drug")
            return
        s = self.time(loc, start[0], start[1])
        e = None if end[1] is None else self.time(loc, end[0], end[1])
        if s is None or (end[1] is not None and e is None):
            return
        name, rxnorm, npath = named
        cells.update({
            "patient_id": pat.pid, "drug": name, "rxnorm": rxnorm, "start": s.text,
            "end": None if e is None else e.text,
            "reason": reason if isinstance(reason, str) else None,
            "provenance": self.extension_string(loc.resource, "provenance"),
        })  # fmt: skip
        paths.update({"drug": npath, "rxnorm": npath, "start": start[0], "end": end[0], "*": ""})
        pat.drugs.append(_Drug(loc, source, cells, paths, s.instant))

    # -- pass 3: per patient ---------------------------------------------------------------------
    def finish(self) -> None:
        for pat in self.patients.values():
            cells = getattr(pat, "row_cells", None)
            if cells is None:
                continue
            cells = dict(cells)
            if pat.comorbidities:
                cells["comorbidities"] = "; ".join(pat.comorbidities)
            self.tables.add("patients", pat.loc, cells, {
                "patient_id": "identifier", "sex": "gender", "birth_date": "birthDate",
                "age_years": "extension(age-years)", "age_at": "extension(age-at)",
                "blood_group": "extension(blood-group)", "comorbidities": "(Condition)",
                "synthetic": "meta.tag",
            })  # fmt: skip
            self._admissions(pat)
            self._covid_events(pat)
            self._drugs(pat)
            self._events(pat)

    def _admissions(self, pat: _PatientData) -> None:
        if not pat.admissions:
            return
        pat.admissions.sort(key=lambda a: a[1])
        for k, (loc, instant, _, text) in enumerate(pat.admissions, start=1):
            occ = self.extension_number(loc.resource, "occurrence")
            cells = {"event": "admission", "occurrence": int(occ) if occ else k, "time": text}
            pat.events.append((loc, cells, {"time": "period.start", "*": "period"}, instant))
        loc, _, end, _ = pat.admissions[-1]
        explicit = any(c.get("event") == "discharge" for _, c, _, _ in pat.events)
        if end is not None and loc.resource.get("status") == "finished" and not explicit:
            pat.events.append(
                (
                    loc,
                    {"event": "discharge", "time": end.text},
                    {"time": "period.end", "*": "period"},
                    end.instant,
                )
            )

    def _covid_events(self, pat: _PatientData) -> None:
        if pat.covid and not any(c.get("event") == "covid_positive" for _, c, _, _ in pat.events):
            loc, when = min(pat.covid, key=lambda p: p[1].instant)
            pat.events.append(
                (
                    loc,
                    {"event": "covid_positive", "time": when.text},
                    {"time": "effectiveDateTime", "*": ""},
                    when.instant,
                )
            )

    def _drugs(self, pat: _PatientData) -> None:
        by_drug: dict[str, dict[str, list[_Drug]]] = defaultdict(lambda: defaultdict(list))
        for d in pat.drugs:
            by_drug[d.cells["drug"]][d.source].append(d)
        first_rux: tuple[Located, datetime] | None = None
        for name, kinds in by_drug.items():
            # what was given beats what was stated beats what was ordered (docs/fhir.md)
            if kinds.get("administration"):
                rows = self._aggregate(kinds["administration"])
            else:
                rows = kinds.get("statement") or kinds.get("request") or []
            for d in rows:
                self.tables.add("drugs", d.loc, d.cells, d.paths)
                if name == _RUX and d.instant is not None:
                    if first_rux is None or d.instant < first_rux[1]:
                        first_rux = (d.loc, d.instant)
        has_start = any(c.get("event") == "rux_start" for _, c, _, _ in pat.events)
        if first_rux is not None and not has_start:
            loc, instant = first_rux
            text = (
                instant.isoformat(timespec="seconds")
                if instant.time()
                else instant.date().isoformat()
            )
            pat.events.append(
                (
                    loc,
                    {"event": "rux_start", "time": text},
                    {"time": "effective[x]", "*": ""},
                    instant,
                )
            )

    def _aggregate(self, admins: list[_Drug]) -> list[_Drug]:
        """Administrations -> one exposure per run of days with the same dose and count."""
        groups: dict[tuple[Any, ...], list[_Drug]] = defaultdict(list)
        for a in admins:
            c = a.cells
            groups[(c["dose"], c.get("unit"), c.get("route"), c.get("rxnorm"))].append(a)
        out: list[_Drug] = []
        for members in groups.values():
            members.sort(key=lambda a: a.instant or datetime.min)
            days: dict[date, list[_Drug]] = defaultdict(list)
            for a in members:
                assert a.instant is not None
                days[a.instant.date()].append(a)
            runs: list[list[date]] = []
            for day in sorted(days):
                n = len(days[day])
                if n not in _PER_DAY:
                    for a in days[day]:
                        cells = dict(a.cells)
                        t = a.instant.isoformat(timespec="seconds") if a.instant else ""
                        cells.update({"frequency": "once", "start": t, "end": day.isoformat()})
                        out.append(_Drug(a.loc, "administration", cells, a.paths, a.instant))
                    continue
                last = runs[-1] if runs else None
                if last and day - last[-1] == timedelta(days=1) and len(days[last[-1]]) == n:
                    last.append(day)
                else:
                    runs.append([day])
            for run in runs:
                first = days[run[0]][0]
                cells = dict(first.cells)
                cells.update(
                    {
                        "frequency": _PER_DAY[len(days[run[0]])],
                        "start": run[0].isoformat(),
                        "end": run[-1].isoformat(),
                    }
                )
                out.append(_Drug(first.loc, "administration", cells, first.paths, first.instant))
        return out

    def _events(self, pat: _PatientData) -> None:
        counts: dict[str, int] = defaultdict(int)
        explicit = {(c["event"], c.get("occurrence")) for _, c, _, _ in pat.events}
        for loc, cells, paths, _ in sorted(pat.events, key=lambda e: e[3]):
            if "occurrence" not in cells:
                counts[cells["event"]] += 1
                occ = counts[cells["event"]]
                while (cells["event"], occ) in explicit:
                    occ += 1
                    counts[cells["event"]] = occ
                cells = {**cells, "occurrence": occ}
            self.tables.add("events", loc, {"patient_id": pat.pid, **cells}, paths)


def resources_to_timelines(
    items: Iterable[Located],
    *,
    unmapped: Unmapped = "problem",
    mapping: FhirMapping | None = None,
) -> tuple[list[Timeline], list[ImportProblem], Locator]:
    """Map structurally valid FHIR resources to timelines through the one validation layer.

    Returns the timelines (empty when there is any problem), the problems, and the locator
    that maps a record of a returned timeline back to its resource and element (for the
    shared checks of :func:`ruxtrack.sources.source_result`).
    """
    reader = _Reader(mapping or load_fhir_mapping(), unmapped)
    located = list(items)
    reader.index(located)
    for loc in located:
        reader.read(loc)
    reader.finish()
    if not reader.patients and not reader.problems:
        reader.problems.append(
            ImportProblem("FHIR input", None, None, None, "no Patient resource in the input")
        )
    problems = Problems()
    tables = reader.tables.raw()
    has_rows = len(tables["patients"]) > 0
    timelines = build_timelines(tables, problems) if has_rows else []
    found = [*reader.problems, *(reader.tables.locate(p) for p in problems.sorted())]
    return ([] if found else timelines), found, reader.tables.locator()
