"""The benchmark compares equal work: Ibis, the hand-written DuckDB SQL floor and the pandas
baseline return identical base feature tables on a synthetic cohort."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from ruxtrack.cohort import extract_base, load_study, open_tables
from ruxtrack.cohort._features import _to_pandas

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.cohort_floor import conform, floor_features
from benchmarks.cohort_pandas import pandas_features


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ruxtrack.synth import generate

    out = tmp_path_factory.mktemp("synth300")
    generate(300, seed=7, out_dir=out, format="parquet")
    return out


@pytest.fixture(scope="module")
def ibis_frame(cohort: Path) -> pd.DataFrame:
    study = load_study("sarmiento-2021")
    expr = extract_base(open_tables(cohort), study).order_by("patient_id")
    return conform(_to_pandas(expr), study)


def test_synthetic_cohort_fills_every_kind_of_feature(ibis_frame: pd.DataFrame) -> None:
    # The comparison below is only meaningful if every family of columns carries values.
    assert len(ibis_frame) == 300
    for col in (
        "ferritin__d8",
        "il6__admission",
        "imaging_w8",
        "swab_w8",
        "support__start",
        "fio2__start",
        "worst_plt_grade",
        "group",
        "day_death",
        "age",
    ):
        assert ibis_frame[col].notna().any(), col
    assert ibis_frame["prior_tocilizumab"].any() and not ibis_frame["prior_tocilizumab"].all()


@pytest.mark.parametrize("other", ["sql_floor", "pandas"])
def test_benchmark_implementations_return_the_ibis_feature_table(
    cohort: Path, ibis_frame: pd.DataFrame, other: str
) -> None:
    study = load_study("sarmiento-2021")
    raw = floor_features(cohort, study) if other == "sql_floor" else pandas_features(cohort, study)
    frame = conform(raw, study)
    assert list(frame.columns) == list(ibis_frame.columns)
    pd.testing.assert_frame_equal(frame, ibis_frame, check_exact=True)


def test_a_changed_value_is_seen_by_the_comparison(ibis_frame: pd.DataFrame) -> None:
    changed = ibis_frame.copy()
    row = int(changed["ferritin__d8"].first_valid_index())  # type: ignore[arg-type]
    changed.loc[row, "ferritin__d8"] += 1e-9
    with pytest.raises(AssertionError):
        pd.testing.assert_frame_equal(changed, ibis_frame, check_exact=True)
