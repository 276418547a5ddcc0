"""Multiplicity adjustment of p-values, R's ``p.adjust`` formulas.

statsmodels' ``multipletests`` gives the same numbers (tested) but, in statsmodels 0.15, runs
``gc.collect()`` on every call (~0.15 s each), which dominates a report of many small tests;
the three formulas of R's ``p.adjust`` are written out instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from ruxtrack.errors import AnalysisError

from ._result import FloatArray

__all__ = ["PAdjustMethod", "adjust_pvalues", "p_adjust_label"]

PAdjustMethod = Literal["holm", "bonferroni", "BH", "none"]

_LABELS: dict[str, str] = {
    "holm": "Holm (1979) step-down",
    "bonferroni": "Bonferroni",
    "BH": "Benjamini-Hochberg (1995) false discovery rate",
    "none": "none",
}


def p_adjust_label(method: PAdjustMethod) -> str:
    """Return the human-readable name of an adjustment method."""
    return _LABELS[method]


def adjust_pvalues(
    p_values: Sequence[float] | FloatArray, method: PAdjustMethod = "holm"
) -> FloatArray:
    """Adjust p-values for multiple comparisons, as R's ``p.adjust``.

    Parameters
    ----------
    p_values : sequence of float
        Unadjusted p-values in [0, 1]; NaN entries are kept as NaN and not counted, as in R.
    method : {"holm", "bonferroni", "BH", "none"}
        R's ``p.adjust`` method name. Default ``"holm"`` (R's default).

    Returns
    -------
    numpy.ndarray
        Adjusted p-values in the input order.

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.04, 0.03, 0.005, 0.2]).round(3).tolist()
    [0.04, 0.09, 0.09, 0.025, 0.2]
    """
    p = np.asarray(p_values, dtype=np.float64)
    if method not in _LABELS:
        raise AnalysisError(f"unknown p-value adjustment {method!r}; use one of {sorted(_LABELS)}")
    ok = ~np.isnan(p)
    if ((p[ok] < 0) | (p[ok] > 1)).any():
        raise AnalysisError("p-values must lie in [0, 1]")
    out = p.copy()
    if method == "none" or not ok.any():
        return out
    out[ok] = _adjust(p[ok], method)
    return out


def _adjust(p: FloatArray, method: str) -> FloatArray:
    m = p.size
    if method == "bonferroni":
        return np.minimum(1.0, m * p)
    if method == "holm":
        # R: pmin(1, cummax((n - i + 1) * p[o]))[ro] with o = order(p)
        order = np.argsort(p, kind="stable")
        stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    else:
        # BH, R: pmin(1, cummin(n / i * p[o]))[ro] with o = order(p, decreasing = TRUE)
        order = np.argsort(-p, kind="stable")
        stepped = np.minimum.accumulate(m / np.arange(m, 0, -1) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(1.0, stepped)
    return out
