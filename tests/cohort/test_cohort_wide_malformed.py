"""A wide spreadsheet with a defect is refused with file, row, column, value and reason.

The wide sheet goes through the same kind of checks as a canonical import (docs/sources.md):
each case names the cell and that no feature table was produced.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from ruxtrack.cohort import load_study, read_wide
from ruxtrack.errors import ImportValidationError

HEADER = "patient_id,age,sex,ferritin_start,ferritin_d8\n"
GOOD = "P1,60,male,2557,1228\n"


def _problems(path: Path) -> list[tuple[int | None, str | None, str | None, str]]:
    with pytest.raises(ImportValidationError) as info:
        read_wide(path, load_study("sarmiento-2021"))
    return [(p.row, p.field, p.value, p.reason) for p in info.value.problems]


CSV_CASES = [
    # (defect, file text, (row, column, value, reason fragment))
    ("non_numeric_marker", HEADER + GOOD + "P2,55,female,high,900\n",
     (3, "ferritin_start", "high", "not a number")),
    ("decimal_comma", HEADER + '"P1","60","male","2557,5","1228"\n',
     (2, "ferritin_start", "2557,5", "use a decimal point")),
    ("non_numeric_age", HEADER + "P1,sixty,male,2557,1228\n", (2, "age", "sixty", "not a number")),
    ("age_500", HEADER + "P1,500,male,2557,1228\n", (2, "age", "500", "0 to 130")),
    ("age_negative", HEADER + "P1,-40,male,2557,1228\n", (2, "age", "-40", "0 to 130")),
    ("missing_patient_id", HEADER + GOOD + ",55,female,900,800\n",
     (3, "patient_id", None, "no patient id")),
    ("duplicate_patient", HEADER + GOOD + "P2,50,male,1,2\nP1,55,female,900,800\n",
     (4, "patient_id", "P1", "appears twice (first in row 2)")),
    ("ferritin_1e308", HEADER + "P1,60,male,1e308,1228\n",
     (2, "ferritin_start", "1e308", "outside the plausible range")),
    ("ferritin_309_digits", HEADER + "P1,60,male," + "9" * 309 + ",1228\n",
     (2, "ferritin_start", None, "not a finite number")),
    ("ferritin_nan", HEADER + "P1,60,male,nan,1228\n", (2, "ferritin_start", "nan", "finite")),
    ("ferritin_inf", HEADER + "P1,60,male,inf,1228\n", (2, "ferritin_start", "inf", "finite")),
    ("negative_platelets", "patient_id,plt_admission\nP1,-5\n",
     (2, "plt_admission", "-5", "outside the plausible range")),
    ("truncated_last_row", HEADER + GOOD + "P2,55,fem", (3, None, None, "cut short")),
    ("extra_cell", HEADER + "P1,60,male,2557,1228,9\n", (2, None, None, "header has 5")),
    ("duplicate_column", "patient_id,age,age\nP1,60,61\n", (1, "age", None, "appears twice")),
    ("misspelt_column", "patient_id,ferritn_start\nP1,2557\n",
     (1, "ferritn_start", None, 'did you mean "ferritin_start"')),
    ("died_maybe", "patient_id,died\nP1,maybe\n", (2, "died", "maybe", "not a yes/no value")),
    ("days_three", "patient_id,days_admission_to_start\nP1,three\n",
     (2, "days_admission_to_start", "three", "not a number")),
    ("days_absurd", "patient_id,days_admission_to_start\nP1,1e12\n",
     (2, "days_admission_to_start", "1e12", "plausible range")),
    ("unknown_group_level", "patient_id,group\nP1,complete_resp\n",
     (2, "group", "complete_resp", 'did you mean "complete_response"')),
    ("bad_boolean_index", "patient_id,has_index\nP1,perhaps\n",
     (2, "has_index", "perhaps", "yes/no")),
    ("fio2_300", "patient_id,fio2__w8\nP1,300\n", (2, "fio2__w8", "300", "21 to 100")),
    ("worst_grade_9", "patient_id,worst_plt_grade\nP1,9\n", (2, "worst_plt_grade", "9", "0 to 5")),
    ("unclosed_quote", HEADER + 'P1,60,male,"2557,1228\n', (None, None, None, "")),
]  # fmt: skip


@pytest.mark.parametrize(("defect", "text", "expected"), CSV_CASES, ids=[c[0] for c in CSV_CASES])
def test_wide_csv_defect_is_located(
    tmp_path: Path, defect: str, text: str, expected: tuple[int | None, str | None, str | None, str]
) -> None:
    path = tmp_path / f"{defect}.csv"
    path.write_text(text, encoding="utf-8")
    problems = _problems(path)
    row, column, value, fragment = expected
    assert any(
        (row is None or p[0] == row)
        and (column is None or p[1] == column)
        and (value is None or p[2] == value)
        and fragment in p[3]
        for p in problems
    ), problems


def test_wide_sheet_without_the_id_column_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "no_id.csv"
    path.write_text("id,age\nP1,60\n", encoding="utf-8")
    assert (1, "patient_id", None, "no patient id column: it is required") in _problems(path)


def test_latin1_sheet_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes((HEADER + "P1,60,m\xe1le,1,2\n").encode("latin-1"))
    ((row, _, _, reason),) = _problems(path)
    assert row == 2 and "not UTF-8" in reason


def _xlsx(path: Path, rows: list[list[object]]) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


@pytest.mark.parametrize(
    ("defect", "make"),
    [
        ("zero_bytes", lambda p: p.write_bytes(b"")),
        ("random_bytes", lambda p: p.write_bytes(bytes(range(256)) * 8)),
        ("csv_renamed", lambda p: p.write_text(HEADER + GOOD, encoding="utf-8")),
        ("zip_without_workbook", lambda p: zipfile.ZipFile(p, "w").writestr("a.txt", "x")),
    ],
)
def test_unreadable_workbook_is_refused(tmp_path: Path, defect: str, make: object) -> None:
    path = tmp_path / f"{defect}.xlsx"
    make(path)  # type: ignore[operator]
    ((row, _, _, reason),) = _problems(path)
    assert row is None and "not a readable Excel workbook" in reason


def test_truncated_workbook_is_refused(tmp_path: Path) -> None:
    good = _xlsx(tmp_path / "good.xlsx", [["patient_id", "age"], ["P1", 60]])
    path = tmp_path / "truncated.xlsx"
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    ((_, _, _, reason),) = _problems(path)
    assert "Excel workbook" in reason or "damaged" in reason


def test_workbook_cell_defects_are_located(tmp_path: Path) -> None:
    path = _xlsx(
        tmp_path / "cells.xlsx",
        [["patient_id", "age", "group"], ["P1", 500, "complete_response"], ["P2", 40, "bogus"]],
    )
    problems = _problems(path)
    assert (2, "age", "500", "outside the plausible range for age in years: 0 to 130") in problems
    assert any(p[:3] == (3, "group", "bogus") for p in problems)


def test_dangling_link_and_folder_are_refused(tmp_path: Path) -> None:
    link = tmp_path / "gone.csv"
    link.symlink_to(tmp_path / "missing.csv")
    assert _problems(link)[0][3] == "a link to a file that does not exist"


def test_blank_cells_are_missing_not_errors(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text(HEADER + "P1,60,male,,1228\n", encoding="utf-8")
    frame = read_wide(path, load_study("sarmiento-2021")).frame
    assert frame["ferritin__start"].isna().all()
    assert frame["ferritin__d8"].tolist() == [1228.0]
