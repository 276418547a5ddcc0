"""Gray's k-sample test of cumulative incidence curves (Gray 1988; R ``cmprsk::cuminc``).

For one cause of interest, the score of each group compares its cumulative-incidence hazard with
the pooled one; the variance is Gray's (1988, Ann Stat 16:1141-1154, section 2) with the
hypergeometric tie factors that ``cmprsk`` uses. The statistic s' V^-1 s over the first k - 1
groups is referred to chi-squared with k - 1 degrees of freedom. The weight (1 - F(t-))^rho uses
rho = 0, ``cmprsk``'s default. One stratum.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from ruxtrack.errors import AnalysisError

from ._result import ArrayLike1D, FloatArray, ResultMixin, as_float_array

__all__ = ["GrayTestResult", "gray_test"]

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class GrayTestResult(ResultMixin):
    """Gray's test for one cause: statistic, degrees of freedom, p-value, events per group."""

    cause: str
    statistic: float
    df: int
    p_value: float
    n: int
    n_missing: int
    groups: tuple[str, ...]
    n_events: tuple[int, ...]
    note: str | None = None
    method: str = "Gray's test of cumulative incidence (R cmprsk::cuminc, rho = 0)"


class _Acc:
    """The running sums of one pass over the event times (names after Gray 1988)."""

    def __init__(self, k: int) -> None:
        self.score = np.zeros(k - 1)
        self.c = np.zeros((k, k))
        self.v3 = np.zeros(k)
        self.v2 = np.zeros((k - 1, k))
        self.v = np.zeros((k - 1, k - 1))

    def add(self, b: FloatArray, t4: FloatArray, t3: FloatArray) -> None:
        """One variance increment: ``b`` is (k-1) x k, ``t4`` and ``t3`` per group."""
        self.v3 += t4 * t4 * t3
        self.v2 += b * (t4 * t3)[None, :]
        self.v += (b * t3[None, :]) @ b.T

    def variance(self) -> FloatArray:
        c = self.c[:-1, :]
        out: FloatArray = self.v + (c * self.v3[None, :]) @ c.T + c @ self.v2.T + self.v2 @ c.T
        return out


def _score_and_variance(
    t: FloatArray, code: IntArray, gi: IntArray, k: int
) -> tuple[FloatArray, FloatArray]:
    """``code`` 0 censored, 1 the cause of interest, 2 another cause; ``gi`` group 0..k-1."""
    acc = _Acc(k)
    at_risk = np.bincount(gi, minlength=k).astype(float)
    surv_m = np.ones(k)  # event-free survival just before t, per group
    cif_m = np.zeros(k)  # cumulative incidence of the cause just before t, per group
    f_m = 0.0  # pooled cumulative incidence just before t
    order = np.argsort(t, kind="stable")
    t, code, gi = t[order], code[order], gi[order]
    bounds = np.flatnonzero(np.r_[True, t[1:] > t[:-1], True])
    for lo, hi in itertools.pairwise(bounds):
        g, c = gi[lo:hi], code[lo:hi]
        d = np.zeros((3, k))
        np.add.at(d, (c, g), 1.0)
        nd1, nd2 = d[1].sum(), d[2].sum()
        if nd1 or nd2:
            on = at_risk > 0
            r = np.where(on, at_risk, 1.0)
            surv = np.where(on, surv_m * (r - d[1] - d[2]) / r, surv_m)
            cif = np.where(on, cif_m + surv_m * d[1] / r, cif_m)
            h = np.divide(at_risk, surv_m, out=np.zeros(k), where=on)
            tr = h.sum()
            tq = (h * (1 - cif_m)).sum()
            f = f_m + nd1 / tr
            a = np.diag(h) - np.outer(h, h) / tr
            acc.c += a * nd1 / (tr * (1 - f_m))
            acc.score += np.where(on, d[1] - nd1 * h * (1 - cif_m) / tq, 0.0)[:-1]
            if nd1:
                t4 = np.where(surv > 0, 1 - (1 - f) / np.where(surv > 0, surv, 1.0), 1.0)
                t5 = 1 - (nd1 - 1) / (tr * surv_m - 1) if nd1 > 1 else np.ones(k)
                t3 = np.where(on, t5 * surv_m * nd1 / (tr * r), 0.0)
                acc.add(a[:-1, :] - t4[None, :] * acc.c[:-1, :], t4, t3)
            if nd2:
                use = (surv > 0) & (d[2] > 0)
                t4 = np.where(use, (1 - f) / np.where(use, surv, 1.0), 0.0)
                t5 = np.where(d[2] > 1, 1 - (d[2] - 1) / np.maximum(r - 1, 1), 1.0)
                t3 = np.where(use, t5 * surv_m**2 * d[2] / r**2, 0.0)
                b = t4[None, :] * acc.c[:-1, :]
                acc.v3 += t4 * t4 * t3
                acc.v2 -= b * (t4 * t3)[None, :]
                acc.v += (b * t3[None, :]) @ b.T
            f_m, cif_m, surv_m = f, cif, surv
        at_risk -= np.bincount(g, minlength=k)
    return acc.score, acc.variance()


