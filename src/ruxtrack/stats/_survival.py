"""Kaplan-Meier estimation (lifelines) with R's conventions for the CI and the median."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from scipy import stats

from ruxtrack.errors import AnalysisError

from ._result import ArrayLike1D, FloatArray, ResultMixin, as_float_array

__all__ = ["ConfType", "KaplanMeierCurve", "KaplanMeierResult", "kaplan_meier"]

ConfType = Literal["log", "log-log", "plain"]

# survival:::quantile.survfit compares the curve with the probability at this tolerance
R_QUANTILE_TOL = math.sqrt(np.finfo(float).eps)

_CONF_LABELS: dict[str, str] = {
    "log": "log (R survfit default): S * exp(+/- z * se(log S)), Greenwood variance",
    "log-log": "log-log (lifelines default): exp(-exp(log(-log S) -/+ z * se(log S) / log S))",
    "plain": "plain (linear): S +/- z * se(S), clipped to [0, 1]",
}
MEDIAN_METHOD = (
    "smallest time with S(t) <= 0.5; where S(t) = 0.5 on an interval, the midpoint between its "
    "start and the next event time (R survival print.survfit / quantile.survfit); CI limits by "
    "the same rule applied to the lower and upper confidence curves"
)


@dataclass(frozen=True)
class KaplanMeierCurve(ResultMixin):
    """One Kaplan-Meier curve: the table at every distinct time, median with its CI."""

    group: str | None
    n: int
    n_events: int
    n_missing: int
    median: float
    median_ci_low: float
    median_ci_high: float
    time: tuple[float, ...]
    n_risk: tuple[int, ...]
    n_event: tuple[int, ...]
    n_censor: tuple[int, ...]
    survival: tuple[float, ...]
    std_err: tuple[float, ...]  # standard error of S(t) (Greenwood), as R summary.survfit
    ci_low: tuple[float, ...]
    ci_high: tuple[float, ...]

    def survival_at(self, t: float) -> tuple[float, float, float]:
        """Return (S, lower, upper) at time ``t`` (right-continuous step function)."""
        idx = int(np.searchsorted(np.asarray(self.time), t, side="right")) - 1
        if idx < 0:
            return 1.0, 1.0, 1.0
        return self.survival[idx], self.ci_low[idx], self.ci_high[idx]


@dataclass(frozen=True)
class KaplanMeierResult(ResultMixin):
    """Kaplan-Meier curves (one per group) and the conventions used."""

    curves: tuple[KaplanMeierCurve, ...]
    conf_type: str
    conf_level: float
    median_method: str
    method: str


def _confint(
    surv: FloatArray, se_log: FloatArray, conf_type: str, z: float
) -> tuple[FloatArray, FloatArray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "log":
            pos = np.where(surv > 0, surv, np.nan)
            low = np.exp(np.log(pos) - z * se_log)
            high = np.minimum(np.exp(np.log(pos) + z * se_log), 1.0)
        elif conf_type == "log-log":
            inner = np.where((surv > 0) & (surv < 1), surv, np.nan)
            scaled = z * se_log / np.log(inner)
            low = np.exp(-np.exp(np.log(-np.log(inner)) - scaled))
            high = np.exp(-np.exp(np.log(-np.log(inner)) + scaled))
        else:
            se_surv = se_log * surv
            low = np.maximum(surv - z * se_surv, 0.0)
            high = np.minimum(surv + z * se_surv, 1.0)
    # where the variance is undefined (S = 0) R reports NA
    bad = np.isnan(se_log)
    low[bad] = np.nan
    high[bad] = np.nan
    return low, high


def _r_quantile_time(times: FloatArray, surv: FloatArray, p: float = 0.5) -> float:
    """Time at which 1 - S first reaches ``p``, with R's midpoint rule on flat stretches."""
    x = np.concatenate([[0.0], times])
    y = np.concatenate([[0.0], 1.0 - surv])
    keep = ~np.isnan(y)
    x_last = x[-1]
    last_y = y[-1]
    x, y = x[keep], y[keep]
    if y.size == 0 or y.max() < p:
        return float("nan")
    first = np.concatenate([[True], np.diff(y) != 0])  # drop repeated levels, keep the first time
    x, y = x[first], y[first]

    def first_index(shift: float) -> int | None:
        hits = np.flatnonzero(y + shift >= p)
        return int(hits[0]) if hits.size else None

    i1 = first_index(R_QUANTILE_TOL)
    i2 = first_index(-R_QUANTILE_TOL)
    if i1 is None:
        return float("nan")
    if not np.isnan(last_y) and abs(p - last_y) < R_QUANTILE_TOL:
        return float((x[i1] + x_last) / 2)
    if i2 is None:
        return float("nan")
    return float((x[i1] + x[i2]) / 2)


