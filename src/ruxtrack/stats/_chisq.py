"""Pearson's chi-squared test of independence for r x c tables, as R's ``chisq.test``.

The statistic, degrees of freedom and p-value come from ``scipy.stats.chi2_contingency``; the
continuity correction follows R: Yates' correction (each |O - E| reduced by at most 0.5) on 2 x 2
tables only, and only when asked. R's ``chisq.test`` applies it by default (``correct = TRUE``);
here the default is ``correct=False`` (the uncorrected Pearson statistic), so the method name
always says which one was computed. As R, an :class:`ApproximationWarning` is issued when any
expected count is below 5 ("Chi-squared approximation may be incorrect").
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import chi2_contingency

from ruxtrack.errors import AnalysisError

from ._result import ResultMixin
from ._warnings import ApproximationWarning

__all__ = ["ChiSquaredResult", "chisq_test"]

# R stats::chisq.test warns "Chi-squared approximation may be incorrect" when any(E < 5)
R_MIN_EXPECTED = 5.0


@dataclass(frozen=True)
class ChiSquaredResult(ResultMixin):
    """Pearson's chi-squared test of independence in a contingency table."""

    statistic: float
    df: int
    p_value: float
    n: int
    shape: tuple[int, int]
    table: tuple[tuple[int, ...], ...]
    expected: tuple[tuple[float, ...], ...]
    min_expected: float
    n_expected_below_5: int
    correct: bool
    method: str
    exact: bool = False


def _as_counts(table: Any) -> npt.NDArray[np.int64]:
    arr = np.asarray(table)
    if arr.ndim != 2 or min(arr.shape) < 2:
        raise AnalysisError(
            "need a 2-D contingency table with at least 2 rows and 2 columns, "
            f"got shape {arr.shape}"
        )
    if not np.issubdtype(arr.dtype, np.number) or np.isnan(arr.astype(float)).any():
        raise AnalysisError("contingency table must hold counts (no missing values)")
    if (arr < 0).any() or not np.all(np.equal(np.mod(arr, 1), 0)):
        raise AnalysisError("contingency table must hold non-negative integer counts")
    out = arr.astype(np.int64)
    if (out.sum(axis=0) == 0).any() or (out.sum(axis=1) == 0).any():
        raise AnalysisError(
            "contingency table has a row or column with no counts: expected counts of 0 leave "
            "the chi-squared statistic undefined (R returns NaN); drop the empty row or column"
        )
    return out


def chisq_test(table: Any, *, correct: bool = False) -> ChiSquaredResult:
    """Pearson's chi-squared test of independence, as R's ``chisq.test`` on a matrix.

    Parameters
    ----------
    table : 2-D array-like of int
        Counts (rows and columns are the two classifications), e.g. from ``pandas.crosstab``.
    correct : bool, default False
        Apply Yates' continuity correction. As R, it is applied to 2 x 2 tables only (ignored
        for larger tables). Note: R's default is ``correct = TRUE``.

    Returns
    -------
    ChiSquaredResult
        ``method`` is R's name: "Pearson's chi-squared test" or "Pearson's chi-squared test with
        Yates' continuity correction"; ``expected`` holds the expected counts under
        independence, ``min_expected`` the smallest of them.

    Raises
    ------
    AnalysisError
        The table is not a 2-D table of non-negative counts with at least 2 x 2 cells, or a row
        or column total is zero.

    Warns
    -----
    ApproximationWarning
        Some expected count is below 5 (R: "Chi-squared approximation may be incorrect").

    Examples
    --------
    >>> r = chisq_test([[762, 327, 468], [484, 239, 477]])  # ?chisq.test, Agresti (2007) p. 39
    >>> round(r.statistic, 4), r.df, f"{r.p_value:.4g}"
    (30.0701, 2, '2.954e-07')
    """
    counts = _as_counts(table)
    shape = (int(counts.shape[0]), int(counts.shape[1]))
    yates = bool(correct) and shape == (2, 2)
    res = chi2_contingency(counts, correction=yates)
    expected = np.asarray(res.expected_freq, dtype=np.float64)
    below = int(np.count_nonzero(expected < R_MIN_EXPECTED))
    n = int(counts.sum())
    if below:
        warnings.warn(
            f"chi-squared approximation may be incorrect: {below} of {expected.size} expected "
            f"counts below {R_MIN_EXPECTED:g} (smallest {expected.min():.3g}; n = {n})",
            ApproximationWarning,
            stacklevel=2,
        )
    method = "Pearson's chi-squared test" + (" with Yates' continuity correction" if yates else "")
    return ChiSquaredResult(
        statistic=float(res.statistic),
        df=int(res.dof),
        p_value=float(res.pvalue),
        n=n,
        shape=shape,
        table=tuple(tuple(int(v) for v in row) for row in counts),
        expected=tuple(tuple(float(v) for v in row) for row in expected),
        min_expected=float(expected.min()),
        n_expected_below_5=below,
        correct=yates,
        method=method,
    )