def gray_test(
    time: ArrayLike1D,
    cause: Sequence[Hashable] | pd.Series,
    group: Sequence[Hashable] | pd.Series,
    *,
    censored: Hashable = "censored",
) -> tuple[GrayTestResult, ...]:
    """Gray's test that the cumulative incidence of each cause is the same in every group.

    Parameters
    ----------
    time
        Time to the first event or censoring, per patient.
    cause
        The event at ``time`` (``censored`` for none).
    group
        The group of each patient (two or more distinct values).
    censored
        The value of ``cause`` that means censored.

    Returns
    -------
    tuple of GrayTestResult
        One test per cause with at least one event, in sorted order (as ``cmprsk`` prints).

    Raises
    ------
    AnalysisError
        Fewer than two groups, or no event.

    Examples
    --------
    >>> res = gray_test([1, 2, 3, 4, 5, 6, 7, 8], ["a", "b", "a", "censored", "a", "a", "b", "a"],
    ...                 ["x", "x", "x", "x", "y", "y", "y", "y"])
    >>> [(r.cause, r.df) for r in res]
    [('a', 1), ('b', 1)]
    """
    t = as_float_array(time, "time")
    cs = pd.Series(list(cause), dtype="object")
    gs = pd.Series(list(group), dtype="object")
    if not len(t) == len(cs) == len(gs):
        raise AnalysisError("time, cause and group must have the same length")
    ok = ~np.isnan(t) & cs.notna().to_numpy() & gs.notna().to_numpy()
    t = t[ok]
    c_str, g_str = cs[ok].astype(str).to_numpy(), gs[ok].astype(str).to_numpy()
    levels = sorted(set(g_str))
    if len(levels) < 2:
        raise AnalysisError("Gray's test needs at least two groups")
    causes = sorted(set(c_str) - {str(censored)})
    if not causes:
        raise AnalysisError("Gray's test needs at least one event")
    gi = np.searchsorted(np.asarray(levels), g_str)
    k = len(levels)
    out = []
    for cz in causes:
        code = np.where(c_str == str(censored), 0, np.where(c_str == cz, 1, 2))
        with np.errstate(divide="ignore", invalid="ignore"):
            s, v = _score_and_variance(t, code, gi, k)
        note = None
        if not (np.isfinite(v).all() and np.isfinite(s).all()):
            # cmprsk stops with "NA/NaN/Inf in foreign function call" here
            stat = float("nan")
            note = (
                "not computed: the pooled cumulative incidence of all causes reaches 100% "
                "(no patient censored), where Gray's variance is undefined"
            )
        elif np.linalg.matrix_rank(v) < k - 1:
            stat = float("nan")  # as cmprsk: no statistic when V is singular
            note = "not computed: the variance matrix is singular"
        else:
            stat = float(s @ np.linalg.solve(v, s))
        out.append(
            GrayTestResult(
                cause=cz,
                statistic=stat,
                df=k - 1,
                p_value=float(stats.chi2.sf(stat, k - 1)) if stat == stat else float("nan"),
                n=int(ok.sum()),
                n_missing=int((~ok).sum()),
                groups=tuple(levels),
                n_events=tuple(int(((gi == j) & (code == 1)).sum()) for j in range(k)),
                note=note,
            )
        )
    return tuple(out)
