"""HL7's FHIR R4 examples: they parse; they import where the mapping applies, else are refused
naming resource type/id, element path and reason (tests/data/fhir/hl7, CC0)."""

from __future__ import annotations

import pytest
from fhir_helpers import HL7, has_problem, hl7, load

from ruxtrack.errors import ImportValidationError
from ruxtrack.sources._fhir_files import check_resources
from ruxtrack.sources._fhir_mapping import load_fhir_mapping
from ruxtrack.sources._fhir_read import Located
from ruxtrack.sources.fhir import timelines_from_fhir
from ruxtrack.store import Store


def test_every_copied_example_parses_with_the_r4b_models() -> None:
    items = [Located(load(p), p.name) for p in sorted(HL7.glob("*.json"))]
    assert len(items) == 21
    assert check_resources(items, load_fhir_mapping()) == []


def test_vital_signs_of_patient_example_import_in_canonical_units() -> None:
    res = timelines_from_fhir(hl7(
        "patient-example.json", "observation-example-body-temperature.json",
        "observation-example-respiratory-rate.json", "observation-example-body-height.json",
        "observation-example-satO2.json", "observation-example.json",
    ), unmapped="problem")  # fmt: skip
    assert res.problems == []
    (tl,) = res.timelines
    assert tl.patient.patient_id == "example"
    assert tl.patient.sex.value == "male"
    got = {o.code: (round(o.value, 2), o.unit) for o in tl.observations}
    assert got == {
        "temp": (36.5, "Cel"),
        "rr": (26.0, "/min"),
        "height": (169.93, "cm"),  # 66.9 [in_i]
        "spo2": (95.0, "%"),
        "weight": (83.91, "kg"),  # 185 [lb_av]
    }


def test_haemoglobin_in_g_per_dl_is_converted() -> None:
    res = timelines_from_fhir(
        hl7("patient-example-f001-pieter.json", "observation-example-f005-hemoglobin.json")
    )
    assert res.problems == []
    (obs,) = res.timelines[0].observations
    assert (obs.code, obs.source_value, obs.source_unit) == ("hb", 7.2, "g/dL")


def test_a_condition_outside_the_mapping_becomes_a_comorbidity() -> None:
    res = timelines_from_fhir(
        hl7("patient-example-f201-roel.json", "condition-example-f201-fever.json")
    )
    assert res.problems == []
    (c,) = res.timelines[0].patient.comorbidities
    assert (c.name, c.system, c.code) == ("fever", "SNOMED", "386661006")


def test_cancelled_and_entered_in_error_resources_are_left_out() -> None:
    res = timelines_from_fhir(hl7(
        "patient-example-a.json", "patient-example-f001-pieter.json",
        "observation-example-bloodpressure-cancel.json", "medicationstatementexample5.json",
    ), unmapped="problem")  # fmt: skip
    assert res.problems == []
    assert [len(t.observations) + len(t.drugs) for t in res.timelines] == [0, 0]


REFUSED = [
    (("patient-example.json", "observation-example-heart-rate.json"),
     "Observation/heart-rate", "code.coding[0].code", "LOINC code not in the lab catalogue"),
    (("patient-example.json", "observation-example-bloodpressure.json"),
     "Observation/blood-pressure", "code.coding[0].code", "not in the lab catalogue"),
    (("patient-example-f201-roel.json", "observation-example-f204-creatinine.json"),
     "Observation/f204", "code.coding", "no LOINC coding"),
    (("observation-example-vp-oyster.json",),
     "Observation/vp-oyster", "subject", "every record needs subject.reference"),
    (("observation-example-1minute-apgar-score.json",),
     "Observation/1minute-apgar-score", "subject.reference", "not in the input"),
    (("patient-example-f201-roel.json", "procedure-example-f201-tpf.json"),
     "Procedure/f201", "code", "procedure code not mapped"),
    (("patient-example-a.json", "medicationrequestexample1.json"),
     "MedicationRequest/medrx0311", "dosageInstruction[0].doseAndRate[0].doseQuantity.code",
     "unknown dose unit"),
    (("patient-example-a.json", "medicationstatementexample3.json"),
     "MedicationStatement/example003", "dosage[0].timing", "the frequency cannot be read"),
]  # fmt: skip


@pytest.mark.parametrize(("names", "resource", "element", "reason"), REFUSED)
def test_examples_outside_the_mapping_are_refused_with_resource_element_and_reason(
    names: tuple[str, ...], resource: str, element: str, reason: str, store: Store
) -> None:
    res = timelines_from_fhir(hl7(*names), unmapped="problem")
    assert res.timelines == []
    assert has_problem(res.problems, resource=resource, element=element, reason=reason), [
        str(p) for p in res.problems
    ]
    with pytest.raises(ImportValidationError):
        store.import_source(res)
    assert store.counts()["patients"] == 0
