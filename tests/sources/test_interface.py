"""The source interface: SourceResult, the shared limits, locations, and the store's door."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ruxtrack.errors import ImportProblem, ImportValidationError
from ruxtrack.sources import (
    READERS,
    RecordRef,
    SourceResult,
    Where,
    check_timelines,
    read_canonical,
    read_source,
    source_result,
)
from ruxtrack.store import open_store
from ruxtrack.timeline import DrugExposure, Event, Patient, Timeline

PATIENTS = "patient_id,sex,birth_date\nP1,female,1960-05-01\n"
EVENTS = "patient_id,event,time\nP1,admission,2021-03-01\n"
DRUGS = "patient_id,drug,dose,unit,frequency,start\n"


def _folder(tmp_path: Path, **files: str) -> Path:
    files = {"patients": PATIENTS, "events": EVENTS} | files
    for name, text in files.items():
        (tmp_path / f"{name}.csv").write_text(text, encoding="utf-8")
    return tmp_path


def _only(result: SourceResult) -> ImportProblem:
    assert result.timelines == []
    (p,) = result.problems
    return p


def test_valid_folder_gives_timelines_and_no_problems(tmp_path: Path) -> None:
    result = read_canonical(_folder(tmp_path))
    assert result.ok and [t.patient.patient_id for t in result.timelines] == ["P1"]
    assert result.source == str(tmp_path)


@pytest.mark.parametrize("when", ["9999-01-01", "0001-01-01", "1899-12-31"])
def test_event_outside_the_date_window_is_refused_at_its_row(tmp_path: Path, when: str) -> None:
    p = _only(read_canonical(_folder(tmp_path, events=f"{EVENTS}P1,discharge,{when}\n")))
    assert (p.file, p.row, p.field) == ("events.csv", 3, "time")
    assert "outside the accepted window 1900-01-01 to 2200-12-31" in p.reason


def test_birth_after_admission_is_refused(tmp_path: Path) -> None:
    folder = _folder(tmp_path, patients="patient_id,sex,birth_date\nP1,female,2022-01-01\n")
    p = _only(read_canonical(folder))
    assert (p.file, p.row, p.field) == ("events.csv", 2, "time")
    assert "before the patient's birth date (2022-01-01)" in p.reason


def test_ruxolitinib_above_its_label_maximum_is_refused(tmp_path: Path) -> None:
    drugs = f"{DRUGS}P1,ruxolitinib,30,mg,BID,admission\n"
    p = _only(read_canonical(_folder(tmp_path, drugs=drugs)))
    assert (p.file, p.row, p.field, p.value) == ("drugs.csv", 2, "dose", "30")
    assert "above the label maximum of 25 mg" in p.reason and "S2" in p.reason


def test_any_drug_above_the_generic_ceiling_is_refused(tmp_path: Path) -> None:
    drugs = f"{DRUGS}P1,dexamethasone,600000,mg,QD,admission\n"
    p = _only(read_canonical(_folder(tmp_path, drugs=drugs)))
    assert (p.file, p.row, p.field) == ("drugs.csv", 2, "dose")
    assert "largest plausible dose (50000 mg)" in p.reason


def test_a_record_given_twice_is_refused(tmp_path: Path) -> None:
    drugs = f"{DRUGS}P1,ruxolitinib,5,mg,BID,admission\nP1,ruxolitinib,5,mg,BID,admission\n"
    p = _only(read_canonical(_folder(tmp_path, drugs=drugs)))
    assert (p.file, p.row) == ("drugs.csv", 3)
    assert "given twice" in p.reason


def test_dangling_symlink_and_folder_with_a_canonical_name_are_refused(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    os.symlink(tmp_path / "missing.csv", folder / "drugs.csv")
    (folder / "support.csv").mkdir()
    result = read_canonical(folder)
    assert result.timelines == []
    reasons = {p.file: p.reason for p in result.problems}
    assert reasons == {
        "drugs.csv": "a link to a file that does not exist",
        "support.csv": "a folder, not a file",
    }


def test_a_long_value_is_cut_to_an_excerpt() -> None:
    p = ImportProblem("f.csv", 2, "value", "9" * 10_000_000, "not a number")
    assert p.value is not None and len(p.value) < 120
    assert p.value.endswith("(10000000 characters)")


def test_a_problem_located_in_a_formats_own_terms() -> None:
    p = ImportProblem.at(
        "bundle.json", "unit is not UCUM", value="x10^3",
        resource="Observation/o1", element="valueQuantity.unit",
    )  # fmt: skip
    assert p.location == (("resource", "Observation/o1"), ("element", "valueQuantity.unit"))
    assert str(p) == (
        'bundle.json, resource Observation/o1, element valueQuantity.unit (value "x10^3"): '
        "unit is not UCUM"
    )


def test_shared_checks_locate_through_the_readers_locator() -> None:
    tl = Timeline(
        patient=Patient(patient_id="R1", sex="male"),
        events=(Event(patient_id="R1", event="admission", time="2021-01-01"),),
        drugs=(
            DrugExposure(
                patient_id="R1", drug="ruxolitinib", dose=50, unit="mg", frequency="BID",
                start="admission",
            ),
        ),
    )  # fmt: skip

    def locate(ref: RecordRef) -> Where:
        return Where("export.csv", None, (("record", ref.patient_id), ("instance", "2")), "dose")

    result = source_result("export.csv", [tl], locate=locate)
    p = _only(result)
    assert p.where == "export.csv, record R1, instance 2, field `dose`"
    _, problems = check_timelines([tl])
    assert problems[0].file == "timeline R1" and problems[0].field == "drugs.dose"


def test_a_reader_problem_skips_the_shared_checks() -> None:
    cause = ImportProblem("x.csv", None, None, None, "cannot be read")
    assert source_result("x.csv", [], [cause]).problems == [cause]


def test_the_store_door_writes_all_or_nothing(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store.sqlite")
    bad = _folder(tmp_path / "bad" if (tmp_path / "bad").mkdir() is None else tmp_path,
                  drugs=f"{DRUGS}P1,ruxolitinib,30,mg,BID,admission\n")  # fmt: skip
    with pytest.raises(ImportValidationError):
        store.import_source(read_canonical(bad))
    assert store.counts()["patients"] == 0
    (bad / "drugs.csv").unlink()
    summary = store.import_source(read_canonical(bad))
    assert store.counts()["patients"] == 1 and summary is not None
    store.close()


def test_read_source_uses_the_reader_table(tmp_path: Path) -> None:
    assert "canonical" in READERS
    assert read_source(_folder(tmp_path)).ok
    p = _only(read_source(tmp_path, "bogus"))
    assert "unknown format" in p.reason
