"""Kaplan-Meier and cumulative incidence against R (reference/survival.R -> survival.Rout;
R 4.2.2, survival 3.5-3, cmprsk 2.2-11)."""

from __future__ import annotations

import json
import math
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import AalenJohansenFitter
from stats_reference import read_reference

from ruxtrack.errors import AnalysisError
from ruxtrack.stats import cumulative_incidence, kaplan_meier

REL = 1e-9


def test_aml_median_and_ci_match_survfit_log() -> None:
    """survfit(Surv(time, status) ~ x, data = aml) (R default conf.type = "log"):
    Maintained median 31 (18, NA); Nonmaintained 23 (8, NA)."""
    aml = read_reference("aml.csv")
    r = kaplan_meier(aml.time, aml.status, groups=aml.x)
    m, n = r.curves
    assert (m.group, m.n, m.n_events, m.median, m.median_ci_low) == (
        "Maintained",
        11,
        7,
        31.0,
        18.0,
    )
    assert math.isnan(m.median_ci_high)
    assert (n.median, n.median_ci_low) == (23.0, 8.0)
    assert math.isnan(n.median_ci_high)
    assert r.conf_type.startswith("log (R survfit default)")


@pytest.mark.parametrize(
    ("conf_type", "maintained", "nonmaintained"),
    [
        ("log-log", (31.0, 13.0, None), (23.0, 5.0, 33.0)),
        ("plain", (31.0, 18.0, 48.0), (23.0, 8.0, 33.0)),
    ],
)
def test_aml_median_ci_other_conf_types_match_survfit(
    conf_type: str,
    maintained: tuple[float, float, float | None],
    nonmaintained: tuple[float, float, float],
) -> None:
    """survival.R: summary(survfit(..., conf.type = "log-log" / "plain"))$table."""
    aml = read_reference("aml.csv")
    m, n = kaplan_meier(aml.time, aml.status, groups=aml.x, conf_type=conf_type).curves  # type: ignore[arg-type]
    got_m = (m.median, m.median_ci_low, None if math.isnan(m.median_ci_high) else m.median_ci_high)
    assert got_m == maintained
    assert (n.median, n.median_ci_low, n.median_ci_high) == nonmaintained


def test_aml_pointwise_table_matches_summary_survfit() -> None:
    """summary(survfit(...)) for Nonmaintained: surv, std.err, lower, upper at each event time."""
    aml = read_reference("aml.csv")
    r = kaplan_meier(aml.time, aml.status, groups=aml.x)
    c = r.curves[1]
    expected = {  # time: (n.risk, surv, std.err, lower, upper) with conf.type = "log"
        5.0: (12, 0.8333333333333334, 0.1075828707279838, 0.6470369870133617, 1.0),
        23.0: (6, 0.4861111111111112, 0.1481300625534829, 0.2675182488582666, 0.883319225339558),
        43.0: (2, 0.0972222222222222, 0.0918663649675205, 0.0152565271708652, 0.619548629119056),
    }
    for t, (risk, s, se, lo, hi) in expected.items():
        i = c.time.index(t)
        assert c.n_risk[i] == risk
        assert (c.survival[i], c.std_err[i], c.ci_low[i], c.ci_high[i]) == pytest.approx(
            (s, se, lo, hi), rel=REL
        )
    last = c.time.index(45.0)
    assert c.survival[last] == 0.0 and math.isnan(c.ci_low[last])


def test_lung_median_and_survival_at_one_year_match_survfit() -> None:
    """survfit(Surv(time, status) ~ 1, data = lung): median 310 (285, 363) with "log",
    (284, 361) with "log-log"; S(365) = 0.409241624 (0.344721582, 0.485837604)."""
    lung = read_reference("lung.csv")
    c = kaplan_meier(lung.time, lung.status - 1).curves[0]
    assert (c.n, c.n_events, c.median, c.median_ci_low, c.median_ci_high) == (
        228,
        165,
        310.0,
        285.0,
        363.0,
    )
    assert c.survival_at(365) == pytest.approx(
        (0.40924162446, 0.34472158180, 0.48583760355), rel=1e-10
    )
    ll = kaplan_meier(lung.time, lung.status - 1, conf_type="log-log").curves[0]
    assert (ll.median_ci_low, ll.median_ci_high) == (284.0, 361.0)
    assert ll.survival_at(100) == pytest.approx(
        (0.86396896765, 0.81222231975, 0.90231018052), rel=1e-10
    )


