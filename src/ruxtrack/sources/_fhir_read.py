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
from typing import Any

from ruxtrack.errors import ImportProblem
from ruxtrack.sources._fhir_base import Located, PatientData, Unmapped, codings, get, slug
from ruxtrack.sources._fhir_mapping import FhirMapping, load_fhir_mapping
from ruxtrack.sources._fhir_medications import MedicationReader
from ruxtrack.sources._fhir_observations import ObservationReader
from ruxtrack.sources._problems import Problems
from ruxtrack.sources._result import Locator
from ruxtrack.sources._validate import build_timelines
from ruxtrack.timeline import Timeline

__all__ = ["Located", "Unmapped", "resources_to_timelines"]


class _Reader(ObservationReader, MedicationReader):
    """Every mapped resource type; ``read`` dispatches on resourceType to ``_r_<type>``."""

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
            for i, ident in enumerate(get(res, "identifier") or []):
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
            self.patients[pid] = PatientData(loc, pid)
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
        if not self.in_binding(loc, "gender", gender, self.m.gender, "AdministrativeGender"):
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
            for t in (get(res, "meta", "tag") or [])
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

    def _r_Condition(self, loc: Located) -> None:
        ok = self.status_ok(loc, "clinicalStatus")
        if ok:
            ok = self._verification(loc)
        if not ok:
            return
        pat = self.patient_of(loc)
        if pat is None:
            return
        res = loc.resource
        coded = codings(res.get("code"))
        for i, c in coded:
            name = self.condition_by_code.get((str(c.get("system")), str(c.get("code"))))
            if name is None:
                continue
            when, path, _ = self.when(loc, what="a diagnosis needs its onset")
            if when is None:
                return
            self.tables.add(
                "assessments", loc,
                {"patient_id": pat.pid, "time": when.text, "kind": "diagnosis", "value": name,
                 "provenance": self.extension_string(res, "provenance")},
                {"time": path, "value": f"code.coding[{i}].code", "*": "code"},
            )  # fmt: skip
            return
        text = get(res, "code", "text")
        display = next((c.get("display") for _, c in coded if c.get("display")), None)
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
        for _, c in coded:
            code = c.get("code")
            if isinstance(code, str) and re.fullmatch(r"[^\s:=;]+", code):
                sysname = self.comorbidity_system.get(str(c.get("system")))
                item = f"{name}={sysname}:{code}" if sysname else f"{name}={code}"
                break
        pat.comorbidities.append(item)

    def _verification(self, loc: Located) -> bool | None:
        for i, c in codings(loc.resource.get("verificationStatus")):
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
        pat = self.record_patient(loc)
        if pat is None:
            return
        res = loc.resource
        for i, c in codings(res.get("code")):
            key = (c.get("system"), c.get("code"))
            if key in self.event_proc:
                when, start_path, _ = self.when(loc, what="the time of the procedure")
                if when is None:
                    return
                cells: dict[str, Any] = {"event": self.event_proc[key], "time": when.text}
                occ = self.extension_number(res, "occurrence")
                if occ is not None:
                    cells["occurrence"] = int(occ)
                cells.update(self._transplant(res))
                cells["provenance"] = self.extension_string(res, "provenance")
                paths = {"time": start_path, "event": f"code.coding[{i}]", "*": "extension"}
                pat.events.append((loc, cells, paths, when.instant))
                return
            if key in self.support_proc:
                self._support(loc, pat, self.support_proc[key], f"code.coding[{i}].code")
                return
        for j, concept in enumerate(res.get("usedCode") or []):
            for i, c in codings(concept):  # the device used (GECCO style: HFNC in usedCode)
                mode = self.support_proc.get((str(c.get("system")), str(c.get("code"))))
                if mode is not None:
                    self._support(loc, pat, mode, f"usedCode[{j}].coding[{i}].code")
                    return
        self.fail(
            loc,
            "code",
            None,
            "procedure code not mapped (transplant, intubation, "
            "extubation and respiratory-support codes are; docs/fhir.md)",
        )

    def _support(self, loc: Located, pat: PatientData, mode: str, code_path: str) -> None:
        res = loc.resource
        start, spath, _ = self.when(loc, what="the start of the support")
        end, epath, ok = self.when(loc, "end")
        if start is None or not ok:
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
            {"mode": code_path, "start": spath, "end": epath,
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
        start, _, _ = self.when(loc, what="an inpatient stay needs its start")
        end, _, ok = self.when(loc, "end")
        if start is None or not ok:
            return
        pat.admissions.append((loc, start.instant, end, start.text))

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

    def _admissions(self, pat: PatientData) -> None:
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

    def _covid_events(self, pat: PatientData) -> None:
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

    def _events(self, pat: PatientData) -> None:
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
