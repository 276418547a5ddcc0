"""Firth logistic regression against R (reference/firth.R -> firth.Rout; R 4.2.2, brglm2 0.9
for the estimates and SEs, base-R profile penalised likelihood for CIs and LR tests)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from stats_reference import read_reference

from ruxtrack.errors import AnalysisError
from ruxtrack.stats import firth_logistic

REL = 1e-6


def test_endometrial_matches_heinze_schemper_2002_and_r() -> None:
    """Heinze & Schemper (2002), Stat Med 21:2409, endometrial data (brglm2::endometrial):
    NV 2.93 (0.61, 7.85) as published; full precision from firth.R."""
    r = firth_logistic(read_reference("endometrial.csv"), "HG", ["NV", "PI", "EH"])
    # term: (coef, se, chi2, p, ci_low, ci_high) on the log-odds scale
    expected = {
        "(Intercept)": (3.77455971364703, 1.48869166343564, 8.1980135758448,
                        0.00419362788558666, 1.08253710844769, 7.20928049824694),
        "NV": (2.92927335319709, 1.55076372945304, 6.79845724866617,
               0.00912366754708525, 0.609724436303208, 7.85463171387751),
        "PI": (-0.0347517598704338, 0.0395781473477629, 0.746828513432135,
               0.38748220356644, -0.124458720851728, 0.0404554731806109),
        "EH": (-2.60416392529365, 0.776017642501558, 17.7593174794384,
               2.50686721485578e-05, -4.36518324726322, -1.23272105721702),
    }  # fmt: skip
    assert [c.term for c in r.coefficients] == list(expected)
    for term, (coef, se, chi2, p, lo, hi) in expected.items():
        c = r.term(term)
        assert (c.coef, c.se, c.chi2, c.p_value) == pytest.approx((coef, se, chi2, p), rel=REL)
        assert (c.coef_ci_low, c.coef_ci_high) == pytest.approx((lo, hi), rel=REL)
    nv = r.term("NV")
    assert (round(nv.coef, 2), round(nv.coef_ci_low, 2), round(nv.coef_ci_high, 2)) == (
        2.93,
        0.61,
        7.85,
    )
    assert r.penalized_loglik == pytest.approx(-24.0372678006979, rel=1e-9)
    assert r.separation  # NV is quasi-completely separated (the paper's point)
    assert (r.n, r.n_events, r.n_missing) == (79, 30, 0)


def test_early_start_vs_complete_response_with_separation() -> None:
    """firth.R "early start": every complete responder started early (Sarmiento 2021 Table 3
    counts); ordinary ML diverges, Firth gives OR exp(4.00003) with a finite profile CI."""
    r = firth_logistic(read_reference("early_start.csv"), "cr", ["early"])
    c = r.term("early")
    assert c.coef == pytest.approx(4.00003388275098, rel=REL)
    assert c.se == pytest.approx(1.74623264467502, rel=REL)
    assert c.p_value == pytest.approx(0.000820294270420971, rel=REL)
    assert (c.coef_ci_low, c.coef_ci_high) == pytest.approx(
        (1.44315136216522, 9.00038807077012), rel=REL
    )
    assert c.odds_ratio == pytest.approx(54.5998, rel=1e-4)
    assert r.separation
    assert "profile penalised likelihood" in r.ci_method
    json.dumps(r.to_dict(), allow_nan=False)


def test_mild_table_without_separation() -> None:
    """firth.R "mild": CI crosses 0 on the log-odds scale (OR CI crosses 1)."""
    r = firth_logistic(read_reference("mild.csv"), "cr", ["early"])
    c = r.term("early")
    assert (c.coef, c.p_value) == pytest.approx((1.5915002117476, 0.0786561243442819), rel=REL)
    assert (c.coef_ci_low, c.coef_ci_high) == pytest.approx(
        (-0.176858361562657, 3.61826542750421), rel=REL
    )
    assert c.ci_low < 1 < c.ci_high
    assert not r.separation


def test_missing_rows_are_dropped_and_counted() -> None:
    df = read_reference("mild.csv").astype("float")
    df.loc[len(df)] = [None, 1.0]
    df.loc[len(df)] = [1.0, None]
    r = firth_logistic(df, "cr", ["early"])
    assert (r.n, r.n_missing) == (20, 2)


def test_boolean_columns_are_accepted() -> None:
    df = pd.DataFrame({"early": [True] * 12 + [False] * 6, "cr": [True] * 10 + [False] * 8})
    assert firth_logistic(df, "cr", ["early"]).term("early").coef == pytest.approx(
        4.00003388275098, rel=REL
    )


def test_outcome_without_variation_is_refused() -> None:
    with pytest.raises(AnalysisError, match="no variation"):
        firth_logistic(pd.DataFrame({"x": [0, 1, 0], "y": [1, 1, 1]}), "y", ["x"])


def test_unknown_column_is_refused() -> None:
    with pytest.raises(AnalysisError, match="not in data"):
        firth_logistic(pd.DataFrame({"x": [0, 1]}), "y", ["x"])


def test_repeated_rows_fit_as_weighted_patterns_like_the_row_by_row_fit() -> None:
    """A binary predictor on many patients is fitted on its four (predictor, outcome) patterns
    with counts as frequency weights; the estimates, profile CI, LR test and penalised
    log-likelihood are those of the row-by-row fit (firthmodels on every row)."""
    from firthmodels import FirthLogisticRegression

    rng = np.random.default_rng(3)
    x = rng.integers(0, 2, 3000)
    z = rng.integers(0, 3, 3000)
    y = (rng.random(3000) < 0.2 + 0.5 * x - 0.1 * z).astype(int)
    df = pd.DataFrame({"x": x, "z": z, "y": y})
    r = firth_logistic(df, "y", ["x", "z"])
    rows = FirthLogisticRegression(backend="numpy", max_iter=200, gtol=1e-7, xtol=1e-8)
    rows.fit(df[["x", "z"]].to_numpy(float), y)
    rows.lrt()
    ci = rows.conf_int(alpha=0.05, method="pl", max_iter=200, tol=1e-8)
    assert r.term("x").coef == pytest.approx(rows.coef_[0], rel=1e-7)
    assert r.term("z").coef == pytest.approx(rows.coef_[1], rel=1e-7)
    assert r.term("(Intercept)").coef == pytest.approx(rows.intercept_, rel=1e-7)
    assert (r.term("x").coef_ci_low, r.term("x").coef_ci_high) == pytest.approx(ci[0], rel=1e-6)
    assert r.term("x").p_value == pytest.approx(rows.lrt_pvalues_[0], rel=1e-6)
    assert r.penalized_loglik == pytest.approx(rows.loglik_, rel=1e-9)
    assert (r.n, r.n_events) == (3000, int(y.sum()))
