"""Wilcoxon signed-rank (paired) and rank-sum / Mann-Whitney (two independent groups) tests.

Both follow R's ``wilcox.test`` conventions, not scipy's defaults: the exact null distribution
when the sample is below R's limit (n < 50 pairs, or both groups < 50) and there are no ties
(and, for the signed-rank test, no zero differences); otherwise the normal approximation with
the tie-corrected variance and a continuity correction of 1/2. The statistic reported is R's:
``V`` = sum of the ranks of the positive differences, ``W`` = U of the first sample.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from ruxtrack.errors import AnalysisError

from ._result import ArrayLike1D, ResultMixin, as_float_array
from ._warnings import ApproximationWarning

__all__ = [
    "Alternative",
    "RankSumResult",
    "SignedRankResult",
    "mann_whitney",
    "wilcoxon_signed_rank",
]

Alternative = Literal["two-sided", "less", "greater"]

# R stats:::wilcox.test.default uses the exact distribution only below 50 observations (per group
# for the rank-sum test) and only without ties / zero differences (R 4.2 ?wilcox.test, "Details").
R_EXACT_LIMIT = 50


@dataclass(frozen=True)
class SignedRankResult(ResultMixin):
    """Wilcoxon signed-rank test of paired values (R ``wilcox.test(x, y, paired = TRUE)``)."""

    statistic: float  # V: sum of ranks of positive differences x - y
    p_value: float
    n: int  # pairs used (complete and non-zero difference)
    n_zero_differences: int
    n_incomplete_pairs: int
    exact: bool
    method: str
    alternative: Alternative


@dataclass(frozen=True)
class RankSumResult(ResultMixin):
    """Wilcoxon rank-sum / Mann-Whitney U test (R ``wilcox.test(x, y)``)."""

    statistic: float  # W = U of x
    p_value: float
    n_x: int
    n_y: int
    n_missing_x: int
    n_missing_y: int
    exact: bool
    method: str
    alternative: Alternative


def _has_ties(values: np.ndarray) -> bool:
    return bool(np.unique(values).size < values.size)


def _ranks_and_ties(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average ranks (1-based, as ``scipy.stats.rankdata``) and the size of every tie group,
    from one sort."""
    order = np.argsort(values)  # tied values share their average rank: no stable sort needed
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    sizes = np.diff(np.r_[starts, ordered.size])
    average = starts + (sizes + 1) / 2.0  # mean of ranks start+1 .. start+size
    ranks = np.empty(values.size)
    ranks[order] = np.repeat(average, sizes)
    return ranks, sizes


def _signed_rank_normal(
    v: float, n: int, tie_sizes: np.ndarray, alternative: Alternative, correct: bool
) -> float:
    """R's ``wilcox.test`` normal approximation (tie-corrected variance, continuity 0.5)."""
    mean = n * (n + 1) / 4.0
    t = tie_sizes.astype(np.float64)
    sigma = np.sqrt(n * (n + 1) * (2 * n + 1) / 24.0 - float(np.sum(t**3 - t)) / 48.0)
    z = v - mean
    if correct:
        z -= {"two-sided": np.sign(z) * 0.5, "greater": 0.5, "less": -0.5}[alternative]
    z /= sigma
    if alternative == "two-sided":
        return float(2 * min(stats.norm.cdf(z), stats.norm.sf(z)))
    return float(stats.norm.sf(z) if alternative == "greater" else stats.norm.cdf(z))


def _check_alternative(alternative: str) -> None:
    if alternative not in ("two-sided", "less", "greater"):
        raise AnalysisError(
            f"alternative must be 'two-sided', 'less' or 'greater', got {alternative!r}"
        )