def test_lung_by_sex_medians_match_survfit() -> None:
    """survfit(Surv(time, status) ~ sex, data = lung): 270 (212, 310) and 426 (348, 550)."""
    lung = read_reference("lung.csv")
    men, women = kaplan_meier(lung.time, lung.status - 1, groups=lung.sex).curves
    assert (men.median, men.median_ci_low, men.median_ci_high) == (270.0, 212.0, 310.0)
    assert (women.median, women.median_ci_low, women.median_ci_high) == (426.0, 348.0, 550.0)


@pytest.mark.parametrize(
    ("times", "events", "median"),
    [([1, 2, 3, 4, 5, 6], [1] * 6, 3.5), ([2, 4, 6, 8], [1, 1, 0, 1], 6.0)],
)
def test_median_on_a_flat_half_takes_the_midpoint_as_r(
    times: list[int], events: list[int], median: float
) -> None:
    """survival.R: S(t) = 0.5 exactly on [3, 4) -> 3.5; on [4, 8) with a censoring at 6 -> 6.
    (lifelines would report the left end, statsmodels the right end.)"""
    assert kaplan_meier(times, events).curves[0].median == median


def test_km_rejects_bad_event_codes() -> None:
    with pytest.raises(AnalysisError, match="0/1"):
        kaplan_meier([1, 2], [1, 2])


def test_km_counts_missing_per_group() -> None:
    r = kaplan_meier([1, 2, None, 4], [1, 0, 1, 1], groups=["a", "a", "a", "b"])
    assert [(c.group, c.n, c.n_missing) for c in r.curves] == [("a", 2, 1), ("b", 1, 0)]
    json.dumps(r.to_dict(), allow_nan=False)


def test_cuminc_help_example_matches_cmprsk_estimates_and_variances() -> None:
    """?cuminc example (set.seed(2); data written to cuminc_example.csv): timepoints() at
    0.2, 0.5, 1, 1.5, 2 for groups a, b, c and causes 1, 2 (estimates and variances)."""
    d = read_reference("cuminc_example.csv")
    r = cumulative_incidence(d.ftime, d.fstatus, groups=d.group)
    expected_est = {
        ("a", "1"): [
            0.0344827586206897,
            0.0689655172413793,
            0.2726259946949603,
            0.321644562334218,
            0.321644562334218,
        ],
        ("b", "2"): [
            0.0572916666666667,
            0.1792824074074074,
            0.3146327094911190,
            0.389206977286211,
            0.478696098640320,
        ],
        ("c", "1"): [
            0.0625000000000000,
            0.0949074074074074,
            0.2336873638344227,
            0.374571834906802,
            0.431249495683047,
        ],
    }
    expected_var = {
        ("a", "1"): [
            0.001192208385632063,
            0.00230497185897161,
            0.00859605339605846,
            0.00995084804350979,
            0.00995084804350979,
        ],
        ("b", "2"): [
            0.001597291730639015,
            0.00456756535273377,
            0.00722050241323346,
            0.00837075185585475,
            0.01001446571592712,
        ],
        ("c", "1"): [
            0.001893170679052492,
            0.00281736577539846,
            0.00634196703136549,
            0.01012418538937010,
            0.01156619014591999,
        ],
    }
    for (group, cause), est in expected_est.items():
        curve = r.curve(cause, group)
        got = [curve.estimate_at(t) for t in (0.2, 0.5, 1, 1.5, 2)]
        assert [g[0] for g in got] == pytest.approx(est, rel=REL)
        assert [g[1] for g in got] == pytest.approx(expected_var[(group, cause)], rel=1e-8)


