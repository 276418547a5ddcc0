"""The public surface of ruxtrack.stats is what we meant, and results are frozen and JSON-safe."""

from __future__ import annotations

import dataclasses
import json

import pytest

import ruxtrack.stats as stats_api
from ruxtrack.stats import StatisticalWarning, fisher_exact, friedman_test, summarize_numeric

EXPECTED = {
    "ApproximationWarning",
    "CategoricalSummary",
    "ChiSquaredResult",
    "CumulativeIncidenceCurve",
    "CumulativeIncidenceResult",
    "DunnComparison",
    "FirthCoefficient",
    "FirthLogisticResult",
    "FisherResult",
    "FriedmanResult",
    "GrayTestResult",
    "GroupSize",
    "KaplanMeierCurve",
    "KaplanMeierResult",
    "KruskalWallisResult",
    "LogRankGroup",
    "LogRankResult",
    "NumericSummary",
    "PairedComparison",
    "Proportion",
    "RankSumResult",
    "SignedRankResult",
    "SmallSampleWarning",
    "StatisticalWarning",
    "adjust_pvalues",
    "chisq_test",
    "cumulative_incidence",
    "firth_logistic",
    "fisher_exact",
    "friedman_test",
    "gray_test",
    "kaplan_meier",
    "kruskal_wallis",
    "logrank_test",
    "mann_whitney",
    "proportion",
    "summarize_binary",
    "summarize_categorical",
    "summarize_numeric",
    "wilcoxon_signed_rank",
}


def test_public_surface_is_exactly_all() -> None:
    assert set(stats_api.__all__) == EXPECTED
    for name in EXPECTED:
        assert getattr(stats_api, name).__module__.startswith("ruxtrack.stats")


def test_results_are_frozen() -> None:
    s = summarize_numeric([1.0, 2.0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.median = 3.0  # type: ignore[misc]


def test_nested_result_round_trips_through_json() -> None:
    import pandas as pd

    df = pd.DataFrame(
        {"a": [1.0, 2.0, 3.0, 4.0], "b": [2.0, 3.5, 3.0, 6.0], "c": [0.5, 1.0, 4.0, 2.0]}
    )
    with pytest.warns(StatisticalWarning):
        r = friedman_test(df)
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert d["result_type"] == "FriedmanResult"
    assert d["posthoc"][0]["result_type"] == "PairedComparison"
    assert d["n"] == 4 and d["time_points"] == ["a", "b", "c"]


def test_every_result_names_its_method() -> None:
    assert fisher_exact([[1, 2], [3, 4]]).method
    assert "type 7" in summarize_numeric([1.0]).quantile_method
