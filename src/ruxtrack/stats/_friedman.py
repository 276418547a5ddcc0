"""Friedman test across k time points with pairwise Wilcoxon signed-rank post hoc tests."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ruxtrack.errors import AnalysisError

from ._multiplicity import PAdjustMethod, adjust_pvalues, p_adjust_label
from ._result import ResultMixin
from ._warnings import SmallSampleWarning
from ._wilcoxon import wilcoxon_signed_rank

__all__ = ["FriedmanResult", "PairedComparison", "friedman_test"]

# scipy.stats.friedmanchisquare documentation ("Notes"): the chi-squared p-value "is only
# reliable for n > 10 and more than 6 repeated samples". Below n = 10 we say so.
FRIEDMAN_MIN_N = 10


@dataclass(frozen=True)
class PairedComparison(ResultMixin):
    """One post hoc Wilcoxon signed-rank comparison between two time points."""

    a: str
    b: str
    statistic: float  # V for a - b
    n: int  # non-zero differences used
    n_zero_differences: int
    p_value: float
    p_adjusted: float
    method: str


@dataclass(frozen=True)
class FriedmanResult(ResultMixin):
    """Friedman rank-sum test on complete cases, with its post hoc comparisons."""

    statistic: float
    df: int
    p_value: float
    n: int  # complete cases (subjects with a value at every time point)
    n_dropped: int  # subjects dropped for a missing value
    time_points: tuple[str, ...]
    method: str
    posthoc: tuple[PairedComparison, ...]
    posthoc_method: str
    p_adjust_method: str


def friedman_test(
    data: pd.DataFrame | Any,
    *,
    columns: Sequence[str] | None = None,
    posthoc: bool = True,
    p_adjust: PAdjustMethod = "holm",
) -> FriedmanResult:
    """Friedman test across time points (columns), one row per subject, on complete cases.

    R equivalent: ``friedman.test(as.matrix(data[complete.cases(data), ]))`` followed by
    ``pairwise.wilcox.test(value, time, paired = TRUE, p.adjust.method = "holm")`` on the same
    complete cases. Each pair uses R's rule: exact signed-rank distribution when fewer than 50
    non-zero differences and no ties or zeros, else the normal approximation with continuity
    correction; the method used is named per pair.

    Parameters
    ----------
    data : pandas.DataFrame or 2-D array
        Rows are subjects, columns are time points (e.g. ``ferritin_admission``,
        ``ferritin_start``, ``ferritin_d8``, ``ferritin_d15``). NaN marks a missing value.
    columns : sequence of str, optional
        Columns to use, in time order. Default: all columns.
    posthoc : bool, default True
        Run the pairwise signed-rank tests.
    p_adjust : {"holm", "bonferroni", "BH", "none"}, default "holm"

    Returns
    -------
    FriedmanResult
        ``n`` is the number of complete cases the test rests on, ``n_dropped`` the subjects
        left out.

    Warns
    -----
    SmallSampleWarning
        Fewer than 10 complete cases (the chi-squared reference distribution is unreliable).
    ApproximationWarning
        A post hoc pair fell back to the normal approximation because of ties or zeros.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"t0": [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30],
    ...                    "t1": [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29],
    ...                    "t2": [0.70, 0.41, 0.52, 1.90, 0.99, 1.11, 0.95, 2.70, 1.12]})
    >>> import warnings; warnings.simplefilter("ignore")
    >>> r = friedman_test(df)
    >>> round(r.statistic, 6), r.n, [round(c.p_adjusted, 6) for c in r.posthoc]
    (14.888889, 9, [0.039062, 0.011719, 0.011719])
    """
    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(np.asarray(data, dtype=float))
    if columns is not None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise AnalysisError(f"columns not in data: {missing}")
        frame = frame.loc[:, list(columns)]
    if frame.shape[1] < 2:
        raise AnalysisError(f"Friedman test needs at least 2 time points, got {frame.shape[1]}")
    try:
        values = frame.apply(pd.to_numeric, errors="raise").astype(float)
    except (TypeError, ValueError) as exc:
        raise AnalysisError(f"Friedman test needs numeric values ({exc})") from exc
    complete = values.dropna(axis=0, how="any")
    n = int(complete.shape[0])
    n_dropped = int(values.shape[0] - n)
    names = tuple(str(c) for c in complete.columns)
    if n < 2:
        raise AnalysisError(
            f"Friedman test needs at least 2 complete cases, got {n} ({n_dropped} dropped)"
        )
    if n < FRIEDMAN_MIN_N:
        warnings.warn(
            f"Friedman test on n = {n} complete cases ({n_dropped} dropped): the chi-squared "
            f"approximation is unreliable below n = {FRIEDMAN_MIN_N}",
            SmallSampleWarning,
            stacklevel=2,
        )
    matrix = complete.to_numpy()
    k = matrix.shape[1]
    if k == 2:
        # scipy requires >= 3 samples; the Friedman statistic is defined for k = 2 (R allows it)
        ranks = np.apply_along_axis(stats.rankdata, 1, matrix)
        r_sum = ranks.sum(axis=0)
        ties = sum(
            float(((c := np.unique(row, return_counts=True)[1]) ** 3 - c).sum()) for row in matrix
        )
        denom = 1 - ties / (n * (k**3 - k))
        statistic = float((12 * ((r_sum - n * (k + 1) / 2) ** 2).sum() / (n * k * (k + 1))) / denom)
        p_value = float(stats.chi2.sf(statistic, k - 1))
    else:
        res = stats.friedmanchisquare(*matrix.T)
        statistic, p_value = float(res.statistic), float(res.pvalue)
    comparisons: list[PairedComparison] = []
    if posthoc:
        raw = []
        for i, j in itertools.combinations(range(k), 2):
            raw.append((i, j, wilcoxon_signed_rank(matrix[:, i], matrix[:, j])))
        adjusted = adjust_pvalues([r.p_value for _, _, r in raw], p_adjust)
        for (i, j, r), p_adj in zip(raw, adjusted, strict=True):
            comparisons.append(
                PairedComparison(
                    a=names[i],
                    b=names[j],
                    statistic=r.statistic,
                    n=r.n,
                    n_zero_differences=r.n_zero_differences,
                    p_value=r.p_value,
                    p_adjusted=float(p_adj),
                    method=r.method,
                )
            )
    return FriedmanResult(
        statistic=statistic,
        df=k - 1,
        p_value=p_value,
        n=n,
        n_dropped=n_dropped,
        time_points=names,
        method="Friedman rank-sum test (chi-squared approximation, tie-corrected)",
        posthoc=tuple(comparisons),
        posthoc_method="pairwise Wilcoxon signed-rank tests on the complete cases",
        p_adjust_method=p_adjust_label(p_adjust),
    )
