"""One malformed FHIR input per defect (tests/data/fhir/malformed, made by make_malformed.py):
each names resource, element and reason, and nothing is written to the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from fhir_helpers import COVID_DAY3, DATA, has_problem
from typer.testing import CliRunner

from ruxtrack.cli import app
from ruxtrack.errors import ImportValidationError
from ruxtrack.sources import read_source
from ruxtrack.sources._fhir_files import load_path
from ruxtrack.sources._fhir_mapping import load_fhir_mapping
from ruxtrack.store import Store

BAD = DATA / "malformed"
OBS = "Observation/plt-d3"
ADMIN = "MedicationAdministration/rux-d1-am"
ORDER = "MedicationRequest/rux-order"

# file stem -> (resource, element, reason); None: not tied to one resource
CASES: dict[str, tuple[str | None, str | None, str]] = {
    "wrong_resource_type": ("Observaton/plt-d3", "resourceType", "not a FHIR R4 resource type"),
    "missing_subject": (OBS, "subject", "every record needs subject.reference"),
    "unknown_loinc": (OBS, "code.coding[0].code", "LOINC code not in the lab catalogue"),
    "bad_ucum_unit": (OBS, "valueQuantity.code", "ambiguous unit"),
    "unit_not_ucum_system": (OBS, "valueQuantity.system", "units must be UCUM"),
    "value_out_of_plausible_range": (OBS, "valueQuantity.value", "above the plausible range"),
    "date_out_of_window": (OBS, "effectiveDateTime", "outside the accepted window"),
    "partial_date": (OBS, "effectiveDateTime", "gives no day"),
    "missing_effective_time": (OBS, "effective[x]", "missing: the time of the record"),
    "reference_to_missing_patient": (OBS, "subject.reference", "Patient that is not in the input"),
    "bad_observation_status": (OBS, "status", "not in the required value set Observation.status"),
    "data_absent_reason_beside_value": (OBS, "dataAbsentReason", "obs-6"),
    "bad_gender": ("Patient/covid-day3", "gender", "required value set AdministrativeGender"),
    "null_value": (OBS, "valueQuantity.value", "null is not allowed"),
    "empty_array": (OBS, "category", "an empty array is not allowed"),
    "empty_string": (OBS, "status", "an empty string is not allowed"),
    "string_too_long": (OBS, "extension[0].valueString", "a string longer than"),
    "nesting_bomb": (OBS, None, "nested deeper than 32 levels"),
    "no_patient": ("Encounter/adm-1", "subject.reference", "Patient that is not in the input"),
    "nested_bundle": (None, None, "nested Bundles are not read"),
    "unmapped_resource_type": ("AllergyIntolerance/a1", None, "is not mapped to the timeline"),
    "unknown_dose_unit": (ADMIN, "dosage.dose.code", "unknown dose unit"),
    "dose_above_label_maximum": (ADMIN, "dosage.dose.value", "above the label maximum of 25 mg"),
    "two_dosage_instructions": (ORDER, "dosageInstruction[1]", "more than one dosage"),
    "unreadable_frequency": (ORDER, "dosageInstruction[0].timing", "frequency cannot be read"),
    "lab_value_not_a_quantity": (OBS, "valueString", "a lab value must be a valueQuantity"),
    "duplicate_ids": (OBS, "id", "appears twice in the input"),
    "bad_request_intent": (ORDER, "intent", "required value set MedicationRequest.intent"),
    "not_utf8": (None, None, "not UTF-8 text (byte 0xE9 at line 3)"),
    "truncated_json": (None, None, "not valid JSON"),
    "duplicate_json_key": (None, None, 'key "status" appears twice'),
    "nan_number": (None, None, "NaN is not a JSON number"),
    "ndjson_broken_line": (None, None, "not valid JSON"),
}


def _file(stem: str) -> Path:
    (path,) = BAD.glob(f"{stem}.*json")
    return path


def test_every_fixture_has_a_case_and_there_are_at_least_20() -> None:
    stems = {p.stem for p in BAD.glob("*.*json")}
    assert stems == set(CASES)
    assert len(stems) >= 20


@pytest.mark.parametrize("stem", sorted(CASES))
def test_malformed_input_is_refused_naming_where_and_why_and_writes_nothing(
    stem: str, store: Store
) -> None:
    resource, element, reason = CASES[stem]
    result = read_source(_file(stem), "fhir")
    assert result.timelines == []
    assert has_problem(result.problems, resource=resource, element=element, reason=reason), [
        str(p) for p in result.problems
    ]
    assert all(p.file.startswith(_file(stem).name) for p in result.problems)
    with pytest.raises(ImportValidationError):
        store.import_source(result)
    assert set(store.counts().values()) == {0}


def test_ndjson_problem_names_the_line() -> None:
    result = read_source(_file("ndjson_broken_line"), "fhir")
    assert [p.row for p in result.problems] == [4]


def test_file_larger_than_the_limit_is_not_read(tmp_path: Path) -> None:
    small = load_fhir_mapping().model_copy(
        update={"limits": load_fhir_mapping().limits.model_copy(update={"max_bytes": 1000})}
    )
    items, problems = load_path(COVID_DAY3, small)
    assert items == []
    assert "the limit is 1000" in problems[0].reason


def test_cli_import_of_malformed_fhir_exits_1_without_traceback(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    r = CliRunner().invoke(
        app, ["import", str(_file("bad_ucum_unit")), "--format", "fhir", "--db", db]
    )
    assert r.exit_code == 1
    out = r.output
    assert "resource Observation/plt-d3, element valueQuantity.code" in out
    assert "nothing was written" in out
    assert "Traceback" not in out
