"""Pearson's chi-squared test against R 4.2.2 ``chisq.test`` (reference/chisq.R -> chisq.Rout).

Tables: ?chisq.test examples (Agresti 2007 p. 39 party identification; InsectSprays count > 7
by spray) and ?fisher.test tables (Convictions 2 x 2 for Yates' correction; Job satisfaction
4 x 4, where R warns "Chi-squared approximation may be incorrect").
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from ruxtrack.errors import AnalysisError
from ruxtrack.stats import ApproximationWarning, chisq_test

REL = 1e-10
PARTY = [[762, 327, 468], [484, 239, 477]]
INSECTS = [[1, 1, 12, 11, 12, 0], [11, 11, 0, 1, 0, 12]]
CONVICTIONS = [[2, 15], [10, 3]]
JOB = [[1, 3, 10, 6], [2, 3, 10, 7], [1, 6, 14, 12], [0, 1, 9, 11]]


def test_agresti_party_matches_r_help() -> None:
    """?chisq.test, Agresti (2007) p. 39: X-squared = 30.0701490957547, df = 2,
    p = 2.95358918321176e-07; expected counts as R's ``$expected``."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = chisq_test(PARTY)
    assert r.statistic == pytest.approx(30.0701490957547, rel=REL)
    assert r.df == 2
    assert r.p_value == pytest.approx(2.95358918321176e-07, rel=1e-9)
    assert np.asarray(r.expected) == pytest.approx(
        np.array(
            [
                [703.671381936888, 319.645266594124, 533.683351468988],
                [542.328618063112, 246.354733405876, 411.316648531012],
            ]
        ),
        rel=REL,
    )
    assert r.method == "Pearson's chi-squared test"
    assert (r.n, r.n_expected_below_5, r.correct, r.exact) == (2757, 0, False, False)


def test_insect_sprays_two_by_six_matches_r_help() -> None:
    """?chisq.test, table(InsectSprays$count > 7, InsectSprays$spray): X-squared =
    60.9915057915058, df = 5, p = 7.5817085082089e-12."""
    r = chisq_test(INSECTS)
    assert (r.statistic, r.df) == (pytest.approx(60.9915057915058, rel=REL), 5)
    assert r.p_value == pytest.approx(7.5817085082089e-12, rel=1e-8)


def test_yates_correction_only_when_asked_on_two_by_two() -> None:
    """Convictions (?fisher.test) in chisq.R: correct = TRUE gives X-squared = 10.4581447963801,
    p = 0.00122109851631151; correct = FALSE gives 13.0316742081448, p = 0.00030626663018355."""
    plain = chisq_test(CONVICTIONS)
    assert plain.statistic == pytest.approx(13.0316742081448, rel=REL)
    assert plain.p_value == pytest.approx(0.00030626663018355, rel=1e-9)
    assert not plain.correct
    yates = chisq_test(CONVICTIONS, correct=True)
    assert yates.statistic == pytest.approx(10.4581447963801, rel=REL)
    assert yates.p_value == pytest.approx(0.00122109851631151, rel=1e-9)
    assert yates.method == "Pearson's chi-squared test with Yates' continuity correction"
    assert yates.correct


def test_correction_is_ignored_beyond_two_by_two_as_r() -> None:
    """R applies Yates only to 2 x 2 tables: the party table is unchanged with correct=True."""
    r = chisq_test(PARTY, correct=True)
    assert r.statistic == pytest.approx(30.0701490957547, rel=REL)
    assert r.method == "Pearson's chi-squared test" and not r.correct


def test_small_expected_counts_warn_as_r() -> None:
    """Job 4 x 4: R warns "Chi-squared approximation may be incorrect"; X-squared =
    5.9655145887704, df = 9, p = 0.743364725052551."""
    with pytest.warns(ApproximationWarning, match="approximation may be incorrect"):
        r = chisq_test(JOB)
    assert r.statistic == pytest.approx(5.9655145887704, rel=REL)
    assert (r.df, r.p_value) == (9, pytest.approx(0.743364725052551, rel=1e-9))
    assert r.min_expected == pytest.approx(0.833333333333333, rel=1e-12)
    assert r.n_expected_below_5 == 8  # the first two columns of $expected
    json.dumps(r.to_dict(), allow_nan=False)


@pytest.mark.parametrize(
    "table",
    [[[1, 2, 3]], [[1, -1], [2, 3]], [[1.5, 1], [2, 3]], [[0, 0], [2, 3]], [[np.nan, 1], [1, 1]]],
)
def test_bad_tables_are_refused(table: list[list[float]]) -> None:
    with pytest.raises(AnalysisError):
        chisq_test(table)