def _one_curve(
    durations: FloatArray,
    events: FloatArray,
    n_missing: int,
    group: str | None,
    conf_type: str,
    z: float,
) -> KaplanMeierCurve:
    fitter = KaplanMeierFitter().fit(durations, event_observed=events)
    table = fitter.event_table
    table = table[table.index > 0] if (table.loc[table.index == 0, "removed"].sum() == 0) else table
    times = table.index.to_numpy(dtype=float)
    n_risk = table["at_risk"].to_numpy(dtype=float)
    n_event = table["observed"].to_numpy(dtype=float)
    n_censor = table["censored"].to_numpy(dtype=float)
    surv = fitter.survival_function_.iloc[:, 0].reindex(times).to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0)
    greenwood = np.cumsum(terms)
    se_log = np.sqrt(greenwood)
    se_log[~np.isfinite(se_log)] = np.nan
    low, high = _confint(surv, se_log, conf_type, z)
    median = _r_quantile_time(times, surv)
    median_low = _r_quantile_time(times, low)
    median_high = _r_quantile_time(times, high)
    return KaplanMeierCurve(
        group=group,
        n=int(durations.size),
        n_events=int(events.sum()),
        n_missing=n_missing,
        median=median,
        median_ci_low=median_low,
        median_ci_high=median_high,
        time=tuple(float(t) for t in times),
        n_risk=tuple(int(v) for v in n_risk),
        n_event=tuple(int(v) for v in n_event),
        n_censor=tuple(int(v) for v in n_censor),
        survival=tuple(float(v) for v in surv),
        std_err=tuple(float(v) for v in se_log * surv),
        ci_low=tuple(float(v) for v in low),
        ci_high=tuple(float(v) for v in high),
    )


def kaplan_meier(
    durations: ArrayLike1D,
    events: ArrayLike1D | Sequence[bool],
    *,
    groups: Sequence[Any] | pd.Series | None = None,
    conf_type: ConfType = "log",
    conf_level: float = 0.95,
) -> KaplanMeierResult:
    """Kaplan-Meier survival curves with R's CI and median conventions.

    The product-limit estimate comes from lifelines' ``KaplanMeierFitter``; the Greenwood
    standard error, the pointwise CI and the median follow R's ``survival::survfit`` (R's
    default CI is ``"log"``, lifelines' is ``"log-log"``; the median rule differs too, see
    ``median_method``).

    Parameters
    ----------
    durations : array-like of float
        Follow-up time per patient (e.g. days from ruxolitinib start), >= 0.
    events : array-like of bool / 0-1
        1 if the event was observed, 0 if censored.
    groups : array-like, optional
        Group label per patient; one curve per group in sorted (or categorical) order.
    conf_type : {"log", "log-log", "plain"}, default "log"
    conf_level : float, default 0.95

    Returns
    -------
    KaplanMeierResult

    Examples
    --------
    >>> r = kaplan_meier([9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161],
    ...                  [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0])
    >>> c = r.curves[0]
    >>> c.median, c.median_ci_low, c.median_ci_high
    (31.0, 18.0, nan)
    """
    if conf_type not in _CONF_LABELS:
        raise AnalysisError(f"conf_type must be one of {sorted(_CONF_LABELS)}, got {conf_type!r}")
    if not 0 < conf_level < 1:
        raise AnalysisError(f"conf_level must lie in (0, 1), got {conf_level}")
    t = as_float_array(durations, "durations")
    e = as_float_array(events, "events")
    if t.size != e.size:
        raise AnalysisError(f"durations and events differ in length ({t.size} vs {e.size})")
    if ((t < 0) & ~np.isnan(t)).any():
        raise AnalysisError("durations must be >= 0")
    if not np.isin(e[~np.isnan(e)], (0.0, 1.0)).all():
        raise AnalysisError("events must be 0/1 or False/True")
    ok = ~(np.isnan(t) | np.isnan(e))
    z = float(stats.norm.ppf(1 - (1 - conf_level) / 2))
    curves: list[KaplanMeierCurve] = []
    if groups is None:
        if not ok.any():
            raise AnalysisError("no complete (duration, event) pairs")
        curves.append(_one_curve(t[ok], e[ok], int((~ok).sum()), None, conf_type, z))
    else:
        g = groups if isinstance(groups, pd.Series) else pd.Series(list(groups), dtype="object")
        g = g.reset_index(drop=True)
        if len(g) != t.size:
            raise AnalysisError(f"groups and durations differ in length ({len(g)} vs {t.size})")
        if isinstance(g.dtype, pd.CategoricalDtype):
            labels = [c for c in g.cat.categories if (g == c).any()]
        else:
            labels = sorted(g.dropna().unique().tolist(), key=str)
        for label in labels:
            mask = (g == label).to_numpy()
            use = mask & ok
            if not use.any():
                raise AnalysisError(f"group {label!r} has no complete (duration, event) pairs")
            curves.append(
                _one_curve(t[use], e[use], int((mask & ~ok).sum()), str(label), conf_type, z)
            )
    return KaplanMeierResult(
        curves=tuple(curves),
        conf_type=_CONF_LABELS[conf_type],
        conf_level=conf_level,
        median_method=MEDIAN_METHOD,
        method="Kaplan-Meier product-limit estimator (lifelines), Greenwood variance",
    )
