"""Malformed OMOP CDMs: each defect is named by table, row and CDM column; nothing is written.

Each case edits one cell (or the file) of the demo cohort's OMOP export. CSV rows are numbered
as a spreadsheet shows them: the header is row 1.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from ruxtrack.errors import ImportValidationError
from ruxtrack.sources import read_source
from ruxtrack.store import open_store


def _edit(table: str, row: int, column: str, value: str) -> Callable[[Path], None]:
    def apply(cdm: Path) -> None:
        path = cdm / f"{table}.csv"
        rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
        rows[row - 1][rows[0].index(column)] = value
        with path.open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerows(rows)

    return apply


def _drop_column(table: str, column: str) -> Callable[[Path], None]:
    def apply(cdm: Path) -> None:
        path = cdm / f"{table}.csv"
        rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
        j = rows[0].index(column)
        with path.open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerows([r[:j] + r[j + 1 :] for r in rows])

    return apply


def _raw(table: str, text: bytes) -> Callable[[Path], None]:
    def apply(cdm: Path) -> None:
        (cdm / f"{table}.csv").write_bytes(text)

    return apply


def _append(table: str, copy_row: int) -> Callable[[Path], None]:
    def apply(cdm: Path) -> None:
        path = cdm / f"{table}.csv"
        rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
        rows.append(list(rows[copy_row - 1]))
        rows[-1][0] = str(10_000)  # a new record id, same content
        with path.open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerows(rows)

    return apply


def _remove(table: str) -> Callable[[Path], None]:
    return lambda cdm: (cdm / f"{table}.csv").unlink()


def _both_formats(cdm: Path) -> None:
    shutil.copy(cdm / "death.csv", cdm / "death.parquet")


# (case id, edit, file, row, field, reason fragment)
CASES: list[tuple[str, Callable[[Path], None], str, int | None, str | None, str]] = [
    ("unit_unknown", _edit("measurement", 6, "unit_source_value", "mg/furlong"),
     "measurement.csv", 6, "unit_source_value", "unknown unit"),
    ("unit_wrong_dimension", _edit("measurement", 6, "unit_source_value", "%"),
     "measurement.csv", 6, "unit_source_value", "Ferritin"),
    ("value_not_a_number", _edit("measurement", 5, "value_source_value", "high"),
     "measurement.csv", 5, "value_source_value", "not a number"),
    ("value_decimal_comma", _edit("measurement", 5, "value_source_value", "51,1"),
     "measurement.csv", 5, "value_source_value", "decimal point"),
    ("value_implausible", _edit("measurement", 2, "value_source_value", "920"),
     "measurement.csv", 2, "value_source_value", "plausible"),
    ("measurement_time_invalid",
     _edit("measurement", 10, "measurement_datetime", "2020-13-40 10:00:00"),
     "measurement.csv", 10, "measurement_datetime", "not a valid ISO 8601"),
    ("measurement_unknown_person", _edit("measurement", 8, "person_id", "999"),
     "measurement.csv", 8, "person_id", "unknown person"),
    ("operator_not_an_id", _edit("measurement", 5, "operator_concept_id", "lt"),
     "measurement.csv", 5, "operator_concept_id", "not an integer"),
    ("person_id_not_integer", _edit("person", 2, "person_id", "one"),
     "person.csv", 2, "person_id", "not an integer"),
    ("person_id_twice", _edit("person", 3, "person_id", "1"),
     "person.csv", 3, "person_id", "appears twice"),
    ("gender_not_an_id", _edit("person", 2, "gender_concept_id", "female"),
     "person.csv", 2, "gender_concept_id", "not an integer"),
    ("rux_dose_above_label", _edit("drug_exposure", 3, "quantity", "30"),
     "drug_exposure.csv", 3, "quantity", "label maximum"),
    ("dose_not_a_number", _edit("drug_exposure", 3, "quantity", "ten"),
     "drug_exposure.csv", 3, "quantity", "not a number"),
    ("frequency_unknown", _edit("drug_exposure", 3, "sig", "10 mg SOMETIMES"),
     "drug_exposure.csv", 3, "sig", "frequency"),
    ("dose_unit_unknown", _edit("drug_exposure", 3, "dose_unit_source_value", "spoon"),
     "drug_exposure.csv", 3, "dose_unit_source_value", "unknown"),
    ("drug_ends_before_start",
     _edit("drug_exposure", 3, "drug_exposure_end_datetime", "2019-01-01 00:00:00"),
     "drug_exposure.csv", 3, "drug_exposure_end_datetime", "before"),
    ("death_outside_date_window", _edit("death", 2, "death_datetime", "1800-01-01 00:00:00"),
     "death.csv", 2, "death_datetime", "outside the accepted window"),
    ("assessment_value_empty", _edit("observation", 9, "value_as_string", ""),
     "observation.csv", 9, "value_as_string", "required"),
    ("visit_start_missing", _edit("visit_occurrence", 2, "visit_start_datetime", "not a date"),
     "visit_occurrence.csv", 2, "visit_start_datetime", "not a time"),
    ("duplicate_measurement", _append("measurement", 5),
     "measurement.csv", None, None, "twice"),
    ("required_column_missing", _drop_column("person", "gender_concept_id"),
     "person.csv", 1, "gender_concept_id", "required CDM column is missing"),
    ("person_table_missing", _remove("person"), "cdm", None, None, "no person table"),
    ("two_formats_of_one_table", _both_formats, "death.parquet", None, None, "keep one format"),
    ("not_utf8", _raw("death", b"person_id,death_date\n1,\xff2020-01-01\n"),
     "death.csv", 2, None, "not UTF-8"),
    ("ragged_row", _raw("death", b"person_id,death_date\n1,2020-01-01,extra\n"),
     "death.csv", 2, None, "cells but the header has"),
    ("not_csv", _raw("death", b'person_id,death_date\n"1,2020-01-01\n'),
     "death.csv", None, None, "CSV"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("edit", "file", "row", "field", "reason"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_malformed_cdm_is_refused_and_located(
    tmp_path: Path,
    cdm_dir: Path,
    edit: Callable[[Path], None],
    file: str,
    row: int | None,
    field: str | None,
    reason: str,
) -> None:
    edit(cdm_dir)
    result = read_source(str(cdm_dir), "omop")
    assert result.timelines == []
    hits = [
        p for p in result.problems
        if reason in p.reason and (p.file == file or p.file.endswith(file))
        and (row is None or p.row == row) and (field is None or p.field == field)
    ]  # fmt: skip
    assert hits, "\n".join(str(p) for p in result.problems)
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    try:
        with pytest.raises(ImportValidationError):
            store.import_source(result)
        assert store.counts()["patients"] == 0
    finally:
        store.close()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("duckdb:////no/such/cdm.duckdb", "no such DuckDB file"),
        ("mysql://host/cdm", "unsupported database URL"),
        ("postgresql://nobody@127.0.0.1:1/cdm", "cannot open the database"),
    ],
)
def test_bad_database_urls_are_one_clear_problem(url: str, reason: str) -> None:
    result = read_source(url, "omop")
    assert len(result.problems) == 1
    assert reason in result.problems[0].reason
    assert "Traceback" not in str(result.problems[0])
