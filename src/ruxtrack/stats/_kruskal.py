"""Kruskal-Wallis test with Dunn's (1964) post hoc comparisons (scikit-posthocs)."""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scikit_posthocs as sp
from scipy import stats

from ruxtrack.errors import AnalysisError

from ._multiplicity import PAdjustMethod, adjust_pvalues, p_adjust_label
from ._result import ArrayLike1D, ResultMixin, as_float_array
from ._warnings import SmallSampleWarning

__all__ = ["DunnComparison", "GroupSize", "KruskalWallisResult", "kruskal_wallis"]

# scipy.stats.kruskal documentation ("Notes"): the chi-squared reference distribution needs
# groups that are not too small; "a typical rule is that each sample must have at least 5
# measurements".
KRUSKAL_MIN_GROUP_N = 5


@dataclass(frozen=True)
class GroupSize(ResultMixin):
    """The number of values a group contributes (and how many were missing)."""

    group: str
    n: int
    n_missing: int


@dataclass(frozen=True)
class DunnComparison(ResultMixin):
    """Dunn's z test of the difference in mean ranks between groups ``a`` and ``b``."""

    a: str
    b: str
    mean_rank_a: float
    mean_rank_b: float
    z: float  # (mean rank a - mean rank b) / SE, tie-corrected
    p_value: float
    p_adjusted: float


@dataclass(frozen=True)
class KruskalWallisResult(ResultMixin):
    """Kruskal-Wallis rank-sum test with Dunn's post hoc comparisons."""

    statistic: float
    df: int
    p_value: float
    n: int
    n_missing: int
    groups: tuple[GroupSize, ...]
    method: str
    posthoc: tuple[DunnComparison, ...]
    posthoc_method: str
    p_adjust_method: str


def _group_order(groups: pd.Series, order: Sequence[Any] | None) -> list[Any]:
    if order is not None:
        return list(order)
    if isinstance(groups.dtype, pd.CategoricalDtype):
        return [c for c in groups.cat.categories if (groups == c).any()]
    return sorted(groups.dropna().unique().tolist(), key=lambda v: (str(type(v)), v))


def kruskal_wallis(
    values: ArrayLike1D,
    groups: Sequence[Any] | pd.Series,
    *,
    order: Sequence[Any] | None = None,
    posthoc: bool = True,
    p_adjust: PAdjustMethod = "holm",
) -> KruskalWallisResult:
    """Kruskal-Wallis test across groups, with Dunn's post hoc z tests.

    R equivalent: ``kruskal.test(values ~ groups)``; the post hoc tests are those of
    ``dunn.test(values, groups, method = "holm")`` (Dunn 1964, tie-corrected variance), computed
    with scikit-posthocs ``posthoc_dunn``. Rows with a missing value or group are dropped and
    counted per group.

    Parameters
    ----------
    values : array-like of float
        One value per patient.
    groups : array-like
        Group label per patient (e.g. complete responders / late responders / progression).
    order : sequence, optional
        Group order for the output. Default: categories of a Categorical, else sorted labels.
    posthoc : bool, default True
    p_adjust : {"holm", "bonferroni", "BH", "none"}, default "holm"

    Returns
    -------
    KruskalWallisResult

    Warns
    -----
    SmallSampleWarning
        Some group has fewer than 5 values (the chi-squared approximation is then rough).

    Examples
    --------
    >>> import warnings; warnings.simplefilter("ignore")
    >>> r = kruskal_wallis([2.9, 3.0, 2.5, 2.6, 3.2, 3.8, 2.7, 4.0, 2.4, 2.8, 3.4, 3.7, 2.2, 2.0],
    ...                    ["x"] * 5 + ["y"] * 4 + ["z"] * 5)
    >>> round(r.statistic, 4), round(r.p_value, 4)
    (0.7714, 0.68)
    """
    vals = as_float_array(values, "values")
    grp = groups if isinstance(groups, pd.Series) else pd.Series(list(groups), dtype="object")
    grp = grp.reset_index(drop=True)
    if len(grp) != vals.size:
        raise AnalysisError(f"values and groups differ in length ({vals.size} vs {len(grp)})")
    labels = _group_order(grp, order)
    if len(labels) < 2:
        raise AnalysisError(f"Kruskal-Wallis test needs at least 2 groups, got {len(labels)}")
    present = grp.isin(labels).to_numpy()
    ok = present & ~np.isnan(vals)
    sizes = []
    samples = []
    for label in labels:
        in_group = (grp == label).to_numpy()
        sample = vals[in_group & ok]
        if sample.size == 0:
            raise AnalysisError(f"group {label!r} has no non-missing values")
        samples.append(sample)
        sizes.append(
            GroupSize(group=str(label), n=int(sample.size), n_missing=int((in_group & ~ok).sum()))
        )
    small = [g for g in sizes if g.n < KRUSKAL_MIN_GROUP_N]
    if small:
        warnings.warn(
            "Kruskal-Wallis chi-squared approximation with small groups ("
            + ", ".join(f"{g.group}: n = {g.n}" for g in small)
            + f"; at least {KRUSKAL_MIN_GROUP_N} per group is the usual rule)",
            SmallSampleWarning,
            stacklevel=2,
        )
    all_values = np.concatenate(samples)
    if np.unique(all_values).size == 1:
        raise AnalysisError("all values are identical: the Kruskal-Wallis statistic is undefined")
    res = stats.kruskal(*samples)
    comparisons: list[DunnComparison] = []
    if posthoc:
        frame = pd.DataFrame(
            {
                "value": all_values,
                "group": np.repeat(np.arange(len(labels)), [s.size for s in samples]),
            }
        )
        p_raw = sp.posthoc_dunn(frame, val_col="value", group_col="group", p_adjust=None)
        ranks = stats.rankdata(all_values)
        n_total = all_values.size
        _, tie_counts = np.unique(all_values, return_counts=True)
        tie_term = float((tie_counts**3 - tie_counts).sum()) / (12 * (n_total - 1))
        variance = n_total * (n_total + 1) / 12 - tie_term
        codes = frame["group"].to_numpy()
        mean_ranks = [float(ranks[codes == g].mean()) for g in range(len(labels))]
        pairs = list(itertools.combinations(range(len(labels)), 2))
        p_values = [float(p_raw.loc[i, j]) for i, j in pairs]
        adjusted = adjust_pvalues(p_values, p_adjust)
        for (i, j), p, p_adj in zip(pairs, p_values, adjusted, strict=True):
            se = math.sqrt(variance * (1 / samples[i].size + 1 / samples[j].size))
            comparisons.append(
                DunnComparison(
                    a=str(labels[i]),
                    b=str(labels[j]),
                    mean_rank_a=mean_ranks[i],
                    mean_rank_b=mean_ranks[j],
                    z=(mean_ranks[i] - mean_ranks[j]) / se,
                    p_value=p,
                    p_adjusted=float(p_adj),
                )
            )
    return KruskalWallisResult(
        statistic=float(res.statistic),
        df=len(labels) - 1,
        p_value=float(res.pvalue),
        n=int(all_values.size),
        n_missing=int(vals.size - all_values.size),
        groups=tuple(sizes),
        method="Kruskal-Wallis rank-sum test (chi-squared approximation, tie-corrected)",
        posthoc=tuple(comparisons),
        posthoc_method="Dunn (1964) z tests of mean ranks, tie-corrected variance (two-sided)",
        p_adjust_method=p_adjust_label(p_adjust),
    )
