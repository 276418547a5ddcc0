"""Gray's test and the log-rank test against R (script and output in reference/:
tests_time_to_event.R / .Rout; R 4.2.2, survival 3.5-3, cmprsk 2.2-11)."""

from __future__ import annotations

import pytest
from stats_reference import read_reference

from ruxtrack.errors import AnalysisError
from ruxtrack.stats import gray_test, logrank_test

CAUSES = {0: "censored", 1: "1", 2: "2"}


def test_gray_test_three_groups_matches_cmprsk_cuminc_example() -> None:
    ex = read_reference("cuminc_example.csv")
    res = gray_test(ex["ftime"], ex["fstatus"].map(CAUSES), ex["group"])
    got = {r.cause: (r.statistic, r.p_value, r.df) for r in res}
    assert got["1"] == pytest.approx((1.73706140349761, 0.419567566471976, 2), rel=1e-10)
    assert got["2"] == pytest.approx((2.53453433508816, 0.281600137182648, 2), rel=1e-10)


def test_gray_test_with_tied_days_matches_cmprsk() -> None:
    td = read_reference("cuminc_ties_arms.csv")
    res = gray_test(td["day"], td["status"].map(CAUSES), td["arm"])
    got = {r.cause: (r.statistic, r.p_value) for r in res}
    assert got["1"] == pytest.approx((0.106193213766346, 0.744520442572629), rel=1e-10)
    assert got["2"] == pytest.approx((0.582413029420933, 0.445368041769988), rel=1e-10)
    assert [r.n_events for r in res] == [(5, 4), (3, 1)]


@pytest.mark.parametrize(
    ("name", "time", "event", "group", "chisq", "p"),
    [
        ("aml.csv", "time", lambda d: d["status"], "x", 3.3963886989776, 0.0653393220405051),
        (
            "lung.csv",
            "time",
            lambda d: d["status"] == 2,
            "sex",
            10.3267419548856,
            0.00131116452035549,
        ),
        (
            "cuminc_example.csv",
            "ftime",
            lambda d: d["fstatus"] > 0,
            "group",
            1.85400489180293,
            0.395738180833457,
        ),
        (
            "cuminc_ties_arms.csv",
            "day",
            lambda d: d["status"] == 2,
            "arm",
            1.11764705882353,
            0.290425667703321,
        ),
    ],
)
def test_logrank_matches_survival_survdiff(name, time, event, group, chisq, p) -> None:
    d = read_reference(name)
    r = logrank_test(d[time], event(d).astype(int), d[group])
    assert (r.statistic, r.p_value) == pytest.approx((chisq, p), rel=1e-10)
    assert r.df == d[group].nunique() - 1


def test_logrank_expected_counts_match_survdiff_on_aml() -> None:
    d = read_reference("aml.csv")
    r = logrank_test(d["time"], d["status"], d["x"])
    assert [(g.group, g.n, g.observed) for g in r.groups] == [
        ("Maintained", 11, 7),
        ("Nonmaintained", 12, 11),
    ]
    assert [g.expected for g in r.groups] == pytest.approx([10.68933599230072, 7.31066400769928])


def test_tests_refuse_one_group_and_no_event() -> None:
    with pytest.raises(AnalysisError, match="two groups"):
        logrank_test([1, 2], [1, 0], ["a", "a"])
    with pytest.raises(AnalysisError, match="at least one event"):
        gray_test([1, 2], ["censored", "censored"], ["a", "b"])


def test_gray_test_without_censoring_says_why_it_has_no_statistic() -> None:
    # every patient has an event: the pooled incidence reaches 100 % and cmprsk::cuminc stops
    # with "NA/NaN/Inf in foreign function call"; here the result says so
    t = [49, 25, 22, 35, 108, 22, 73, 29, 25, 29, 26, 28, 91, 49, 57, 27, 28, 17]
    c = ["d", "d", "d", "x", "d", "d", "d", "d", "d", "d", "x", "d", "d", "d", "x", "d", "d", "d"]
    g = [0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1]
    d = next(r for r in gray_test(t, c, g) if r.cause == "d")
    assert d.statistic != d.statistic and d.note and "no patient censored" in d.note
