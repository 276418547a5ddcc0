"""Malformed Parquet files in a canonical folder: refused with file, row, column, reason; the
store stays empty."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ruxtrack.errors import ImportValidationError
from ruxtrack.store import open_store

PATIENTS = {"patient_id": ["P1"], "sex": ["female"]}
EVENTS = {"patient_id": ["P1"], "event": ["admission"], "time": ["2021-03-01"]}
BEYOND_9999_US = 253402300800 * 1_000_000 * 2


def _events(**cols: object) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        pq.write_table(pa.table(PATIENTS), folder / "patients.parquet")
        pq.write_table(pa.table({**EVENTS, **cols}), folder / "events.parquet")  # type: ignore[arg-type]

    return make


def _drugs(**cols: object) -> Callable[[Path], None]:
    base: dict[str, object] = {
        "patient_id": ["P1"], "drug": ["ruxolitinib"], "dose": [5.0], "unit": ["mg"],
        "frequency": ["BID"], "start": ["admission"],
    }  # fmt: skip

    def make(folder: Path) -> None:
        _events()(folder)
        table = {k: v for k, v in {**base, **cols}.items() if v is not None}
        pq.write_table(pa.table(table), folder / "drugs.parquet")  # type: ignore[arg-type]

    return make


def _raw(data: bytes) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        (folder / "patients.parquet").write_bytes(data)

    return make


def _truncated(folder: Path) -> None:
    _events()(folder)
    target = folder / "events.parquet"
    target.write_bytes(target.read_bytes()[:40])


def _both_formats(folder: Path) -> None:
    _events()(folder)
    (folder / "events.csv").write_text("patient_id,event,time\n", encoding="utf-8")


TS = pa.timestamp("us")
CASES: list[tuple[str, Callable[[Path], None], tuple[str, int | None, str | None, str]]] = [
    ("timestamp_beyond_9999", _events(time=pa.array([BEYOND_9999_US], TS)),
     ("events.parquet", 2, "time", "beyond what can be read")),
    ("date32_beyond_9999", _events(time=pa.array([3_000_000], pa.date32())),
     ("events.parquet", 2, "time", "beyond what can be read")),
    ("timestamp_year_9000", _events(time=pa.array([221845392000 * 1_000_000], TS)),
     ("events.parquet", 2, "time", "outside the accepted window")),
    ("date_year_0001", _events(time=pa.array([-719162], pa.date32())),
     ("events.parquet", 2, "time", "outside the accepted window")),
    ("list_column", _events(time=pa.array([[1]])),
     ("events.parquet", None, "time", "is not read")),
    ("struct_column", _events(time=pa.array([{"a": 1}])),
     ("events.parquet", None, "time", "is not read")),
    ("binary_column", _events(time=pa.array([b"x"], pa.binary())),
     ("events.parquet", None, "time", "is not read")),
    ("zero_bytes", _raw(b""), ("patients.parquet", None, None, "not a readable Parquet file")),
    ("random_bytes", _raw(bytes(range(256))), ("patients.parquet", None, None, "not a readable")),
    ("csv_renamed", _raw(b"patient_id,sex\nP1,female\n"),
     ("patients.parquet", None, None, "not a readable")),
    ("truncated", _truncated, ("events.parquet", None, None, "not a readable")),
    ("unknown_column", _events(bogus=["x"]), ("events.parquet", 1, "bogus", "unknown column")),
    ("missing_required_column", _drugs(dose=None), ("drugs.parquet", 1, "dose", "required column")),
    ("null_patient_id", _events(patient_id=pa.array([None], pa.string())),
     ("events.parquet", 2, "patient_id", "required value is missing")),
    ("nan_dose", _drugs(dose=[float("nan")]), ("drugs.parquet", 2, "dose", "required value")),
    ("inf_dose", _drugs(dose=[float("inf")]), ("drugs.parquet", 2, "dose", "not a number")),
    ("negative_dose", _drugs(dose=[-5.0]), ("drugs.parquet", 2, "dose", "")),
    ("ruxolitinib_30mg", _drugs(dose=[30.0]), ("drugs.parquet", 2, "dose", "label maximum")),
    ("dose_600000", _drugs(drug=["dexamethasone"], dose=[600000.0]),
     ("drugs.parquet", 2, "dose", "largest plausible dose")),
    ("int_as_unit", _drugs(unit=pa.array([5], pa.int64())),
     ("drugs.parquet", 2, "unit", "unknown dose unit")),
    ("fractional_occurrence", _events(occurrence=[1.5]),
     ("events.parquet", 2, "occurrence", "whole number")),
    ("both_formats", _both_formats, ("events.parquet", None, None, "keep one format")),
    ("markup_value", _events(event=["[/x]"]), ("events.parquet", 2, "event", "event name")),
]  # fmt: skip


@pytest.mark.parametrize(("defect", "make", "expected"), CASES, ids=[c[0] for c in CASES])
def test_malformed_parquet_is_refused_and_nothing_written(
    tmp_path: Path,
    defect: str,
    make: Callable[[Path], None],
    expected: tuple[str, int | None, str | None, str],
) -> None:
    folder = tmp_path / defect
    folder.mkdir()
    make(folder)
    store = open_store(tmp_path / "store.sqlite")
    with pytest.raises(ImportValidationError) as info:
        store.import_folder(folder)
    assert set(store.counts().values()) == {0}
    store.close()
    file, row, field, fragment = expected
    found = [(p.file, p.row, p.field, p.reason) for p in info.value.problems]
    assert any(
        f == file
        and (row is None or r == row)
        and (field is None or c == field)
        and fragment in why
        for f, r, c, why in found
    ), found
