"""Timelines -> FHIR R4 Bundles (type collection), one per patient, read back unchanged.

Ids are UUID v5 of (patient, record kind, position), so the same store exports the same ids.
FHIR needs a UTC offset on every time of day; ruxtrack keeps local clinical times, so the
writer adds ``tz`` (default ``+00:00``) and the reader drops it again (the wall clock is kept).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from ruxtrack.errors import RuxtrackError
from ruxtrack.sources._fhir_mapping import FhirMapping, load_fhir_mapping
from ruxtrack.sources._rows import _transplant_cells
from ruxtrack.timeline import KNOWN_EVENTS, Timeline, TimeRef
from ruxtrack.units import load_catalogue

__all__ = ["FhirExportError", "bundle_from_timeline", "write_fhir"]

_NS = uuid.UUID("6f1c3a52-7d0e-5b8e-9a53-2b1f7c0d4e11")


class FhirExportError(RuxtrackError):
    """A timeline cannot be written as FHIR (e.g. it has no calendar dates)."""


class _Writer:
    def __init__(self, tl: Timeline, mapping: FhirMapping, tz: str) -> None:
        self.tl = tl
        self.m = mapping
        self.tz = tz
        self.pid = tl.patient.patient_id
        self.entries: list[dict[str, Any]] = []
        self.patient_uuid = self.uuid("Patient", 0)
        s = mapping.systems
        self.sys = s
        self.drug_codes = {d.drug: d for d in mapping.drugs}
        self.gts = {f.frequency: f for f in mapping.frequencies}
        self.routes = {r.route: r for r in mapping.routes}
        self.conditions = {c.name: c for c in mapping.conditions if c.codes}
        self.event_proc = {p.event: p for p in mapping.procedures.events}
        self.support_proc = {p.mode: p for p in mapping.procedures.support}

    def uuid(self, kind: str, i: int) -> str:
        return str(uuid.uuid5(_NS, f"{self.pid}|{kind}|{i}"))

    def time(self, ref: TimeRef) -> str:
        t: datetime = self.tl.at(ref)
        if ref.date_only:
            return t.date().isoformat()
        return t.isoformat(timespec="seconds") + self.tz

    def ext(self, name: str, kind: str, value: Any) -> dict[str, Any]:
        return {"url": self.m.extension(name), kind: value}

    def add(self, rtype: str, i: int, body: dict[str, Any]) -> None:
        rid = self.patient_uuid if rtype == "Patient" else self.uuid(rtype, i)
        res = {"resourceType": rtype, "id": rid, **_clean(body)}
        self.entries.append({"fullUrl": f"urn:uuid:{rid}", "resource": res})

    def subject(self) -> dict[str, str]:
        return {"reference": f"urn:uuid:{self.patient_uuid}"}

    def prov(self, text: str | None) -> list[dict[str, Any]]:
        return [] if text is None else [self.ext("provenance", "valueString", text)]

    # -- resources -------------------------------------------------------------------------------
    def patient(self) -> None:
        p = self.tl.patient
        exts = []
        if p.age_years is not None:
            exts.append(self.ext("age-years", "valueDecimal", p.age_years))
        if p.age_at is not None:
            exts.append(self.ext("age-at", "valueString", p.age_at))
        if p.blood_group is not None:
            exts.append(self.ext("blood-group", "valueString", p.blood_group))
        body: dict[str, Any] = {
            "extension": exts,
            "identifier": [{"system": self.sys["ruxtrack_patient_id"], "value": p.patient_id}],
            "gender": p.sex.value,
            "birthDate": None if p.birth_date is None else p.birth_date.isoformat(),
        }
        death = [e for e in self.tl.events if e.event == "death"]
        if death:
            body["deceasedDateTime"] = self.time(death[0].time)
            if death[0].provenance:
                exts.append(self.ext("death-provenance", "valueString", death[0].provenance))
        if p.synthetic:
            body["meta"] = {"tag": [{"system": self.sys["v3_actreason"], "code": "HTEST",
                                     "display": "test health data"}]}  # fmt: skip
        self.add("Patient", 0, body)
        for i, c in enumerate(p.comorbidities):
            coding = []
            if c.code is not None:
                system = self.m.comorbidity_systems.get(c.system or "")
                coding.append({"system": system, "code": c.code} if system else {"code": c.code})
            self.add("Condition", 10_000 + i, {
                "clinicalStatus": _concept(self.sys["condition_clinical"], "active"),
                "category": [_concept(self.sys["condition_category"], "problem-list-item")],
                "code": {"coding": coding, "text": c.name},
                "subject": self.subject(),
            })  # fmt: skip

    def events(self) -> None:
        admissions = [e for e in self.tl.events if e.event == "admission"]
        discharge = next((e for e in self.tl.events if e.event == "discharge"), None)
        last = max(admissions, key=lambda e: self.tl.at(e.time), default=None)
        for i, e in enumerate(self.tl.events):
            occ = self.ext("occurrence", "valueInteger", e.occurrence)
            if e.event == "death":
                continue
            if e.event == "admission":
                period = {"start": self.time(e.time)}
                finished = (
                    e is last and discharge is not None
                    and self.tl.at(discharge.time) >= self.tl.at(e.time)
                )  # fmt: skip
                if finished and discharge is not None:
                    period["end"] = self.time(discharge.time)
                self.add("Encounter", i, {
                    "extension": [occ, *self.prov(e.provenance)],
                    "status": "finished" if finished else "in-progress",
                    "class": {"system": self.sys["v3_actcode"], "code": "IMP",
                              "display": "inpatient encounter"},
                    "subject": self.subject(), "period": period,
                })  # fmt: skip
                continue
            proc = self.event_proc.get(e.event)
            tx = []
            if e.transplant is not None:
                cells = _transplant_cells(e.transplant)
                tx = [
                    self.ext(k.replace("_", "-"), "valueString", v) for k, v in cells.items() if v
                ]
            if proc is not None:
                self.add("Procedure", i, {
                    "extension": [occ, *tx, *self.prov(e.provenance)],
                    "status": "completed",
                    "code": {"coding": [{"system": self.m.system(proc.system), "code": proc.code,
                                         "display": proc.display}]},
                    "subject": self.subject(), "performedDateTime": self.time(e.time),
                })  # fmt: skip
                continue
            self.add("Observation", i, {
                "extension": [occ, *tx, *self.prov(e.provenance)],
                "status": "final",
                "code": {"coding": [{"system": self.sys["ruxtrack_event"], "code": e.event}],
                         "text": KNOWN_EVENTS.get(e.event, e.event)},
                "subject": self.subject(), "effectiveDateTime": self.time(e.time),
            })  # fmt: skip

    def observations(self) -> None:
        cat = load_catalogue()
        for i, o in enumerate(self.tl.observations):
            entry = cat.get(o.code)
            loinc = entry.preferred_loinc
            if loinc is not None:
                coding = {"system": self.sys["loinc"], "code": loinc}
            else:
                coding = {"system": self.sys["ruxtrack_lab"], "code": entry.code}
            value = o.value if o.source_value is None else o.source_value
            unit = o.unit if o.source_value is None else o.source_unit
            q: dict[str, Any] = {"value": value, "comparator": None if o.comparator is None
                                 else o.comparator.value}  # fmt: skip
            if unit:
                q["unit"] = unit
                if unit in entry.accepted_units:
                    q.update({"system": self.sys["ucum"], "code": unit})
            self.add("Observation", 20_000 + i, {
                "extension": self.prov(o.provenance),
                "status": "final",
                "code": {"coding": [coding], "text": entry.name},
                "subject": self.subject(), "effectiveDateTime": self.time(o.time),
                "valueQuantity": q,
            })  # fmt: skip

    def drugs(self) -> None:
        for i, d in enumerate(self.tl.drugs):
            known = self.drug_codes.get(d.drug)
            coding = []
            rxnorm = d.rxnorm or (known.rxnorm if known else None)
            if rxnorm:
                coding.append({"system": self.sys["rxnorm"], "code": rxnorm})
            if known is not None and known.atc:
                coding.append({"system": self.sys["atc"], "code": known.atc})
            f = self.gts[d.frequency.value]
            dosage: dict[str, Any] = {}
            if f.as_needed:
                dosage["asNeededBoolean"] = True
            elif f.gts:
                dosage["timing"] = {"code": {"coding": [{"system": self.sys["v3_gts"],
                                                         "code": f.gts}]}}  # fmt: skip
            elif f.repeat:
                dosage["timing"] = {"repeat": dict(f.repeat)}
            else:
                dosage["timing"] = {"code": {"text": d.frequency.value}}
            r = self.routes[d.route.value]
            dosage["route"] = (
                {"coding": [{"system": self.sys["snomed"], "code": r.snomed, "display": r.display}]}
                if r.snomed else {"text": d.route.value}
            )  # fmt: skip
            dosage["doseAndRate"] = [{"doseQuantity": {
                "value": d.dose, "unit": d.unit.value, "system": self.sys["ucum"],
                "code": d.unit.value,
            }}]  # fmt: skip
            period = {"start": self.time(d.start)}
            if d.end is not None:
                period["end"] = self.time(d.end)
            self.add("MedicationStatement", 30_000 + i, {
                "extension": self.prov(d.provenance),
                "status": "active" if d.end is None else "completed",
                "medicationCodeableConcept": {"coding": coding, "text": d.drug},
                "subject": self.subject(), "effectivePeriod": period,
                "reasonCode": [{"text": d.reason}] if d.reason else None,
                "dosage": [dosage],
            })  # fmt: skip

    def support(self) -> None:
        for i, s in enumerate(self.tl.support):
            p = self.support_proc[s.mode.value]
            period = {"start": self.time(s.start)}
            if s.end is not None:
                period["end"] = self.time(s.end)
            exts = []
            if s.fio2 is not None:
                exts.append(self.ext("fio2", "valueDecimal", s.fio2))
            if s.flow_l_min is not None:
                exts.append(self.ext("flow", "valueDecimal", s.flow_l_min))
            self.add("Procedure", 40_000 + i, {
                "extension": [*exts, *self.prov(s.provenance)],
                "status": "completed" if s.end is not None else "in-progress",
                "code": {"coding": [{"system": self.m.system(p.system), "code": p.code,
                                     "display": p.display}]},
                "subject": self.subject(), "performedPeriod": period,
            })  # fmt: skip

    def assessments(self) -> None:
        for i, a in enumerate(self.tl.assessments):
            cond = self.conditions.get(a.value) if a.kind == "diagnosis" else None
            if cond is not None and a.code is None:
                self.add("Condition", 50_000 + i, {
                    "extension": self.prov(a.provenance),
                    "clinicalStatus": _concept(self.sys["condition_clinical"], "active"),
                    "code": {"coding": [{"system": self.m.system(c.system), "code": c.code,
                                         "display": c.display} for c in cond.codes],
                             "text": cond.display},
                    "subject": self.subject(), "onsetDateTime": self.time(a.time),
                })  # fmt: skip
                continue
            exts = self.prov(a.provenance)
            if a.code is not None:
                exts = [self.ext("about", "valueString", a.code), *exts]
            self.add("Observation", 60_000 + i, {
                "extension": exts,
                "status": "final",
                "code": {"coding": [{"system": self.sys["ruxtrack_assessment"], "code": a.kind}]},
                "subject": self.subject(), "effectiveDateTime": self.time(a.time),
                "valueString": a.value,
            })  # fmt: skip


def _concept(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _clean(obj: Any) -> Any:
    """Drop None and empty values (FHIR JSON allows neither); numbers stay exact."""
    if isinstance(obj, dict):
        out = {k: _clean(v) for k, v in obj.items()}
        return {k: v for k, v in out.items() if v not in (None, "", [], {})}
    if isinstance(obj, list):
        items = [_clean(v) for v in obj]
        return [v for v in items if v not in (None, "", [], {})]
    if isinstance(obj, float) and obj.is_integer() and abs(obj) < 1e15:
        return int(obj)
    return obj


def bundle_from_timeline(
    timeline: Timeline, *, tz: str = "+00:00", mapping: FhirMapping | None = None
) -> dict[str, Any]:
    """One patient's timeline as a FHIR R4 Bundle (type collection) that reads back unchanged.

    Raises
    ------
    FhirExportError
        For a patient recorded in relative days only: FHIR needs calendar dates, and ruxtrack
        never invents them.
    """
    if timeline.time_basis == "relative":
        raise FhirExportError(
            f"patient {timeline.patient.patient_id} is recorded in relative days only; FHIR "
            "needs calendar dates, which ruxtrack does not invent"
        )
    w = _Writer(timeline, mapping or load_fhir_mapping(), tz)
    w.patient()
    w.events()
    w.observations()
    w.drugs()
    w.support()
    w.assessments()
    return {
        "resourceType": "Bundle",
        "id": w.uuid("Bundle", 0),
        "type": "collection",
        "entry": w.entries,
    }


def write_fhir(
    timelines: Iterable[Timeline], directory: str | Path, *, tz: str = "+00:00"
) -> tuple[list[Path], list[str]]:
    """Write ``<patient_id>.json`` (a Bundle) per patient into ``directory``.

    Returns the files written and the patients skipped with the reason (relative-only ones).
    """
    folder = Path(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FhirExportError(f"cannot create {folder}: {exc.strerror or exc}") from exc
    written: list[Path] = []
    skipped: list[str] = []
    mapping = load_fhir_mapping()
    for tl in timelines:
        try:
            bundle = bundle_from_timeline(tl, tz=tz, mapping=mapping)
        except FhirExportError as exc:
            skipped.append(str(exc))
            continue
        target = folder / f"{tl.patient.patient_id}.json"
        try:
            target.write_text(json.dumps(bundle, indent=1, ensure_ascii=False) + "\n", "utf-8")
        except OSError as exc:
            raise FhirExportError(f"cannot write {target}: {exc.strerror or exc}") from exc
        written.append(target)
    return written, skipped
