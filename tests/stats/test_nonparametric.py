"""Rank tests against R 4.2.2 help-page examples (reference/nonparametric.R -> .Rout)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from stats_reference import read_reference
from statsmodels.stats.multitest import multipletests

from ruxtrack.errors import AnalysisError
from ruxtrack.stats import (
    ApproximationWarning,
    SmallSampleWarning,
    adjust_pvalues,
    friedman_test,
    kruskal_wallis,
    mann_whitney,
    wilcoxon_signed_rank,
)

REL = 1e-9  # R printed with 15 significant digits; these are deterministic

DEPRESSION_X = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
DEPRESSION_Y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
MUCOCILIARY = {
    "x": [2.9, 3.0, 2.5, 2.6, 3.2],
    "y": [3.8, 2.7, 4.0, 2.4],
    "z": [2.8, 3.4, 3.7, 2.2, 2.0],
}


def test_friedman_rounding_times_matches_r_help(rounding_times: pd.DataFrame) -> None:
    """?friedman.test, RoundingTimes (Hollander & Wolfe 1973, p. 140ff):
    Friedman chi-squared = 11.143, df = 2, p-value = 0.003805; pairwise.wilcox.test(paired =
    TRUE, holm): 0.3665 / 0.0293 / 0.0058, all three by the normal approximation (ties)."""
    with pytest.warns(ApproximationWarning):
        r = friedman_test(rounding_times)
    assert r.statistic == pytest.approx(11.1428571428571, rel=REL)
    assert r.p_value == pytest.approx(0.00380504077551136, rel=REL)
    assert (r.df, r.n, r.n_dropped) == (2, 22, 0)
    expected = {
        ("Round Out", "Narrow Angle"): (106.5, 0.366520998798431, 0.3665209987984313),
        ("Round Out", "Wide Angle"): (202.0, 0.0146318425836033, 0.0292636851672066),
        ("Narrow Angle", "Wide Angle"): (222.0, 0.0019284643028821, 0.0057853929086463),
    }
    for c in r.posthoc:
        v, p, p_holm = expected[(c.a, c.b)]
        assert c.statistic == v
        assert c.p_value == pytest.approx(p, rel=REL)
        assert c.p_adjusted == pytest.approx(p_holm, rel=REL)
        assert (
            c.method == "Wilcoxon signed-rank test, normal approximation with continuity correction"
        )
    assert r.p_adjust_method.startswith("Holm")


def test_friedman_exact_posthoc_on_tie_free_data() -> None:
    """reference/nonparametric.R, depression3 (the ?wilcox.test depression pairs plus a third,
    tie-free time point): Friedman chi-squared = 14.889, p = 0.000584681; pairwise exact
    signed-rank p (Holm) = 0.0390625, 0.01171875, 0.01171875."""
    df = read_reference("depression3.csv")
    with pytest.warns(SmallSampleWarning, match="n = 9"):
        r = friedman_test(df)
    assert r.statistic == pytest.approx(14.8888888888889, rel=REL)
    assert r.p_value == pytest.approx(0.000584680832876515, rel=REL)
    assert [c.p_adjusted for c in r.posthoc] == pytest.approx([0.0390625, 0.01171875, 0.01171875])
    assert {c.method for c in r.posthoc} == {"Wilcoxon signed-rank test, exact"}


def test_friedman_uses_complete_cases_and_reports_dropped(rounding_times: pd.DataFrame) -> None:
    df = rounding_times.copy()
    df.iloc[0, 1] = np.nan
    df.iloc[5, 2] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ApproximationWarning)
        r = friedman_test(df)
        direct = friedman_test(rounding_times.drop(index=[0, 5]))
    assert (r.n, r.n_dropped) == (20, 2)
    assert r.statistic == direct.statistic


def test_friedman_needs_two_complete_cases() -> None:
    with pytest.raises(AnalysisError, match="complete cases"):
        friedman_test(pd.DataFrame({"a": [1.0, np.nan], "b": [2.0, 3.0], "c": [1.0, 1.0]}))


def test_signed_rank_depression_matches_r_help() -> None:
    """?wilcox.test (Hollander & Wolfe 1973, p. 29f): V = 40, p-value = 0.01953 (greater);
    two-sided 0.0390625; "Wilcoxon signed rank exact test"."""
    r = wilcoxon_signed_rank(DEPRESSION_X, DEPRESSION_Y, alternative="greater")
    assert (r.statistic, r.exact, r.n) == (40.0, True, 9)
    assert r.p_value == pytest.approx(0.01953125, rel=REL)
    assert wilcoxon_signed_rank(DEPRESSION_X, DEPRESSION_Y).p_value == pytest.approx(0.0390625)


def test_signed_rank_drops_incomplete_pairs() -> None:
    r = wilcoxon_signed_rank([*DEPRESSION_X, None], [*DEPRESSION_Y, 1.0])
    assert (r.n, r.n_incomplete_pairs) == (9, 1)
    assert r.p_value == pytest.approx(0.0390625)


def test_signed_rank_with_zero_difference_falls_back_with_warning() -> None:
    with pytest.warns(ApproximationWarning, match="zero differences"):
        r = wilcoxon_signed_rank([1.0, 2.0, 3.5, 4.0, 7.0], [1.0, 1.0, 1.0, 1.0, 1.0])
    assert (r.exact, r.n, r.n_zero_differences) == (False, 4, 1)


def test_rank_sum_permeability_matches_r_help() -> None:
    """?wilcox.test (Hollander & Wolfe 1973, p. 69f): W = 35, p-value = 0.1272 (greater),
    "Wilcoxon rank sum exact test"; two-sided 0.254412254412254."""
    x = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
    y = [1.15, 0.88, 0.90, 0.74, 1.21]
    r = mann_whitney(x, y, alternative="greater")
    assert (r.statistic, r.exact, r.n_x, r.n_y) == (35.0, True, 10, 5)
    assert r.p_value == pytest.approx(0.127206127206127, rel=REL)
    assert mann_whitney(x, y).p_value == pytest.approx(0.254412254412254, rel=REL)


def test_rank_sum_airquality_with_ties_matches_r(airquality: pd.DataFrame) -> None:
    """?wilcox.test: wilcox.test(Ozone ~ Month, data = airquality, subset = Month %in% c(5, 8)):
    W = 127.5, p-value = 0.0001208, with continuity correction (ties)."""
    may = airquality.loc[airquality.Month == 5, "Ozone"]
    aug = airquality.loc[airquality.Month == 8, "Ozone"]
    with pytest.warns(ApproximationWarning, match="ties"):
        r = mann_whitney(may, aug)
    assert r.statistic == 127.5
    assert r.p_value == pytest.approx(0.000120807830768774, rel=REL)
    assert (r.n_x, r.n_missing_x, r.n_y, r.n_missing_y) == (26, 5, 26, 5)
    assert r.method.endswith("normal approximation with continuity correction")


def test_rank_sum_stays_exact_between_9_and_49_per_group() -> None:
    """scipy's 'auto' would switch to the normal approximation above 8 per group; R does not."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=20), rng.normal(size=25) + 0.5
    assert mann_whitney(x, y).exact
    assert not mann_whitney(rng.normal(size=50), rng.normal(size=10)).exact


