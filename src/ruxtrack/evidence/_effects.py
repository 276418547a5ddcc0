"""Effect sizes for single proportions and their back-transformations.

Mirrors metafor's ``escalc(measure = "PR" | "PLO" | "PFT")``: raw proportion, logit, and the
Freeman-Tukey double arcsine; the continuity correction (1/2 to both cells of a study with 0 or
all events, for raw and logit only) comes from ``knowledge/evidence/methods.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from ruxtrack.evidence._config import method_config

Transform = Literal["raw", "logit", "ft"]
TRANSFORMS: tuple[Transform, ...] = ("raw", "logit", "ft")

TRANSFORM_LABEL: dict[Transform, str] = {
    "raw": "raw proportion (metafor measure PR)",
    "logit": "logit (metafor measure PLO)",
    "ft": "Freeman-Tukey double arcsine (metafor measure PFT)",
}
BACK_LABEL: dict[Transform, str] = {
    "raw": "none (the raw scale is the proportion)",
    "logit": "inverse logit",
    "ft": "Miller (1978) inverse with the harmonic mean of the sample sizes",
}

Array = NDArray[np.float64]


@dataclass(frozen=True)
class EffectSizes:
    """Per-study effect sizes ``yi`` with sampling variances ``vi`` on the model scale."""

    transform: Transform
    yi: Array
    vi: Array
    corrected: NDArray[np.bool_]


def effect_sizes(events: Array, totals: Array, transform: Transform) -> EffectSizes:
    """Compute ``yi`` and ``vi`` like metafor's ``escalc`` for one of the three transforms.

    Examples
    --------
    >>> import numpy as np
    >>> es = effect_sizes(np.array([3.0]), np.array([10.0]), "logit")
    >>> round(float(es.yi[0]), 4), round(float(es.vi[0]), 4)
    (-0.8473, 0.4762)
    """
    x = np.asarray(events, dtype=float)
    n = np.asarray(totals, dtype=float)
    cfg = method_config().continuity
    corrected = np.zeros(x.shape, dtype=bool)
    if transform in cfg.measures:
        corrected = (x == 0) | (x == n)
        x = np.where(corrected, x + cfg.add, x)
        n = np.where(corrected, n + 2 * cfg.add, n)
    if transform == "raw":
        p = x / n
        return EffectSizes(transform, p, p * (1 - p) / n, corrected)
    if transform == "logit":
        p = x / n
        return EffectSizes(transform, np.log(p / (1 - p)), 1 / (n * p * (1 - p)), corrected)
    yi = 0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1))))
    return EffectSizes(transform, yi, 1 / (4 * n + 2), corrected)


def ft(p: float, n: float) -> float:
    """Freeman-Tukey double arcsine of ``p`` events per ``n`` (``p * n`` events)."""
    x = p * n
    return float(0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1)))))


def inverse_ft(y: float, n: float) -> float:
    """Miller's (1978) inverse of the double arcsine at sample size ``n``, clamped to [0, 1]."""
    if y <= ft(0.0, n):
        return 0.0
    if y >= ft(1.0, n):
        return 1.0
    t = 2 * y
    s = np.sin(t)
    inner = 1 - (s + (s - 1 / s) / n) ** 2
    return float(0.5 * (1 - np.sign(np.cos(t)) * np.sqrt(max(inner, 0.0))))


def harmonic_mean(totals: Array) -> float:
    """Harmonic mean of the sample sizes (the ``ni`` of metafor's ``transf.ipft.hm``)."""
    n = np.asarray(totals, dtype=float)
    return float(1 / np.mean(1 / n))


def back_transform(value: float | None, transform: Transform, n_hm: float | None) -> float | None:
    """Back-transform one model-scale value to a proportion (``None`` stays ``None``)."""
    if value is None or not np.isfinite(value):
        return None
    if transform == "raw":
        return float(value)
    if transform == "logit":
        return float(1 / (1 + np.exp(-value)))
    if n_hm is None:
        raise ValueError("the Freeman-Tukey back-transform needs a sample size")
    return inverse_ft(value, n_hm)
