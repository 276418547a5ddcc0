"""What each FHIR resource becomes on the timeline (docs/fhir.md, "How resources become
timeline records")."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from fhir_helpers import COVID_DAY3, load
from typer.testing import CliRunner

from ruxtrack.cli import app
from ruxtrack.demo import demo_datasets
from ruxtrack.sources import read_source
from ruxtrack.sources.fhir import timeline_from_fhir
from ruxtrack.timeline import Timeline

BUNDLE = load(COVID_DAY3)
RESOURCES: list[dict[str, Any]] = [e["resource"] for e in BUNDLE["entry"]]
SUBJECT = {"reference": "Patient/covid-day3"}
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def _without(*types: str) -> list[dict[str, Any]]:
    return [copy.deepcopy(r) for r in RESOURCES if r["resourceType"] not in types]


def _one(resources: list[dict[str, Any]]) -> Timeline:
    res = timeline_from_fhir(resources, unmapped="problem")
    assert res.problems == [], [str(p) for p in res.problems]
    return res.timelines[0]


def _admin(day: str, clock: str, dose: float = 10) -> dict[str, Any]:
    return {
        "resourceType": "MedicationAdministration", "id": f"a-{day}-{clock[:2]}",
        "status": "completed", "subject": SUBJECT,
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "1193326"}]},
        "effectiveDateTime": f"2021-03-{day}T{clock}:00Z",
        "dosage": {"dose": {"value": dose, "unit": "mg", "system": "http://unitsofmeasure.org",
                            "code": "mg"}},
    }  # fmt: skip


def test_ndjson_and_a_folder_with_references_across_files_read_like_the_bundle(
    tmp_path: Path,
) -> None:
    (from_bundle,) = read_source(COVID_DAY3, "fhir").raise_for_problems()
    nd = tmp_path / "bulk.ndjson"
    nd.write_text("\n".join(json.dumps(r) for r in RESOURCES) + "\n", encoding="utf-8")
    (from_ndjson,) = read_source(nd, "fhir").raise_for_problems()
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "Patient.ndjson").write_text(json.dumps(RESOURCES[0]) + "\n", encoding="utf-8")
    (folder / "rest.json").write_text(
        json.dumps({"resourceType": "Bundle", "type": "collection",
                    "entry": [{"resource": r} for r in RESOURCES[1:]]}), encoding="utf-8",
    )  # fmt: skip
    (from_folder,) = read_source(folder, "fhir").raise_for_problems()
    assert from_bundle == from_ndjson == from_folder


def test_administrations_make_one_exposure_per_run_of_days_with_the_same_count() -> None:
    admins = [_admin("01", "09:00"), _admin("01", "21:00"), _admin("02", "09:00"),
              _admin("02", "21:00"), _admin("04", "09:00")]  # fmt: skip
    tl = _one([*_without("MedicationAdministration", "MedicationRequest"), *admins])
    got = [(d.frequency.value, str(d.start), str(d.end)) for d in tl.drugs]
    assert got == [("BID", "2021-03-01", "2021-03-02"), ("QD", "2021-03-04", "2021-03-04")]


def test_an_order_alone_becomes_an_open_exposure_from_its_bounds() -> None:
    tl = _one(_without("MedicationAdministration"))
    (d,) = tl.drugs
    assert (d.drug, d.dose, d.frequency.value, str(d.start), d.end) == (
        "ruxolitinib",
        10.0,
        "BID",
        "2021-03-01",
        None,
    )


def test_administrations_win_over_the_order_of_the_same_drug() -> None:
    tl = _one([copy.deepcopy(r) for r in RESOURCES])
    assert len(tl.drugs) == 1 and str(tl.drugs[0].end) == "2021-03-03"


def test_a_product_level_rxcui_is_read_as_ruxolitinib_and_an_interacting_drug_by_name() -> None:
    order = next(copy.deepcopy(r) for r in RESOURCES if r["id"] == "rux-order")
    order["medicationCodeableConcept"] = {"coding": [{"system": RXNORM, "code": "1193337"}]}
    fluco = copy.deepcopy(order)
    fluco["id"] = "fluco"
    fluco["medicationCodeableConcept"] = {"coding": [{"system": RXNORM, "code": "4450"}]}
    tl = _one([*_without("MedicationAdministration", "MedicationRequest"), order, fluco])
    assert sorted(d.drug for d in tl.drugs) == ["fluconazole", "ruxolitinib"]


def test_a_finished_stay_gives_admission_and_discharge() -> None:
    res = _without()
    enc = next(r for r in res if r["resourceType"] == "Encounter")
    enc["status"] = "finished"
    enc["period"]["end"] = "2021-03-20T12:00:00-03:00"
    tl = _one(res)
    assert {(e.label, str(e.time)) for e in tl.events if e.event in ("admission", "discharge")} == {
        ("admission", "2021-02-24T10:00"),
        ("discharge", "2021-03-20T12:00"),
    }


def test_a_detected_sars_cov_2_test_gives_covid_positive_and_the_condition_a_diagnosis() -> None:
    tl = _one(_without())
    assert [str(e.time) for e in tl.events if e.event == "covid_positive"] == ["2021-02-24T12:00"]
    assert [(a.kind, a.value) for a in tl.assessments if a.kind == "diagnosis"] == [
        ("diagnosis", "covid19")
    ]


def test_relative_only_patients_are_skipped_on_export_with_the_reason(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 't.db'}"
    runner = CliRunner()
    assert (
        runner.invoke(app, ["import", str(demo_datasets()["tomomasa-2021"]), "--db", db]).exit_code
        == 0
    )
    r = runner.invoke(app, ["export", str(tmp_path / "out"), "--format", "fhir", "--db", db])
    assert r.exit_code == 0, r.output
    assert "skipped: patient TOMOMASA-2021 is recorded in relative days only" in r.output
    assert "exported 0 FHIR Bundles" in r.output


def test_respiratory_support_is_read_from_the_device_in_used_code() -> None:
    res = _without()
    proc = next(r for r in res if r["resourceType"] == "Procedure")
    proc["code"] = {"coding": [{"system": "http://snomed.info/sct", "code": "53950000",
                                "display": "Respiratory therapy"}]}  # fmt: skip
    proc["usedCode"] = [{"coding": [{"system": "http://snomed.info/sct", "code": "426854004"}]}]
    tl = _one(res)
    assert [s.mode.value for s in tl.support] == ["hfnc"]


def test_a_proposed_order_is_not_an_exposure() -> None:
    res = _without("MedicationAdministration")
    next(r for r in res if r["resourceType"] == "MedicationRequest")["intent"] = "proposal"
    assert _one(res).drugs == ()


def test_a_drug_of_the_mapping_named_in_free_text_is_recognised() -> None:
    order = next(copy.deepcopy(r) for r in RESOURCES if r["id"] == "rux-order")
    order["id"] = "fluco"
    order["medicationCodeableConcept"] = {"text": "Fluconazole 200 MG Oral Tablet"}
    other = copy.deepcopy(order)
    other["id"] = "ceftriaxone"
    other["medicationCodeableConcept"] = {"text": "Ceftriaxone 1 g injection"}
    tl = _one([*_without("MedicationRequest"), order, other])
    assert sorted(d.drug for d in tl.drugs) == ["ceftriaxone_1_g_injection", "fluconazole",
                                                 "ruxolitinib"]  # fmt: skip