def test_cuminc_with_tied_days_matches_cmprsk_and_survfit_multistate() -> None:
    """survival.R, cuminc_ties.csv: day-resolution data where discharges, deaths and
    censorings share days. Estimates equal cmprsk::cuminc and survfit's Aalen-Johansen
    (multi-state) estimate; variances equal cmprsk's."""
    d = read_reference("cuminc_ties.csv")
    r = cumulative_incidence(d.day, d.status)
    discharge, death = r.curve(1), r.curve(2)
    assert discharge.time == (5.0, 8.0, 10.0, 12.0, 15.0, 22.0, 30.0, 35.0)
    assert list(discharge.estimate) == pytest.approx(
        [
            0.0555555555555556,
            0.174074074074074,
            0.174074074074074,
            0.302469135802469,
            0.366666666666667,
            0.516460905349794,
            0.591358024691358,
            0.591358024691358,
        ],
        rel=REL,
    )
    assert list(discharge.variance) == pytest.approx(
        [
            0.00308641975308642,
            0.00889476778365667,
            0.00889476778365667,
            0.01393159122264996,
            0.0156398338647892,
            0.0187328596045209,
            0.0189909284050569,
            0.0189909284050569,
        ],
        rel=1e-8,
    )
    assert death.estimate_at(35)[:2] == pytest.approx(
        (0.296296296296296, 0.0233770550048628), rel=1e-8
    )
    assert (discharge.n, discharge.n_events, discharge.n_competing, discharge.n_censored) == (
        18,
        9,
        4,
        5,
    )
    assert death.estimate_at(4) == (0.0, 0.0, 0.0, 0.0)


def test_cuminc_estimate_equals_lifelines_aalen_johansen_without_ties() -> None:
    d = read_reference("cuminc_example.csv")
    r = cumulative_incidence(d.ftime, d.fstatus)
    aj = AalenJohansenFitter(calculate_variance=False).fit(d.ftime, d.fstatus, event_of_interest=1)
    lifelines_cif = aj.cumulative_density_.iloc[:, 0]
    for t in (0.2, 0.5, 1.0, 1.5, 2.0):
        expected = float(lifelines_cif[lifelines_cif.index <= t].iloc[-1])
        assert r.curve(1).estimate_at(t)[0] == pytest.approx(expected, rel=1e-12)


def test_cuminc_accepts_string_causes_and_reports_missing() -> None:
    r = cumulative_incidence(
        [3, 5, 5, None, 9],
        ["discharge", "death", "censored", "death", "discharge"],
        censor="censored",
    )
    assert {c.cause for c in r.curves} == {"death", "discharge"}
    assert r.n_missing == 1
    # by hand: day 3, 1 of 4 discharged (1/4); day 5, S = 3/4, one death and one censoring of 3;
    # day 9, S = 1/2 and the last patient is discharged: 1/4 + 1/2 * 1/1 = 3/4
    assert r.curve("discharge").estimate == pytest.approx((0.25, 0.25, 0.75))
    assert r.curve("death").estimate == pytest.approx((0.0, 0.25, 0.25))


event_data = st.lists(
    st.tuples(st.integers(1, 20), st.sampled_from([0, 1, 2])), min_size=2, max_size=40
).filter(lambda rows: any(s != 0 for _, s in rows))


@settings(max_examples=60, deadline=None)
@given(event_data)
def test_cumulative_incidences_and_survival_sum_to_one(rows: list[tuple[int, int]]) -> None:
    t = [r[0] for r in rows]
    s = [r[1] for r in rows]
    cif = cumulative_incidence(t, s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        km = kaplan_meier(t, [int(v != 0) for v in s]).curves[0]
    for u in sorted(set(t)):
        total = sum(c.estimate_at(u)[0] for c in cif.curves)
        assert total + km.survival_at(u)[0] == pytest.approx(1.0, abs=1e-12)
        for c in cif.curves:
            f, var, lo, hi = c.estimate_at(u)
            assert var >= -1e-15
            assert 0.0 <= lo <= f + 1e-12 and f - 1e-12 <= hi <= 1.0
