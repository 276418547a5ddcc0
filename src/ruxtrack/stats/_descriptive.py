"""Descriptive summaries: median (IQR, range) of a numeric variable; n (%) with a CI."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from ruxtrack.errors import AnalysisError

from ._result import ArrayLike1D, ResultMixin, as_float_array

__all__ = [
    "CategoricalSummary",
    "NumericSummary",
    "Proportion",
    "ProportionCIMethod",
    "proportion",
    "summarize_binary",
    "summarize_categorical",
    "summarize_numeric",
]

ProportionCIMethod = Literal["wilson", "clopper-pearson"]

# Hyndman & Fan (1996) sample-quantile definitions 1-9 (R's quantile(type=)) -> numpy methods
_QUANTILE_METHODS: dict[int, str] = {
    1: "inverted_cdf",
    2: "averaged_inverted_cdf",
    3: "closest_observation",
    4: "interpolated_inverted_cdf",
    5: "hazen",
    6: "weibull",
    7: "linear",
    8: "median_unbiased",
    9: "normal_unbiased",
}
_CI_LABELS: dict[str, str] = {
    "wilson": "Wilson score interval (no continuity correction; R prop.test(correct = FALSE))",
    "clopper-pearson": "Clopper-Pearson exact interval (R binom.test)",
}
_STATSMODELS_CI: dict[str, str] = {"wilson": "wilson", "clopper-pearson": "beta"}


@dataclass(frozen=True)
class NumericSummary(ResultMixin):
    """Median with IQR and range, mean and SD, and the n they rest on."""

    n: int
    n_missing: int
    median: float
    q1: float
    q3: float
    minimum: float
    maximum: float
    mean: float
    sd: float
    quantile_method: str


@dataclass(frozen=True)
class Proportion(ResultMixin):
    """``count`` of ``n`` with a confidence interval for the proportion."""

    count: int
    n: int
    n_missing: int
    proportion: float
    ci_low: float
    ci_high: float
    conf_level: float
    ci_method: str
    label: str | None = None


@dataclass(frozen=True)
class CategoricalSummary(ResultMixin):
    """n (%) for every level of a categorical variable; percentages use the non-missing n."""

    n: int
    n_missing: int
    levels: tuple[Proportion, ...]


def summarize_numeric(values: ArrayLike1D, *, quantile_type: int = 7) -> NumericSummary:
    """Summarise a numeric variable: n, n missing, median (Q1-Q3), range, mean (SD).

    Parameters
    ----------
    values : array-like of float
        One value per patient; NaN / None count as missing.
    quantile_type : int, default 7
        Sample-quantile definition of Hyndman & Fan (1996), as R's ``quantile(type=)``.
        7 is R's default (linear interpolation, numpy ``"linear"``); 6 is the
        ``(n + 1) p`` rule used by SPSS, Minitab and GraphPad Prism. The median is the same
        under every continuous type.

    Returns
    -------
    NumericSummary

    Examples
    --------
    >>> s = summarize_numeric([2.9, 3.0, 2.5, 2.6, 3.2, 3.8, None])
    >>> (s.n, s.n_missing, s.median, round(s.q1, 6), round(s.q3, 6))
    (6, 1, 2.95, 2.675, 3.15)
    """
    if quantile_type not in _QUANTILE_METHODS:
        raise AnalysisError(
            f"quantile_type must be one of 1..9 (Hyndman & Fan), got {quantile_type}"
        )
    arr = as_float_array(values, "values")
    ok = arr[~np.isnan(arr)]
    n = int(ok.size)
    numpy_name = _QUANTILE_METHODS[quantile_type]
    method = f"R quantile type {quantile_type} (Hyndman & Fan 1996; numpy '{numpy_name}')"
    if n == 0:
        nan = float("nan")
        return NumericSummary(0, int(arr.size), nan, nan, nan, nan, nan, nan, nan, method)
    q1, _, q3 = np.quantile(ok, [0.25, 0.5, 0.75], method=_QUANTILE_METHODS[quantile_type])  # type: ignore[call-overload]
    return NumericSummary(
        n=n,
        n_missing=int(arr.size - n),
        median=float(np.median(ok)),
        q1=float(q1),
        q3=float(q3),
        minimum=float(ok.min()),
        maximum=float(ok.max()),
        mean=float(ok.mean()),
        sd=float(ok.std(ddof=1)) if n > 1 else float("nan"),
        quantile_method=method,
    )


def proportion(
    count: int,
    n: int,
    *,
    method: ProportionCIMethod = "wilson",
    conf_level: float = 0.95,
    n_missing: int = 0,
    label: str | None = None,
) -> Proportion:
    """Return ``count / n`` with a confidence interval (statsmodels ``proportion_confint``).

    Parameters
    ----------
    count, n : int
        Number with the attribute and number assessed (``0 <= count <= n``).
    method : {"wilson", "clopper-pearson"}
        ``"wilson"`` (default; R ``prop.test(correct = FALSE)``) or ``"clopper-pearson"``
        (exact; R ``binom.test``). statsmodels' own default is the Wald interval, which is not
        offered.
    conf_level : float, default 0.95
    n_missing : int, default 0
        Carried into the result so that every cell states the n it rests on.
    label : str, optional

    Returns
    -------
    Proportion

    Examples
    --------
    >>> p = proportion(10, 18, method="clopper-pearson")
    >>> round(p.ci_low, 4), round(p.ci_high, 4)
    (0.3076, 0.7847)
    """
    if not 0 <= count <= n or n <= 0:
        raise AnalysisError(f"need 0 <= count <= n and n > 0, got count={count}, n={n}")
    if not 0 < conf_level < 1:
        raise AnalysisError(f"conf_level must lie in (0, 1), got {conf_level}")
    if method not in _CI_LABELS:
        raise AnalysisError(f"unknown CI method {method!r}; use 'wilson' or 'clopper-pearson'")
    low, high = proportion_confint(count, n, alpha=1 - conf_level, method=_STATSMODELS_CI[method])
    # statsmodels returns 1 - 1e-16 style values at the boundaries; R returns exactly 0 / 1
    low = 0.0 if count == 0 else float(low)
    high = 1.0 if count == n else float(high)
    return Proportion(
        count=int(count),
        n=int(n),
        n_missing=int(n_missing),
        proportion=count / n,
        ci_low=low,
        ci_high=high,
        conf_level=conf_level,
        ci_method=_CI_LABELS[method],
        label=label,
    )


def _non_missing(values: Any) -> tuple[pd.Series, int]:
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype="object")
    missing = series.isna()
    return series[~missing], int(missing.sum())


def summarize_binary(
    values: ArrayLike1D | Sequence[bool | None],
    *,
    method: ProportionCIMethod = "wilson",
    conf_level: float = 0.95,
    label: str | None = None,
) -> Proportion:
    """n (%) of a yes/no variable, missing values excluded from the denominator.

    Parameters
    ----------
    values : array-like of bool / 0-1
        One value per patient; None / NaN are missing.
    method, conf_level, label
        As :func:`proportion`.

    Examples
    --------
    >>> p = summarize_binary([True, False, True, None])
    >>> (p.count, p.n, p.n_missing)
    (2, 3, 1)
    """
    ok, n_missing = _non_missing(values)
    allowed = {0, 1}  # True == 1 and False == 0
    bad = [v for v in ok.tolist() if v not in allowed]
    if bad:
        raise AnalysisError(f"binary values must be True/False or 1/0, got {bad[:5]}")
    if ok.empty:
        raise AnalysisError("no non-missing values")
    count = int(sum(bool(v) for v in ok.tolist()))
    return proportion(
        count, int(ok.size), method=method, conf_level=conf_level, n_missing=n_missing, label=label
    )


def summarize_categorical(
    values: ArrayLike1D | Sequence[str | None],
    *,
    levels: Sequence[Any] | None = None,
    method: ProportionCIMethod = "wilson",
    conf_level: float = 0.95,
) -> CategoricalSummary:
    """n (%) per level of a categorical variable (e.g. blood group).

    Parameters
    ----------
    values : array-like
        One value per patient; None / NaN are missing ("not available") and are reported as
        ``n_missing``, not as a level.
    levels : sequence, optional
        Levels in display order, including levels with zero count. Default: categories of a
        pandas Categorical, else sorted distinct values.
    method, conf_level
        As :func:`proportion`.

    Examples
    --------
    >>> s = summarize_categorical(["A", "O", "A", None], levels=["A", "B", "O"])
    >>> [(p.label, p.count) for p in s.levels], s.n, s.n_missing
    ([('A', 2), ('B', 0), ('O', 1)], 3, 1)
    """
    ok, n_missing = _non_missing(values)
    if ok.empty:
        raise AnalysisError("no non-missing values")
    if levels is None:
        if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
            levels = list(values.cat.categories)
        else:
            levels = sorted(set(ok.tolist()), key=str)
    unknown = set(ok.tolist()) - set(levels)
    if unknown:
        raise AnalysisError(f"values not among the levels given: {sorted(map(str, unknown))}")
    n = int(ok.size)
    counts = ok.value_counts()
    rows = tuple(
        proportion(
            int(counts.get(level, 0)),
            n,
            method=method,
            conf_level=conf_level,
            n_missing=n_missing,
            label=str(level),
        )
        for level in levels
    )
    return CategoricalSummary(n=n, n_missing=n_missing, levels=rows)