def test_kruskal_mucociliary_matches_r_help() -> None:
    """?kruskal.test (Hollander & Wolfe 1973, p. 116): Kruskal-Wallis chi-squared = 0.77143,
    df = 2, p-value = 0.68; Dunn z (reference/nonparametric.R, Dunn 1964 formula) -0.6414,
    0.2268, 0.8552 with Holm-adjusted p = 1."""
    values = [v for g in MUCOCILIARY.values() for v in g]
    groups = [k for k, g in MUCOCILIARY.items() for _ in g]
    with pytest.warns(SmallSampleWarning, match="y: n = 4"):
        r = kruskal_wallis(values, groups)
    assert r.statistic == pytest.approx(0.771428571428572, rel=REL)
    assert r.p_value == pytest.approx(0.679964773578894, rel=REL)
    assert [c.z for c in r.posthoc] == pytest.approx(
        [-0.641426980589818, 0.226778683805537, 0.855235974119758], rel=REL
    )
    assert [c.p_value for c in r.posthoc] == pytest.approx(
        [0.521245308114815, 0.820595839755441, 0.392420524476582], rel=REL
    )
    assert [c.p_adjusted for c in r.posthoc] == [1.0, 1.0, 1.0]
    assert [(g.group, g.n) for g in r.groups] == [("x", 5), ("y", 4), ("z", 5)]


def test_kruskal_airquality_with_dunn_holm_matches_r(airquality: pd.DataFrame) -> None:
    """?kruskal.test: kruskal.test(Ozone ~ Month, data = airquality): chi-squared = 29.267,
    df = 4, p-value = 6.901e-06; Dunn (1964) z and Holm p from reference/nonparametric.R."""
    r = kruskal_wallis(airquality["Ozone"], airquality["Month"])
    assert r.statistic == pytest.approx(29.2665763061169, rel=REL)
    assert r.p_value == pytest.approx(6.90071411854678e-06, rel=REL)
    assert (r.n, r.n_missing, r.df) == (116, 37, 4)
    expected = {
        (5, 7): (-4.41947064061155626, 9.89429615000047e-06, 9.89429615000046e-05),
        (5, 8): (-4.13281342220511227, 3.58349614331419e-05, 3.22514652898277e-04),
        (6, 9): (0.00253855526952261, 9.97974528119149e-01, 1.0),
        (7, 9): (3.21719912427735721, 1.29448721645086e-03, 1.03558977316069e-02),
        (8, 9): (2.92282777777952330, 3.46868316114938e-03, 2.42807821280457e-02),
        (6, 7): (-2.24420803239467226, 2.48190194704221e-02, 1.48914116822533e-01),
    }
    got = {(int(c.a), int(c.b)): c for c in r.posthoc}
    assert len(got) == 10
    for pair, (z, p, p_holm) in expected.items():
        assert got[pair].z == pytest.approx(z, rel=REL)
        assert got[pair].p_value == pytest.approx(p, rel=1e-7)
        assert got[pair].p_adjusted == pytest.approx(p_holm, rel=1e-7)


