"""The canonical folder: reading, row numbering, Parquet, writing back unchanged."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ruxtrack.errors import ImportValidationError
from ruxtrack.sources import read_folder, resolved_frames, write_folder
from ruxtrack.sources._rows import format_comorbidities, format_number, parse_comorbidities
from ruxtrack.timeline import Comparator

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "canonical"


def _folder(tmp_path: Path, **files: str) -> Path:
    for name, text in files.items():
        (tmp_path / f"{name}.csv").write_text(text, encoding="utf-8")
    return tmp_path


def test_example_folder_reads_into_canonical_units() -> None:
    covid, hsct = read_folder(EXAMPLE)
    crp = covid.series("crp")[0][1]
    assert (crp.value, crp.unit, crp.source_value, crp.source_unit) == (
        142.0,
        "mg/L",
        14.2,
        "mg/dL",
    )
    loinc = covid.observations[-1]
    assert loinc.code == "ferritin"  # given as LOINC 2276-4
    il6 = covid.series("il6")[0][1]
    assert il6.comparator is Comparator.lt and il6.value == 1.5
    assert covid.support[1].fio2 == 60.0  # given as the fraction 0.6
    assert hsct.time_basis == "relative"
    assert hsct.day("rux_start", "hsct", 2) == 74


def test_rows_are_numbered_as_a_spreadsheet_shows_them(tmp_path: Path) -> None:
    folder = _folder(
        tmp_path,
        patients="patient_id,sex\nP1,female\n\nP2,bogus\n",  # a blank line is row 3
    )
    with pytest.raises(ImportValidationError) as info:
        read_folder(folder)
    (p,) = info.value.problems
    assert (p.file, p.row, p.field, p.value) == ("patients.csv", 4, "sex", "bogus")
    assert str(p).startswith('patients.csv, row 4, field `sex` (value "bogus"): unknown sex')


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    folder = _folder(
        tmp_path,
        patients="patient_id,sex\nP1,female\nP2,male\n",
        observations="patient_id,time,code,value,unit\n"
        "P1,2020-01-01,crp,abc,mg/L\nP2,2020-01-32,crp,5,mg/L\nP3,2020-01-01,crp,5,mg/L\n",
    )
    with pytest.raises(ImportValidationError) as info:
        read_folder(folder)
    assert [(p.row, p.field) for p in info.value.problems] == [
        (2, "value"),
        (3, "time"),
        (4, "patient_id"),
    ]


def test_excel_bom_whitespace_and_case_insensitive_vocabularies_are_accepted(
    tmp_path: Path,
) -> None:
    (tmp_path / "patients.csv").write_bytes(
        "\ufeffpatient_id, sex ,synthetic\r\nP1 , F ,TRUE\r\n".encode()
    )
    _folder(
        tmp_path,
        drugs="patient_id,drug,dose,unit,frequency,start,route\nP1,ruxolitinib,5,mg,bid,2020-01-01,IV\n",
    )
    (tl,) = read_folder(tmp_path)
    assert tl.patient.sex.value == "female" and tl.patient.synthetic
    assert tl.drugs[0].frequency.value == "BID" and tl.drugs[0].route.value == "iv"


def test_parquet_with_timestamps_and_numbers_is_read(tmp_path: Path) -> None:
    pq.write_table(pa.table({"patient_id": ["P1"], "sex": ["male"], "age_years": [54.0]}),
                   tmp_path / "patients.parquet")  # fmt: skip
    pq.write_table(
        pa.table({
            "patient_id": ["P1", "P1"],
            "time": pa.array(
                [datetime(2020, 4, 6, 10, 30), datetime(2020, 4, 7)], pa.timestamp("us")
            ),
            "code": ["crp", "plt"],
            "value": [12.5, 184000.0],
            "unit": ["mg/dL", "/uL"],
        }),
        tmp_path / "observations.parquet",
    )  # fmt: skip
    (tl,) = read_folder(tmp_path)
    assert [o.value for o in tl.observations] == [125.0, 184.0]
    assert tl.at(tl.observations[0].time) == datetime(2020, 4, 6, 10, 30)


def test_parquet_timestamps_with_a_utc_offset_are_rejected(tmp_path: Path) -> None:
    pq.write_table(pa.table({"patient_id": ["P1"], "sex": ["male"]}), tmp_path / "patients.parquet")
    pq.write_table(
        pa.table({
            "patient_id": ["P1"], "event": ["admission"],
            "time": pa.array([datetime(2020, 4, 6, 10, 30)], pa.timestamp("us", tz="UTC")),
        }),
        tmp_path / "events.parquet",
    )  # fmt: skip
    with pytest.raises(ImportValidationError) as info:
        read_folder(tmp_path)
    (p,) = info.value.problems
    assert (p.file, p.row, p.field) == ("events.parquet", 2, "time") and "UTC offset" in p.reason


def test_csv_and_parquet_of_the_same_kind_are_ambiguous(tmp_path: Path) -> None:
    write_folder(read_folder(EXAMPLE), tmp_path)
    pq.write_table(pa.table({"patient_id": ["X"], "sex": ["male"]}), tmp_path / "patients.parquet")
    with pytest.raises(ImportValidationError, match="keep one format per file kind"):
        read_folder(tmp_path)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_write_then_read_gives_the_same_timelines(tmp_path: Path, fmt: str) -> None:
    original = read_folder(EXAMPLE)
    files = write_folder(original, tmp_path, format=fmt)  # type: ignore[arg-type]
    assert sorted(files) == sorted(
        ["patients", "events", "observations", "drugs", "support", "assessments"]
    )
    assert read_folder(tmp_path) == original


def test_resolved_frames_hold_canonical_values_and_resolved_times() -> None:
    frames = resolved_frames(read_folder(EXAMPLE))
    obs = frames["observations"]
    crp = obs[(obs.patient_id == "EX-COVID-01") & (obs.code == "crp")].iloc[0]
    assert (crp.value, crp.unit, crp.source_value, crp.t) == (
        142.0,
        "mg/L",
        14.2,
        datetime(2020, 4, 6, 14, 20),
    )
    assert str(obs["t"].dtype) == "datetime64[ns]"
    drugs = frames["drugs"]
    assert drugs["t_end"].notna().all()
    assert list(frames["patients"].time_basis) == ["absolute", "relative"]


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_numbers_are_written_so_they_read_back_exactly(x: float) -> None:
    assert float(format_number(x)) == x or (x == 0 and math.copysign(1, x) < 0)


@given(
    st.lists(
        st.tuples(
            st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True),
            st.one_of(st.none(), st.from_regex(r"[A-Z][0-9]{2}(\.[0-9])?", fullmatch=True)),
            st.sampled_from(["ICD10", "SNOMED", None]),
        ),
        max_size=4,
    )
)
def test_comorbidities_round_trip(items: list[tuple[str, str | None, str | None]]) -> None:
    text = "; ".join(
        n if c is None else (f"{n}={c}" if s is None else f"{n}={s}:{c}") for n, c, s in items
    )
    parsed = parse_comorbidities(text)
    assert parse_comorbidities(format_comorbidities(parsed) or "") == parsed
