"""A 100,000-row observations file: imported in full, or with one bad row not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from ruxtrack.errors import ImportValidationError
from ruxtrack.store import open_store

N_PATIENTS = 500
N_ROWS = 100_000
BAD_ROW = 73_457  # spreadsheet row: header is row 1
CODES = (("crp", "mg/dL", 12.5), ("plt", "10*9/L", 184.0), ("ferritin", "ng/mL", 1450.0),
         ("ldh", "U/L", 512.0))  # fmt: skip


def _write(folder: Path, bad_row: int | None) -> None:
    folder.mkdir()
    pids = [f"P{i:04d}" for i in range(N_PATIENTS)]
    (folder / "patients.csv").write_text(
        "patient_id,sex,age_years\n" + "".join(f"{p},female,50\n" for p in pids), encoding="utf-8"
    )
    (folder / "events.csv").write_text(
        "patient_id,event,time\n" + "".join(f"{p},admission,2020-04-06T08:00\n" for p in pids),
        encoding="utf-8",
    )
    lines = ["patient_id,time,code,value,unit"]
    for k in range(N_ROWS):
        code, unit, value = CODES[k % len(CODES)]
        row = k + 2
        if row == bad_row:
            code, unit, value = "plt", "/uL", 184.0  # platelets 184 /uL: implausible
        lines.append(f"{pids[k % N_PATIENTS]},admission+{k // N_PATIENTS}d,{code},{value},{unit}")
    (folder / "observations.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.slow
def test_one_bad_row_in_100000_writes_nothing_and_names_that_row(tmp_path: Path) -> None:
    _write(tmp_path / "data", BAD_ROW)
    with open_store(f"sqlite:///{tmp_path / 's.sqlite'}") as store:
        with pytest.raises(ImportValidationError) as info:
            store.import_folder(tmp_path / "data")
        (problem,) = info.value.problems
        assert (problem.file, problem.row, problem.field, problem.value) == (
            "observations.csv",
            BAD_ROW,
            "value",
            "184.0",
        )
        assert "did you mean 184 10*3/uL" in problem.reason
        assert set(store.counts().values()) == {0}


@pytest.mark.slow
def test_100000_rows_import_completely(tmp_path: Path) -> None:
    _write(tmp_path / "data", None)
    progress: list[tuple[int, int]] = []
    with open_store(f"sqlite:///{tmp_path / 's.sqlite'}") as store:
        summary = store.import_folder(
            tmp_path / "data", progress=lambda d, t: progress.append((d, t))
        )
        assert summary.table("observations").inserted == N_ROWS
        assert store.counts()["observations"] == N_ROWS
    assert progress[-1] == (N_PATIENTS * 2 + N_ROWS, N_PATIENTS * 2 + N_ROWS)