def test_kruskal_rejects_single_group() -> None:
    with pytest.raises(AnalysisError, match="at least 2 groups"):
        kruskal_wallis([1.0, 2.0, 3.0], ["a", "a", "a"])


def test_holm_matches_r_p_adjust() -> None:
    """R: p.adjust(c(0.01, 0.04, 0.03, 0.005, 0.2), "holm") = 0.04 0.09 0.09 0.025 0.2."""
    got = adjust_pvalues([0.01, 0.04, 0.03, 0.005, 0.2])
    assert got.tolist() == pytest.approx([0.04, 0.09, 0.09, 0.025, 0.2])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=20))
def test_adjustments_equal_statsmodels_multipletests(p: list[float]) -> None:
    for ours, theirs in (("holm", "holm"), ("bonferroni", "bonferroni"), ("BH", "fdr_bh")):
        expected = multipletests(p, method=theirs)[1]
        assert adjust_pvalues(p, ours).tolist() == pytest.approx(expected.tolist(), rel=1e-12)  # type: ignore[arg-type]


@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=20))
def test_holm_is_monotone_in_the_raw_order_and_never_below_raw(p: list[float]) -> None:
    adj = adjust_pvalues(p)
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(adj[order]) >= -1e-15)
    assert np.all(adj >= np.asarray(p) - 1e-15)
    assert np.all(adj <= 1.0)


group_data = st.lists(
    st.tuples(st.integers(0, 30).map(float), st.sampled_from(["a", "b", "c"])),
    min_size=9,
    max_size=40,
).filter(lambda rows: len({g for _, g in rows}) == 3 and len({v for v, _ in rows}) > 1)


@settings(max_examples=25, deadline=None)
@given(group_data, st.permutations(["a", "b", "c"]))
def test_kruskal_is_invariant_to_group_relabelling(
    rows: list[tuple[float, str]], perm: list[str]
) -> None:
    values = [v for v, _ in rows]
    groups = [g for _, g in rows]
    relabel = dict(zip(["a", "b", "c"], perm, strict=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r1 = kruskal_wallis(values, groups)
        r2 = kruskal_wallis(values, [relabel[g] for g in groups])
    assert r1.statistic == pytest.approx(r2.statistic, rel=1e-12)
    assert 0.0 <= r1.p_value <= 1.0
    p1 = {frozenset((c.a, c.b)): c.p_adjusted for c in r1.posthoc}
    inverse = {v: k for k, v in relabel.items()}
    p2 = {frozenset((inverse[c.a], inverse[c.b])): c.p_adjusted for c in r2.posthoc}
    assert p1 == pytest.approx(p2)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(-100, 100, allow_nan=False), min_size=1, max_size=30),
    st.lists(st.floats(-100, 100, allow_nan=False), min_size=1, max_size=30),
)
def test_rank_tests_return_p_values_in_unit_interval(x: list[float], y: list[float]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert 0.0 <= mann_whitney(x, y).p_value <= 1.0
        n = min(len(x), len(y))
        if any(a != b for a, b in zip(x[:n], y[:n], strict=True)):
            assert 0.0 <= wilcoxon_signed_rank(x[:n], y[:n]).p_value <= 1.0


@settings(max_examples=150, deadline=None)
@given(
    d=st.lists(st.integers(min_value=-6, max_value=6), min_size=55, max_size=120),
    alternative=st.sampled_from(["two-sided", "less", "greater"]),
)
def test_signed_rank_normal_path_equals_scipy_approx(d: list[int], alternative: str) -> None:
    """The one-sort normal approximation (tie-corrected, continuity 0.5, as R) gives scipy's
    ``wilcoxon(method="approx", correction=True)`` p-value on tied data with zeros."""
    from scipy import stats as sps

    x = np.asarray(d, dtype=float)
    assume(np.count_nonzero(x) > 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = wilcoxon_signed_rank(x, np.zeros_like(x), alternative=alternative)  # type: ignore[arg-type]
        ref = sps.wilcoxon(
            x, zero_method="wilcox", correction=True, alternative=alternative, method="approx"
        )
    assert ours.p_value == pytest.approx(float(ref.pvalue), rel=1e-9, abs=1e-15)
