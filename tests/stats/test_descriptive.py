"""Descriptives against R 4.2.2 (reference/descriptive.R -> descriptive.Rout)."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stats_reference import read_reference

from ruxtrack.errors import AnalysisError
from ruxtrack.stats import proportion, summarize_binary, summarize_categorical, summarize_numeric


def test_ozone_median_iqr_range_match_r_type7() -> None:
    """R: quantile(airquality$Ozone, c(.25, .5, .75), type = 7, na.rm = TRUE) = 18, 31.5, 63.25."""
    ozone = read_reference("airquality_ozone_month.csv")["Ozone"]
    s = summarize_numeric(ozone)
    assert (s.n, s.n_missing) == (116, 37)
    assert (s.median, s.q1, s.q3, s.minimum, s.maximum) == (31.5, 18.0, 63.25, 1.0, 168.0)
    assert "type 7" in s.quantile_method


def test_quantile_type6_differs_as_r() -> None:
    """R: quantile(..., type = 6) gives Q3 = 63.75 on the same data (SPSS/Prism convention)."""
    ozone = read_reference("airquality_ozone_month.csv")["Ozone"]
    s = summarize_numeric(ozone, quantile_type=6)
    assert (s.q1, s.q3) == (18.0, 63.75)


def test_small_sample_quartiles_match_r() -> None:
    """R: quantile(c(2.9, 3.0, 2.5, 2.6, 3.2, 3.8), c(.25, .75)) = 2.675, 3.150."""
    s = summarize_numeric([2.9, 3.0, 2.5, 2.6, 3.2, 3.8])
    assert s.q1 == pytest.approx(2.675, rel=1e-12)
    assert s.q3 == pytest.approx(3.15, rel=1e-12)


@pytest.mark.parametrize(
    ("count", "n", "cp", "wilson"),
    [
        (10, 18, (0.307571658998756, 0.7846984926127), (0.337164156420428, 0.754404818729943)),
        (0, 18, (0.0, 0.185301968137852), (0.0, 0.175879223646658)),
        (18, 18, (0.814698031862148, 1.0), (0.824120776353342, 1.0)),
        (3, 10, (0.0667395111777345, 0.652452850059997), (0.107791267406301, 0.603221852538855)),
        (7, 25, (0.120716688504067, 0.493876821806255), (0.142838538509566, 0.475766051903616)),
    ],
)
def test_proportion_cis_match_binom_test_and_prop_test(
    count: int, n: int, cp: tuple[float, float], wilson: tuple[float, float]
) -> None:
    """R: binom.test(x, n)$conf.int (Clopper-Pearson); prop.test(x, n, correct = FALSE)$conf.int."""
    exact = proportion(count, n, method="clopper-pearson")
    score = proportion(count, n)
    assert (exact.ci_low, exact.ci_high) == pytest.approx(cp, rel=1e-9, abs=1e-12)
    assert (score.ci_low, score.ci_high) == pytest.approx(wilson, rel=1e-9, abs=1e-12)
    assert "Wilson" in score.ci_method
    assert "Clopper-Pearson" in exact.ci_method


def test_binary_summary_excludes_missing_from_denominator() -> None:
    p = summarize_binary([True, True, False, None, float("nan")])
    assert (p.count, p.n, p.n_missing) == (2, 3, 2)
    assert p.proportion == pytest.approx(2 / 3)


def test_binary_summary_rejects_non_binary_codes() -> None:
    with pytest.raises(AnalysisError, match="True/False or 1/0"):
        summarize_binary([0, 1, 2])


def test_categorical_summary_keeps_empty_levels_and_counts_not_available() -> None:
    """Sarmiento 2021 Table 1 blood groups: A 6, B 3, AB 2, O 4, not available 3 (of 18)."""
    groups = ["A"] * 6 + ["B"] * 3 + ["AB"] * 2 + ["O"] * 4 + [None] * 3
    s = summarize_categorical(groups, levels=["A", "B", "AB", "O", "Rh-null"])
    assert (s.n, s.n_missing) == (15, 3)
    assert [(p.label, p.count, p.n) for p in s.levels] == [
        ("A", 6, 15),
        ("B", 3, 15),
        ("AB", 2, 15),
        ("O", 4, 15),
        ("Rh-null", 0, 15),
    ]


def test_summary_of_all_missing_reports_zero_n() -> None:
    s = summarize_numeric([None, None])
    assert (s.n, s.n_missing) == (0, 2)
    assert math.isnan(s.median)
    assert s.to_dict()["median"] is None


def test_non_numeric_values_raise_analysis_error() -> None:
    with pytest.raises(AnalysisError, match="numeric"):
        summarize_numeric(["high", "low"])


def test_to_dict_is_json_serialisable() -> None:
    d = summarize_numeric([1.0, 2.0, 3.0]).to_dict()
    assert d["result_type"] == "NumericSummary"
    json.dumps(d, allow_nan=False)


@given(
    st.integers(min_value=1, max_value=500).flatmap(
        lambda n: st.tuples(st.integers(0, n), st.just(n))
    )
)
def test_proportion_ci_contains_estimate_and_lies_in_unit_interval(cn: tuple[int, int]) -> None:
    count, n = cn
    for method in ("wilson", "clopper-pearson"):
        p = proportion(count, n, method=method)  # type: ignore[arg-type]
        assert 0.0 <= p.ci_low <= p.proportion <= p.ci_high <= 1.0
