"""Marginal distributions fitted to a printed median (range), and rank-preserving maps onto them.

A printed "median (low-high)" of n patients is read as: the median, and the expected smallest and
largest of n draws. On the log scale each side of the median is a half-normal whose spread puts
the expected extreme (Blom's normal score of the n-th order statistic) on the printed bound; the
distribution is truncated to the range. Values are produced from uniforms (inverse CDF), so any
dependence built on the normal scale (a shared latent factor) is carried over unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

__all__ = ["SplitLogNormal", "extreme_z", "mixture_uniform", "to_uniform"]

FloatArray = npt.NDArray[np.float64]

#: Keeps uniforms strictly inside (0, 1) so the inverse CDF stays finite.
_EPS = 1e-12


def extreme_z(n: int) -> float:
    """Blom's normal score of the largest of ``n`` draws: Phi^-1((n - 3/8) / (n + 1/4)).

    Examples
    --------
    >>> round(extreme_z(18), 3)
    1.822
    """
    if n < 2:
        raise ValueError("a range needs at least 2 observations")
    return float(special.ndtri((n - 0.375) / (n + 0.25)))


@dataclass(frozen=True)
class SplitLogNormal:
    """A log-normal with different spreads below and above its median, truncated to [low, high]."""

    median: float
    sigma_low: float
    sigma_high: float
    z_max: float

    @classmethod
    def fit(cls, median: float, low: float, high: float, n: int) -> SplitLogNormal:
        """Fit to a printed median (low-high) of ``n`` patients."""
        if not 0 < low <= median <= high:
            raise ValueError(f"need 0 < low <= median <= high, got {low}, {median}, {high}")
        z = extreme_z(n)
        return cls(median, math.log(median / low) / z, math.log(high / median) / z, z)

    @property
    def low(self) -> float:
        return self.median * math.exp(-self.z_max * self.sigma_low)

    @property
    def high(self) -> float:
        return self.median * math.exp(self.z_max * self.sigma_high)

    def ppf(self, u: FloatArray) -> FloatArray:
        """Values at uniform quantiles ``u`` of the truncated distribution (median at u = 0.5)."""
        p_lo = special.ndtr(-self.z_max)
        p_hi = special.ndtr(self.z_max)
        z = special.ndtri(p_lo + np.clip(u, _EPS, 1 - _EPS) * (p_hi - p_lo))
        scale = np.where(z < 0, self.sigma_low, self.sigma_high)
        out: FloatArray = self.median * np.exp(z * scale)
        return out

    def cdf(self, x: FloatArray | float) -> FloatArray:
        """Probability of a value at or below ``x`` (0 below the range, 1 above it)."""
        xa = np.asarray(x, dtype=np.float64)
        with np.errstate(divide="ignore"):
            logr = np.log(np.maximum(xa, 1e-300) / self.median)
        sigma = np.where(logr < 0, self.sigma_low, self.sigma_high)
        z = np.divide(logr, sigma, out=np.zeros_like(logr), where=sigma > 0)
        z = np.where((sigma == 0) & (logr < 0), -np.inf, z)
        z = np.where((sigma == 0) & (logr > 0), np.inf, z)
        p_lo = special.ndtr(-self.z_max)
        p_hi = special.ndtr(self.z_max)
        out: FloatArray = np.clip((special.ndtr(z) - p_lo) / (p_hi - p_lo), 0.0, 1.0)
        return out


def to_uniform(z: FloatArray) -> FloatArray:
    """Standard-normal scores to uniforms."""
    out: FloatArray = special.ndtr(z)
    return out


def mixture_uniform(z: FloatArray, shifts: Sequence[float], weights: Sequence[float]) -> FloatArray:
    """Uniforms from scores ``z = shift[group] + N(0, 1)`` through the mixture's own CDF.

    With ``weights`` equal to the group proportions the result is uniform over the population,
    so every time point keeps its printed marginal exactly while the groups stay apart.
    """
    out = np.zeros_like(z)
    total = float(sum(weights))
    for shift, w in zip(shifts, weights, strict=True):
        out += (w / total) * special.ndtr(z - shift)
    return out
