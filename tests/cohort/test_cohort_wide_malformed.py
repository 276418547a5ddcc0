"""A wide spreadsheet with a defect fails with file, row, column and reason (docs/cohort.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ruxtrack.cohort import load_study, read_wide
from ruxtrack.errors import AnalysisError

HEADER = "patient_id,age,sex,ferritin_start,ferritin_d8\n"


@pytest.mark.parametrize(
    ("defect", "body", "message"),
    [
        (
            "non_numeric_marker",
            "P1,60,male,2557,1228\nP2,55,female,high,900\n",
            "row 3, column 'ferritin_start' (ferritin__start): 'high' is not a number",
        ),
        (
            "non_numeric_age",
            "P1,sixty,male,2557,1228\n",
            "row 2, column 'age' (age): 'sixty' is not a number",
        ),
        (
            "missing_patient_id",
            "P1,60,male,2557,1228\n,55,female,900,800\n",
            "row 3: no patient id",
        ),
        (
            "duplicate_patient",
            "P1,60,male,2557,1228\nP2,50,male,1,2\nP1,55,female,900,800\n",
            "rows 2, 4: patient P1 appears more than once",
        ),
    ],
)
def test_wide_sheet_defect_is_named(tmp_path: Path, defect: str, body: str, message: str) -> None:
    path = tmp_path / f"{defect}.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    with pytest.raises(AnalysisError) as info:
        read_wide(path, load_study("sarmiento-2021"))
    assert str(info.value) == f"{path}: {message}"


def test_wide_sheet_without_the_id_column_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "no_id.csv"
    path.write_text("id,age\nP1,60\n", encoding="utf-8")
    with pytest.raises(AnalysisError, match="no patient id column 'patient_id'"):
        read_wide(path, load_study("sarmiento-2021"))


def test_blank_cells_are_missing_not_errors(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text(HEADER + "P1,60,male,,1228\n", encoding="utf-8")
    frame = read_wide(path, load_study("sarmiento-2021")).frame
    assert frame["ferritin__start"].isna().all()
    assert frame["ferritin__d8"].tolist() == [1228.0]
