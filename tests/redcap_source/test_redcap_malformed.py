"""Malformed REDCap exports: each defect named by file, row, record, event, instance and field;
nothing written. Each case edits the small longitudinal project of conftest.py."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from ruxtrack.errors import ImportValidationError
from ruxtrack.sources import read_source
from ruxtrack.store import open_store


def _cell(file: str, row: int, column: str, value: str) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        path = folder / file
        rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
        j = rows[0].index(column) if column in rows[0] else int(column)
        rows[row - 1][j] = value
        with path.open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerows(rows)

    return apply


def _text(file: str, old: str, new: str) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        path = folder / file
        path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")

    return apply


def _bytes(file: str, data: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / file).write_bytes(data)


def _remove(file: str) -> Callable[[Path], None]:
    return lambda folder: (folder / file).unlink()


R, D, M = "records.csv", "dictionary.csv", "mapping.yaml"
BASE = (("record", "101"), ("event", "baseline_arm_1"))

# (id, edit, file, row, field, location (subset), reason fragment)
CASES = [
    ("dictionary_missing", _remove(D), D, None, None, (), "data dictionary is missing"),
    ("records_missing", _remove(R), R, None, None, (), "records export is missing"),
    ("dictionary_header", _text(D, "Variable / Field Name", "Variable"), D, 1, None, (),
     "not a REDCap data dictionary"),
    ("field_type_unknown", _cell(D, 3, "Field Type", "slidebar"), D, 3, "Field Type", (),
     "unknown field type"),
    ("choices_malformed", _cell(D, 3, "Choices, Calculations, OR Slider Labels", "Female | Male"),
     D, 3, "Choices, Calculations, OR Slider Labels", (), "choices must read"),
    ("field_twice", _cell(D, 4, "Variable / Field Name", "gender"), D, 4, "Variable / Field Name",
     (), "appears twice"),
    ("field_name_invalid", _cell(D, 4, "Variable / Field Name", "Age!"), D, 4,
     "Variable / Field Name", (), "not a REDCap field name"),
    ("mapping_not_yaml", _bytes(M, b"record_id: [unclosed\n"), M, None, None, (), "not valid YAML"),
    ("mapping_unknown_column", _text(M, "age_at: {value: admission}", "age_when: {value: x}"),
     M, None, None, (), "patients: unknown column(s) age_when"),
    ("mapping_field_not_in_dictionary", _text(M, "field: age}", "field: age_in_years}"), M, None,
     "patients.age_years", (), "names a field the data dictionary does not have"),
    ("records_column_unknown", _cell(R, 1, "age", "age_y"), R, 1, "age_y", (),
     "not a field of the data dictionary"),
    ("record_id_empty", _cell(R, 3, "study_id", ""), R, 3, "study_id", (), "record id is empty"),
    ("record_id_column_missing", _cell(R, 1, "study_id", "subject"), R, 1, "study_id", (),
     "record id column is missing"),
    ("radio_not_a_choice", _cell(R, 2, "gender", "3"), R, 2, "gender", BASE, "choices"),
    ("integer_validation", _cell(R, 2, "age", "64.5"), R, 2, "age", BASE, "not an integer"),
    ("below_min", _cell(R, 2, "age", "12"), R, 2, "age", BASE, "below the minimum 18"),
    ("above_max", _cell(R, 3, "dose_mg", "80"), R, 3, "dose_mg",
     (*BASE, ("instrument", "dose"), ("instance", "1")), "above the maximum 50"),
    ("date_validation", _cell(R, 2, "adm_date", "04/01/2020"), R, 2, "adm_date", BASE,
     "not a date"),
    ("datetime_validation", _cell(R, 2, "rux_date", "2020-04-05"), R, 2, "rux_date", BASE,
     "not a date-time"),
    ("impossible_date", _cell(R, 2, "adm_date", "2020-02-30"), R, 2, "adm_date", BASE,
     "not a date"),
    ("number_1dp", _cell(R, 2, "crp_mgdl", "12.45"), R, 2, "crp_mgdl", BASE, "decimal place"),
    ("number_decimal_comma", _cell(R, 2, "ferritin", "1850,5"), R, 2, "ferritin", BASE,
     "decimal point"),
    ("checkbox_value", _cell(R, 2, "comorb___1", "2"), R, 2, "comorb___1", BASE, "0 or 1"),
    ("checkbox_unknown_choice", _cell(R, 1, "comorb___2", "comorb___9"), R, 2, "comorb___9", BASE,
     "choice the dictionary does not have"),
    ("repeat_instance_not_a_number", _cell(R, 3, "redcap_repeat_instance", "first"), R, None,
     "redcap_repeat_instance", (("record", "101"),), "repeat instance"),
    ("ferritin_implausible", _cell(R, 5, "ferritin", "92000000"), R, 5, "ferritin",
     (("record", "101"), ("event", "day_8_arm_1")), "plausible"),
    ("dose_ends_before_start", _cell(R, 4, "dose_end", "2020-04-01"), R, 4, "dose_end",
     (*BASE, ("instrument", "dose"), ("instance", "2")), "before"),
    ("rux_dose_above_label", _cell(R, 3, "dose_mg", "30"), R, 3, "dose_mg", BASE, "label maximum"),
    ("records_not_utf8", _bytes(R, b"study_id,gender\n101,\xff\n"), R, 2, None, (), "not UTF-8"),
    ("records_ragged_row", _text(R, "\n102,", "\n102,extra,"), R, 6, None, (),
     "cells but the header"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("edit", "file", "row", "field", "location", "reason"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_malformed_redcap_export_is_refused_and_located(
    tmp_path: Path,
    longitudinal: Path,
    edit: Callable[[Path], None],
    file: str,
    row: int | None,
    field: str | None,
    location: tuple[tuple[str, str], ...],
    reason: str,
) -> None:
    edit(longitudinal)
    result = read_source(str(longitudinal), "redcap")
    assert result.timelines == []
    hits = [
        p for p in result.problems
        if reason in p.reason and p.file == file and (row is None or p.row == row)
        and (field is None or p.field == field) and set(location) <= set(p.location)
    ]  # fmt: skip
    assert hits, "\n".join(f"{p} {p.location}" for p in result.problems)
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    try:
        with pytest.raises(ImportValidationError):
            store.import_source(result)
        assert store.counts()["patients"] == 0
    finally:
        store.close()


def test_not_a_folder(tmp_path: Path) -> None:
    result = read_source(str(tmp_path / "nope"), "redcap")
    assert "not a folder" in result.problems[0].reason
