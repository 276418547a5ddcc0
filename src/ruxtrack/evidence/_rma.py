"""Inverse-variance meta-analysis (common effect and random effects) with moderators.

The model is metafor's ``rma.uni``: ``y = X beta + u + e`` with ``u ~ N(0, tau2)`` and known
sampling variances. tau2 estimators: DerSimonian-Laird (method of moments), Paule-Mandel
(generalised Q = k - p), ML and REML (roots of the score, tau2 >= 0). Knapp-Hartung scales the
covariance by the weighted residual mean square and uses t(k - p), without truncation (metafor's
``test = "knha"``). I2 and H2 use the "typical" within-study variance (metafor's default).
statsmodels' ``combine_effects`` was not used: it does not truncate a negative DL tau2, has no
REML/ML, and its Hartung-Knapp interval uses z (DEPENDENCIES.md, G11).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, stats

from ruxtrack.errors import AnalysisError

Method = Literal["FE", "DL", "REML", "PM", "ML"]
METHOD_LABEL: dict[str, str] = {
    "FE": "common-effect (fixed-effect) inverse-variance model",
    "DL": "random effects, tau2 by DerSimonian-Laird",
    "REML": "random effects, tau2 by restricted maximum likelihood",
    "PM": "random effects, tau2 by Paule-Mandel",
    "ML": "random effects, tau2 by maximum likelihood",
    "GLMM": "binomial-normal GLMM (random-intercept logistic), maximum likelihood, "
    "adaptive Gauss-Hermite quadrature",
}

Array = NDArray[np.float64]


@dataclass(frozen=True)
class RmaFit:
    """A fitted inverse-variance model (model scale)."""

    method: str
    knha: bool
    k: int
    p: int
    beta: Array
    vb: Array
    tau2: float
    qe: float
    qe_df: int
    qe_p: float | None
    i2: float | None
    h2: float | None
    weights: Array
    crit: float
    ddf: int | None
    level: float

    @property
    def se(self) -> float:
        """Standard error of the first coefficient."""
        return float(np.sqrt(self.vb[0, 0]))

    def ci(self) -> tuple[float, float]:
        """Confidence interval of the first coefficient."""
        b = float(self.beta[0])
        return b - self.crit * self.se, b + self.crit * self.se

    def pi(self) -> tuple[float, float]:
        """Prediction interval for the true effect in a new study (intercept-only models)."""
        b = float(self.beta[0])
        half = self.crit * float(np.sqrt(self.se**2 + self.tau2))
        return b - half, b + half

    def qm(self) -> tuple[float, int, int | None, float]:
        """Omnibus test of the coefficients except the intercept: (QM, df1, df2, p)."""
        m = self.p - 1
        if m < 1:
            raise AnalysisError("the model has no moderators to test")
        b = self.beta[1:]
        v = self.vb[1:, 1:]
        qm = float(b @ np.linalg.solve(v, b))
        if self.knha:
            f = qm / m
            return f, m, self.k - self.p, float(stats.f.sf(f, m, self.k - self.p))
        return qm, m, None, float(stats.chi2.sf(qm, m))


def _p_matrix(v: Array, tau2: float, x: Array) -> tuple[Array, Array]:
    w = 1 / (v + tau2)
    wx = x * w[:, None]
    xtwx_inv = np.linalg.inv(x.T @ wx)
    return np.diag(w) - wx @ xtwx_inv @ wx.T, w


def _solve_increasing_root(fn: Callable[[float], float], lower: float, scale: float) -> float:
    """Root of a function that is positive at ``lower`` and negative further up."""
    upper = max(scale, 1e-8)
    for _ in range(200):
        if fn(upper) < 0:
            break
        upper *= 2
    else:
        raise AnalysisError("tau2 could not be bracketed (heterogeneity estimate diverges)")
    root: float = optimize.brentq(fn, lower, upper, xtol=1e-14, rtol=1e-14, maxiter=1000)
    return float(root)


def estimate_tau2(y: Array, v: Array, x: Array, method: Method) -> float:
    """Estimate tau2 (>= 0) with the named estimator."""
    k, p = int(x.shape[0]), int(x.shape[1])
    if method == "FE" or k - p < 1:
        return 0.0
    scale = float(np.var(y)) + float(np.mean(v))
    if method == "DL":
        p0, _ = _p_matrix(v, 0.0, x)
        q = float(y @ p0 @ y)
        return max(0.0, (q - (k - p)) / float(np.trace(p0)))
    if method == "PM":

        def gq(t: float) -> float:
            pm, _ = _p_matrix(v, t, x)
            return float(y @ pm @ y) - (k - p)

        if gq(0.0) <= 0:
            return 0.0
        return _solve_increasing_root(gq, 0.0, scale)

    reml = method == "REML"

    def score(t: float) -> float:
        pm, w = _p_matrix(v, t, x)
        py = pm @ y
        trace = float(np.trace(pm)) if reml else float(np.sum(w))
        return -0.5 * trace + 0.5 * float(py @ py)

    if score(0.0) <= 0:
        return 0.0
    return _solve_increasing_root(score, 0.0, scale)


def fit_rma(
    y: Array,
    v: Array,
    *,
    method: Method,
    knha: bool = False,
    x: Array | None = None,
    level: float = 0.95,
) -> RmaFit:
    """Fit metafor's ``rma(yi, vi, mods, method, test)`` on the model scale.

    Examples
    --------
    >>> import numpy as np
    >>> fit = fit_rma(np.array([0.1, 0.3, 0.5]), np.array([0.01, 0.02, 0.015]), method="DL")
    >>> round(fit.tau2, 6)
    0.032222
    """
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    k = y.size
    xm = np.ones((k, 1)) if x is None else np.asarray(x, dtype=float)
    p = xm.shape[1]
    if k < p:
        raise AnalysisError(f"{k} studies cannot estimate {p} coefficients")
    if np.any(v <= 0) or not np.all(np.isfinite(v)):
        raise AnalysisError("sampling variances must be positive and finite")
    tau2 = estimate_tau2(y, v, xm, method)
    p0, _ = _p_matrix(v, 0.0, xm)
    qe = float(y @ p0 @ y)
    df = k - p
    qe_p = float(stats.chi2.sf(qe, df)) if df > 0 else None
    if df > 0 and method == "FE":
        i2: float | None = max(0.0, 100 * (qe - df) / qe) if qe > 0 else 0.0
        h2: float | None = qe / df
    elif df > 0:
        vt = df / float(np.trace(p0))
        i2 = 100 * tau2 / (vt + tau2)
        h2 = tau2 / vt + 1
    else:
        i2 = h2 = None
    w = 1 / (v + tau2)
    wx = xm * w[:, None]
    vb = np.asarray(np.linalg.inv(xm.T @ wx), dtype=np.float64)
    beta = vb @ (wx.T @ y)
    use_t = knha and df > 0
    if use_t:
        resid = y - xm @ beta
        s2 = float(np.sum(w * resid**2)) / df
        vb = np.asarray(vb * s2, dtype=np.float64)
        crit = float(stats.t.ppf(0.5 + level / 2, df))
    else:
        crit = float(stats.norm.ppf(0.5 + level / 2))
    return RmaFit(
        method=method,
        knha=use_t,
        k=k,
        p=p,
        beta=beta,
        vb=vb,
        tau2=tau2,
        qe=qe,
        qe_df=df,
        qe_p=qe_p,
        i2=i2,
        h2=h2,
        weights=100 * w / np.sum(w),
        crit=crit,
        ddf=df if use_t else None,
        level=level,
    )


def coefficient_pvalue(fit: RmaFit) -> float:
    """Two-sided p-value of the first coefficient (z or t(k - p))."""
    z = float(fit.beta[0]) / fit.se
    if fit.ddf is not None:
        return float(2 * stats.t.sf(abs(z), fit.ddf))
    return float(2 * stats.norm.sf(abs(z)))
