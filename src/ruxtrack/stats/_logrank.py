"""The log-rank test of k survival curves (Mantel-Haenszel; R ``survival::survdiff``, rho = 0).

At each distinct event time the observed deaths of each group are compared with those expected
under one common hazard, with the hypergeometric variance d (n - d) / (n - 1) for tied events;
the statistic (O - E)' V^- (O - E) is referred to chi-squared with k - 1 degrees of freedom.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ruxtrack.errors import AnalysisError

from ._result import ArrayLike1D, ResultMixin, as_float_array

__all__ = ["LogRankGroup", "LogRankResult", "logrank_test"]


@dataclass(frozen=True)
class LogRankGroup(ResultMixin):
    """Observed and expected events of one group."""

    group: str
    n: int
    observed: int
    expected: float


@dataclass(frozen=True)
class LogRankResult(ResultMixin):
    """The k-sample log-rank test: statistic, degrees of freedom, p-value and per-group O/E."""

    statistic: float
    df: int
    p_value: float
    n: int
    n_missing: int
    groups: tuple[LogRankGroup, ...]
    method: str = "log-rank test (Mantel-Haenszel; R survival::survdiff, rho = 0)"


def logrank_test(
    time: ArrayLike1D, event: ArrayLike1D, group: Sequence[Hashable] | pd.Series
) -> LogRankResult:
    """Compare the survival of two or more groups with the log-rank test.

    Parameters
    ----------
    time
        Follow-up time per patient.
    event
        1 when the event happened at ``time``, 0 when censored there.
    group
        The group of each patient (two or more distinct values).

    Returns
    -------
    LogRankResult
        Chi-squared statistic with k - 1 degrees of freedom, its p-value and O/E per group.
        Patients with a missing time, event or group are left out (``n_missing``).

    Raises
    ------
    AnalysisError
        Fewer than two groups, or no event.

    Examples
    --------
    >>> r = logrank_test([1, 2, 3, 4, 5, 6], [1, 1, 0, 1, 1, 0], ["a", "a", "a", "b", "b", "b"])
    >>> r.df, round(r.statistic, 4)
    (1, 2.4694)
    """
    t = as_float_array(time, "time")
    e = as_float_array(event, "event")
    g = pd.Series(list(group), dtype="object")
    if not len(t) == len(e) == len(g):
        raise AnalysisError("time, event and group must have the same length")
    ok = ~np.isnan(t) & ~np.isnan(e) & g.notna().to_numpy()
    t, e = t[ok], e[ok].astype(int)
    g_str = g[ok].astype(str).to_numpy()
    levels = sorted(set(g_str))
    if len(levels) < 2:
        raise AnalysisError("the log-rank test needs at least two groups")
    if e.sum() == 0:
        raise AnalysisError("the log-rank test needs at least one event")
    k = len(levels)
    gi = np.searchsorted(np.asarray(levels), g_str)
    times = np.unique(t[e == 1])
    # at risk: time >= t; deaths: event at t; per group, by sorting once
    at_risk = np.zeros((len(times), k))
    deaths = np.zeros((len(times), k))
    for j in range(k):
        tj = np.sort(t[gi == j])
        at_risk[:, j] = len(tj) - np.searchsorted(tj, times, side="left")
        dj = t[(gi == j) & (e == 1)]
        deaths[:, j] = np.bincount(np.searchsorted(times, dj), minlength=len(times))
    n_t = at_risk.sum(axis=1)
    d_t = deaths.sum(axis=1)
    share = at_risk / n_t[:, None]
    expected = (d_t[:, None] * share).sum(axis=0)
    tie = np.where(n_t > 1, d_t * (n_t - d_t) / np.maximum(n_t - 1, 1), 0.0)
    v = np.einsum("t,tj,tk->jk", tie, share, -share) + np.diag((tie[:, None] * share).sum(axis=0))
    diff = deaths.sum(axis=0) - expected
    stat = float(diff[:-1] @ np.linalg.pinv(v[:-1, :-1]) @ diff[:-1])
    df = k - 1
    return LogRankResult(
        statistic=stat,
        df=df,
        p_value=float(stats.chi2.sf(stat, df)),
        n=int(ok.sum()),
        n_missing=int((~ok).sum()),
        groups=tuple(
            LogRankGroup(lv, int((gi == j).sum()), int(deaths[:, j].sum()), float(expected[j]))
            for j, lv in enumerate(levels)
        ),
    )
