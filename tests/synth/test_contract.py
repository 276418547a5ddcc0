"""Generated folders are valid canonical folders (docs/data-format.md)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ruxtrack.sources import FILES, read_folder
from ruxtrack.synth import generate


def test_csv_output_reads_back_with_read_folder(csv_200: Path) -> None:
    timelines = read_folder(csv_200)
    assert len(timelines) == 200
    assert all(t.patient.synthetic for t in timelines)
    assert [t.patient.patient_id for t in timelines[:2]] == ["SYN-001", "SYN-002"]
    for t in timelines:
        assert t.anchor("rux_start") is not None and t.anchor("admission") is not None
        assert t.time_basis == "absolute"


def test_parquet_output_reads_back_with_read_folder(tmp_path: Path) -> None:
    generate(60, seed=2, out_dir=tmp_path, format="parquet")
    timelines = read_folder(tmp_path)
    assert len(timelines) == 60
    ferritin = [o for t in timelines for o in t.observations if o.code == "ferritin"]
    assert ferritin and all(o.unit == "ug/L" for o in ferritin)


@pytest.mark.parametrize("name", list(FILES))
def test_csv_columns_are_the_contract_columns_in_order(csv_200: Path, name: str) -> None:
    with (csv_200 / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    assert tuple(header) == FILES[name].column_names
