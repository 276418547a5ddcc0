"""Writes covid-day3-platelets45.json: a COVID-19 patient on day 3 of the seed 004 course.

Sarmiento 2021 (seed 004): 10 mg BID on days 1-7. Day 1 = 2020-06-01 (first dose), so
2020-06-03 is course day 3. Platelets 45 x10^9/L that morning; ANC, creatinine and weight
normal. Run: python tests/data/cds/make_bundle.py
"""

from __future__ import annotations

import json
from pathlib import Path

PID = "covid-004"


def obs(oid: str, loinc: str, display: str, value: float, unit: str, when: str) -> dict:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc, "display": display}]},
        "subject": {"reference": f"Patient/{PID}"},
        "effectiveDateTime": when,
        "valueQuantity": {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
    }


def bundle() -> dict:
    resources = [
        {"resourceType": "Patient", "id": PID, "gender": "male", "birthDate": "1958-03-14"},
        {
            "resourceType": "Condition",
            "id": "covid",
            "subject": {"reference": f"Patient/{PID}"},
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                        "code": "active",
                    }
                ]
            },
            "verificationStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                        "code": "confirmed",
                    }
                ]
            },
            "code": {
                "coding": [
                    {
                        "system": "http://snomed.info/sct",
                        "code": "840539006",
                        "display": "Disease caused by severe acute respiratory syndrome"
                        " coronavirus 2",
                    }
                ]
            },
        },
        {
            "resourceType": "MedicationRequest",
            "id": "rux-course",
            "status": "active",
            "intent": "order",
            "subject": {"reference": f"Patient/{PID}"},
            "authoredOn": "2020-06-01",
            "medicationCodeableConcept": {
                "coding": [
                    {
                        "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                        "code": "1193326",
                        "display": "ruxolitinib",
                    }
                ],
                "text": "ruxolitinib",
            },
            "dosageInstruction": [
                {
                    "text": "10 mg twice daily",
                    "timing": {
                        "repeat": {
                            "boundsPeriod": {"start": "2020-06-01"},
                            "frequency": 2,
                            "period": 1,
                            "periodUnit": "d",
                        }
                    },
                    "doseAndRate": [
                        {
                            "doseQuantity": {
                                "value": 10,
                                "unit": "mg",
                                "system": "http://unitsofmeasure.org",
                                "code": "mg",
                            }
                        }
                    ],
                }
            ],
        },
        obs(
            "plt-d3",
            "777-3",
            "Platelets [#/volume] in Blood by Automated count",
            45,
            "10*9/L",
            "2020-06-03T06:00:00Z",
        ),
        obs(
            "anc-d3",
            "751-8",
            "Neutrophils [#/volume] in Blood by Automated count",
            2.1,
            "10*9/L",
            "2020-06-03T06:00:00Z",
        ),
        obs(
            "creat-d3",
            "2160-0",
            "Creatinine [Mass/volume] in Serum or Plasma",
            80,
            "umol/L",
            "2020-06-03T06:00:00Z",
        ),
        obs("weight-d1", "29463-7", "Body weight", 75, "kg", "2020-06-01T08:00:00Z"),
    ]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


if __name__ == "__main__":
    out = Path(__file__).with_name("covid-day3-platelets45.json")
    out.write_text(json.dumps(bundle(), indent=1) + "\n", encoding="utf-8")