def wilcoxon_signed_rank(
    x: ArrayLike1D,
    y: ArrayLike1D,
    *,
    alternative: Alternative = "two-sided",
    exact: bool | None = None,
    correct: bool = True,
) -> SignedRankResult:
    """Wilcoxon signed-rank test of paired samples, as R's ``wilcox.test(paired = TRUE)``.

    Pairs with a missing member are dropped; zero differences are dropped before ranking
    (Wilcoxon's convention, R's and scipy's ``zero_method="wilcox"``).

    Parameters
    ----------
    x, y : array-like of float
        Paired values (same length, same order).
    alternative : {"two-sided", "less", "greater"}
        Direction for ``x - y``.
    exact : bool, optional
        ``None`` (default) chooses as R: exact when fewer than 50 pairs remain and there are
        neither ties nor zero differences. Where exact was chosen or asked for but ties or zeros
        forbid it, the normal approximation is used with an :class:`ApproximationWarning`
        (R warns likewise).
    correct : bool, default True
        Continuity correction in the normal approximation (R's default; scipy's is False).

    Returns
    -------
    SignedRankResult

    Examples
    --------
    >>> x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
    >>> y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
    >>> r = wilcoxon_signed_rank(x, y)
    >>> r.statistic, r.p_value, r.method
    (40.0, 0.0390625, 'Wilcoxon signed-rank test, exact')
    """
    _check_alternative(alternative)
    xa, ya = as_float_array(x, "x"), as_float_array(y, "y")
    if xa.size != ya.size:
        raise AnalysisError(
            f"paired test needs x and y of equal length, got {xa.size} and {ya.size}"
        )
    complete = ~(np.isnan(xa) | np.isnan(ya))
    d = xa[complete] - ya[complete]
    zeros = d == 0
    d = d[~zeros]
    n = int(d.size)
    if n == 0:
        raise AnalysisError("no non-zero paired differences: the signed-rank test is undefined")
    ranks, tie_sizes = _ranks_and_ties(np.abs(d))
    ties = bool((tie_sizes > 1).any())
    use_exact = n < R_EXACT_LIMIT if exact is None else exact
    if use_exact and (ties or zeros.any()):
        warnings.warn(
            f"n = {n} pairs: cannot compute an exact p-value with "
            f"{'ties' if ties else 'zero differences'}; normal approximation used (as R)",
            ApproximationWarning,
            stacklevel=2,
        )
        use_exact = False
    v = float(ranks[d > 0].sum())
    if use_exact:
        p_value = float(
            stats.wilcoxon(d, zero_method="wilcox", alternative=alternative, method="exact").pvalue
        )
    else:
        p_value = _signed_rank_normal(v, n, tie_sizes, alternative, correct)
    if use_exact:
        method = "Wilcoxon signed-rank test, exact"
    else:
        method = "Wilcoxon signed-rank test, normal approximation" + (
            " with continuity correction" if correct else ""
        )
    return SignedRankResult(
        statistic=v,
        p_value=p_value,
        n=n,
        n_zero_differences=int(zeros.sum()),
        n_incomplete_pairs=int((~complete).sum()),
        exact=use_exact,
        method=method,
        alternative=alternative,
    )


def mann_whitney(
    x: ArrayLike1D,
    y: ArrayLike1D,
    *,
    alternative: Alternative = "two-sided",
    exact: bool | None = None,
    correct: bool = True,
) -> RankSumResult:
    """Wilcoxon rank-sum (Mann-Whitney U) test, as R's ``wilcox.test(x, y)``.

    Parameters
    ----------
    x, y : array-like of float
        The two independent samples; NaN / None are dropped and counted.
    alternative : {"two-sided", "less", "greater"}
        Direction for the location shift of ``x`` relative to ``y``.
    exact : bool, optional
        ``None`` (default) chooses as R: exact when both samples have fewer than 50 values and
        there are no ties. (scipy's ``"auto"`` switches to the normal approximation above 8 per
        group instead.) Where ties forbid the exact test, the normal approximation is used with
        an :class:`ApproximationWarning` (R warns likewise).
    correct : bool, default True
        Continuity correction in the normal approximation (R's default).

    Returns
    -------
    RankSumResult

    Examples
    --------
    >>> x = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
    >>> y = [1.15, 0.88, 0.90, 0.74, 1.21]
    >>> r = mann_whitney(x, y, alternative="greater")
    >>> r.statistic, round(r.p_value, 6), r.method
    (35.0, 0.127206, 'Wilcoxon rank-sum (Mann-Whitney U) test, exact')
    """
    _check_alternative(alternative)
    xa, ya = as_float_array(x, "x"), as_float_array(y, "y")
    xs, ys = xa[~np.isnan(xa)], ya[~np.isnan(ya)]
    if xs.size == 0 or ys.size == 0:
        raise AnalysisError(f"each group needs at least one value (n_x={xs.size}, n_y={ys.size})")
    ties = _has_ties(np.concatenate([xs, ys]))
    small = xs.size < R_EXACT_LIMIT and ys.size < R_EXACT_LIMIT
    use_exact = small if exact is None else exact
    if use_exact and ties:
        warnings.warn(
            f"n = {xs.size} and {ys.size}: cannot compute an exact p-value with ties; "
            "normal approximation used (as R)",
            ApproximationWarning,
            stacklevel=2,
        )
        use_exact = False
    res = stats.mannwhitneyu(
        xs,
        ys,
        alternative=alternative,
        use_continuity=correct,
        method="exact" if use_exact else "asymptotic",
    )
    if use_exact:
        method = "Wilcoxon rank-sum (Mann-Whitney U) test, exact"
    else:
        method = "Wilcoxon rank-sum (Mann-Whitney U) test, normal approximation" + (
            " with continuity correction" if correct else ""
        )
    return RankSumResult(
        statistic=float(res.statistic),
        p_value=float(res.pvalue),
        n_x=int(xs.size),
        n_y=int(ys.size),
        n_missing_x=int(xa.size - xs.size),
        n_missing_y=int(ya.size - ys.size),
        exact=use_exact,
        method=method,
        alternative=alternative,
    )
