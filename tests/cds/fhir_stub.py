"""A minimal FHIR -> timeline reader for the CDS tests until ruxtrack.sources.fhir lands.

Only what the CDS tests use: Patient, Observation (LOINC via the lab catalogue),
MedicationRequest (active, mg, frequency per day). The production reader is
``ruxtrack.sources.fhir.timeline_from_fhir`` (issue 13, FHIR lane).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ruxtrack.cds import draft_orders, is_ruxolitinib
from ruxtrack.timeline import DrugExposure, Observation, Patient, Timeline
from ruxtrack.units import load_catalogue

_FREQ = {1.0: "QD", 2.0: "BID", 3.0: "TID", 4.0: "QID"}


def read(resources: Sequence[dict[str, Any]]) -> tuple[Timeline, list[str]]:
    cat = load_catalogue()
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    pid = patient["id"]
    obs = []
    drugs = []
    for r in resources:
        if r["resourceType"] == "Observation":
            code = next(c["code"] for c in r["code"]["coding"] if c["system"] == "http://loinc.org")
            q = r["valueQuantity"]
            obs.append(
                Observation(
                    patient_id=pid,
                    code=cat.get(code).code,
                    time=r["effectiveDateTime"].removesuffix("Z"),
                    value=q["value"],
                    unit=q["code"],
                )
            )
        elif r["resourceType"] == "MedicationRequest" and r.get("status") == "active":
            order = draft_orders({"entry": [{"resource": r}]})[0][0]
            name = "ruxolitinib" if is_ruxolitinib(r) else order.names[0].split()[0]
            bounds = r["dosageInstruction"][0]["timing"]["repeat"].get("boundsPeriod", {})
            drugs.append(
                DrugExposure(
                    patient_id=pid,
                    drug=name,
                    dose=order.dose_mg or 0,
                    unit="mg",
                    frequency=_FREQ[order.per_day or 1.0],
                    start=bounds.get("start", r.get("authoredOn")),
                )
            )
    tl = Timeline(
        patient=Patient(
            patient_id=pid,
            sex=patient.get("gender", "unknown"),
            birth_date=patient.get("birthDate"),
        ),
        observations=tuple(obs),
        drugs=tuple(drugs),
    )
    return tl, []
