"""Generate covid-day3-platelets45.json (run: python tests/data/fhir/make_covid_day3.py).

A synthetic COVID-19 patient on day 3 of the Sarmiento 2021 (seed 004) course: ruxolitinib
10 mg BID given on days 1-3 (MedicationAdministrations) under an active MedicationRequest,
platelets 45 x10^9/L on day 3, with what the regimen needs for a decision
(knowledge/regimens/sarmiento-2021-covid.yaml, required_labs plt/anc/crcl; CrCl by
Cockcroft-Gault from creatinine, age, weight and sex): ANC and creatinine on day 3, weight on
admission, birth date and sex; eligibility facts (RT-PCR, WHO viral pneumonia, no other trial,
not ventilated: high-flow nasal cannula). Expected decision on day 3: discontinue (platelets
< 50 x10^9/L). The file is generated, never hand-edited.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PID = "covid-day3"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SCT = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
RUX = "https://ruxtrack.org/fhir/CodeSystem/assessment"
SUBJECT = {"reference": f"Patient/{PID}"}
DAY = {1: "2021-03-01", 2: "2021-03-02", 3: "2021-03-03"}
RUXOLITINIB = {
    "coding": [{"system": RXNORM, "code": "1193326", "display": "ruxolitinib"}],
    "text": "ruxolitinib",
}


def lab(rid: str, loinc: str, display: str, when: str, value: float, unit: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation", "id": rid, "status": "final",
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "laboratory"}]}],
        "code": {"coding": [{"system": LOINC, "code": loinc, "display": display}]},
        "subject": SUBJECT, "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }  # fmt: skip


def fact(rid: str, kind: str, when: str, value: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation", "id": rid, "status": "final",
        "code": {"coding": [{"system": RUX, "code": kind}]},
        "subject": SUBJECT, "effectiveDateTime": when, "valueString": value,
    }  # fmt: skip


def build() -> dict[str, Any]:
    resources: list[dict[str, Any]] = [
        {"resourceType": "Patient", "id": PID, "gender": "male", "birthDate": "1961-05-14"},
        {"resourceType": "Encounter", "id": "adm-1", "status": "in-progress",
         "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
         "subject": SUBJECT, "period": {"start": "2021-02-24T10:00:00-03:00"}},
        {"resourceType": "Condition", "id": "covid19",
         "clinicalStatus": {"coding": [{
             "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
             "code": "active"}]},
         "verificationStatus": {"coding": [{
             "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
             "code": "confirmed"}]},
         "code": {"coding": [{"system": SCT, "code": "840539006", "display": "COVID-19"}],
                  "text": "COVID-19"},
         "subject": SUBJECT, "onsetDateTime": "2021-02-24"},
        {"resourceType": "Observation", "id": "sars-cov-2-pcr", "status": "final",
         "code": {"coding": [{"system": LOINC, "code": "94500-6"}]},
         "subject": SUBJECT, "effectiveDateTime": "2021-02-24T12:00:00-03:00",
         "valueCodeableConcept": {"coding": [{"system": SCT, "code": "260373001",
                                              "display": "Detected"}]}},
        fact("who-pneumonia", "who_viral_pneumonia", "2021-02-24T12:00:00-03:00", "true"),
        fact("no-other-trial", "interventional_trial", "2021-02-24T12:00:00-03:00", "false"),
        lab("weight-adm", "29463-7", "Body weight", "2021-02-24T11:00:00-03:00", 82, "kg"),
        {"resourceType": "Procedure", "id": "hfnc", "status": "in-progress",
         "code": {"coding": [{"system": SCT, "code": "426854004",
                              "display": "High flow oxygen nasal cannula"}]},
         "subject": SUBJECT, "performedPeriod": {"start": "2021-02-27T08:00:00-03:00"}},
        {"resourceType": "MedicationRequest", "id": "rux-order", "status": "active",
         "intent": "order", "medicationCodeableConcept": RUXOLITINIB, "subject": SUBJECT,
         "authoredOn": "2021-03-01T08:00:00-03:00",
         "dosageInstruction": [{
             "timing": {"repeat": {"boundsPeriod": {"start": "2021-03-01"}},
                        "code": {"coding": [{
                            "system": "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation",
                            "code": "BID"}]}},
             "route": {"coding": [{"system": SCT, "code": "26643006", "display": "Oral route"}]},
             "doseAndRate": [{"doseQuantity": {"value": 10, "unit": "mg", "system": UCUM,
                                               "code": "mg"}}]}]},
    ]  # fmt: skip
    for day, iso in DAY.items():
        for slot, clock in (("am", "09:00:00"), ("pm", "21:00:00")):
            resources.append({
                "resourceType": "MedicationAdministration", "id": f"rux-d{day}-{slot}",
                "status": "completed", "medicationCodeableConcept": RUXOLITINIB,
                "subject": SUBJECT, "effectiveDateTime": f"{iso}T{clock}-03:00",
                "request": {"reference": "MedicationRequest/rux-order"},
                "dosage": {"route": {"coding": [{"system": SCT, "code": "26643006"}]},
                           "dose": {"value": 10, "unit": "mg", "system": UCUM, "code": "mg"}},
            })  # fmt: skip
    when = "2021-03-03T06:00:00-03:00"
    resources += [
        lab("plt-d3", "777-3", "Platelets [#/volume] in Blood by Automated count", when, 45,
            "10*9/L"),
        lab("anc-d3", "751-8", "Neutrophils [#/volume] in Blood by Automated count", when, 2.1,
            "10*9/L"),
        lab("creat-d3", "2160-0", "Creatinine [Mass/volume] in Serum or Plasma", when, 0.9,
            "mg/dL"),
    ]
    return {
        "resourceType": "Bundle", "id": "covid-day3-platelets45", "type": "collection",
        "entry": [{"fullUrl": f"https://example.org/fhir/{r['resourceType']}/{r['id']}",
                   "resource": r} for r in resources],
    }  # fmt: skip


if __name__ == "__main__":
    out = Path(__file__).with_name("covid-day3-platelets45.json")
    out.write_text(json.dumps(build(), indent=1) + "\n", encoding="utf-8")
