"""Per-patient features on the query engine: time points, tie rule, derived variables."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

import pandas as pd
import pytest
from conftest import TOMOMASA_CASE

from ruxtrack.cohort import compute_features, open_tables, read_wide


def _tiny(obs_hours: list[tuple[float, float]]) -> dict[str, pd.DataFrame]:
    start = datetime(2020, 5, 10, 12)
    return {
        "patients": pd.DataFrame(
            [{"patient_id": "P1", "sex": "male", "age_years": 50.0, "age_at": "admission"}]
        ),
        "events": pd.DataFrame(
            [
                {
                    "patient_id": "P1",
                    "event": "admission",
                    "occurrence": 1,
                    "t": start - timedelta(days=4),
                },
                {
                    "patient_id": "P1",
                    "event": "covid_positive",
                    "occurrence": 1,
                    "t": start - timedelta(days=7),
                },
                {"patient_id": "P1", "event": "rux_start", "occurrence": 1, "t": start},
            ]
        ),
        "observations": pd.DataFrame(
            [
                {
                    "patient_id": "P1",
                    "t": start + timedelta(days=8, hours=h),
                    "code": "ferritin",
                    "value": v,
                    "unit": "ug/L",
                }
                for h, v in obs_hours
            ]
        ),
    }


def test_nearest_value_in_window_earlier_wins_a_tie(sarmiento) -> None:
    ft = compute_features(open_tables(_tiny([(-24, 111.0), (24, 999.0), (60, 5.0)])), sarmiento)
    assert ft.frame.loc[0, "ferritin__d8"] == 111.0


def test_value_outside_the_window_is_missing_not_zero(sarmiento) -> None:
    ft = compute_features(open_tables(_tiny([(24 * 5, 50.0)])), sarmiento)
    assert pd.isna(ft.frame.loc[0, "ferritin__d8"])


def test_early_start_counts_calendar_days_from_first_positive_test(sarmiento) -> None:
    ft = compute_features(open_tables(_tiny([])), sarmiento)
    row = ft.frame.loc[0]
    assert row["days_positive_to_start"] == 7 and bool(row["early_start"])
    assert row["days_admission_to_start"] == 4
    assert row["age"] == pytest.approx(50 + 4 / 365.25)


def test_toy_cohort_features_match_the_records(sarmiento, toy) -> None:
    ft = compute_features(open_tables(toy), sarmiento)
    f = ft.frame.set_index("patient_id")
    assert ft.n_read == ft.n_included == 18
    assert f["group"].value_counts().to_dict() == {
        "complete_response": 10,
        "late_responder": 5,
        "progression": 3,
    }
    assert f["il6__admission"].notna().sum() == 9  # IL-6 only in half, as the seed
    assert f.loc["S16", "support__w8"] == "imv" and f.loc["S16", "support_w8_state"] == "deceased"
    assert f.loc["S01", "prior_tocilizumab"] and not f.loc["S02", "prior_tocilizumab"]
    assert f.loc["S01", "comorb_hypertension"] and not f.loc["S01", "comorb_diabetes_mellitus"]
    assert f.loc["S04", "worst_plt_grade"] == 3


def test_relative_day_case_report_reads_through_the_canonical_reader() -> None:
    from ruxtrack.cohort import load_study

    ft = compute_features(open_tables(TOMOMASA_CASE), load_study("tomomasa-2021"))
    row = ft.frame.loc[0]
    assert row["day_hsct_2"] == -74 and row["support__start"] == "hfnc"
    assert row["age"] == pytest.approx(11 + 74 / 365.25)


def test_wide_spreadsheet_gives_the_same_derived_variables(sarmiento, toy, tmp_path) -> None:
    long = compute_features(open_tables(toy), sarmiento).frame
    cols = ["patient_id", "age", "sex", "group", "days_positive_to_start"] + [
        c for c in long.columns if "__" in c and not c.startswith(("support", "fio2"))
    ]
    sheet = long[cols].copy()
    sheet.columns = [c.replace("__", "_") for c in cols]
    path = tmp_path / "wide.xlsx"
    sheet.to_excel(path, index=False)
    wide = read_wide(path, sarmiento).frame
    for col in ("resolution", "early_start", "ferritin_fall50", "age_cat"):
        assert wide[col].tolist() == long[col].tolist(), col


@pytest.mark.spark
def test_duckdb_and_pyspark_give_identical_feature_tables(sarmiento, toy) -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("pyspark not installed (the [spark] extra)")
    from ruxtrack.cohort import connect_engine

    duck = compute_features(open_tables(toy), sarmiento).all_patients
    con = connect_engine("pyspark")
    try:
        spark = compute_features(
            open_tables(toy, engine="pyspark", con=con), sarmiento
        ).all_patients
    finally:
        con._session.stop()  # type: ignore[attr-defined]
    pd.testing.assert_frame_equal(duck, spark[duck.columns], check_exact=False, rtol=1e-12)
