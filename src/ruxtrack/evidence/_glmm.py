"""Binomial-normal generalised linear mixed model for proportions, fitted by maximum likelihood.

``events_i ~ Binomial(n_i, expit(X_i beta + tau * u_i))`` with ``u_i ~ N(0, 1)``: the model of
metafor's ``rma.glmm(measure = "PLO", method = "ML")``, which calls ``lme4::glmer(nAGQ = 7)``.
The marginal likelihood of each study is integrated by adaptive Gauss-Hermite quadrature centred
on the conditional mode with the Laplace scale, as lme4 does for one scalar random effect; the
standard errors invert the Hessian of the deviance over (tau, beta), as lme4's ``vcov`` does when
it has the finite-difference Hessian. No Python package provides this model with quadrature
(statsmodels' ``BinomialBayesMixedGLM`` is a variational Bayes approximation, not ML).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import statsmodels.api as sm
from numpy.typing import NDArray
from scipy import optimize, special, stats

from ruxtrack.errors import AnalysisError
from ruxtrack.evidence._config import method_config

Array = NDArray[np.float64]


@lru_cache(maxsize=8)
def _gh_rule(points: int) -> tuple[Array, Array]:
    """Nodes and weights of the Gauss-Hermite rule for the standard normal density."""
    z, w = np.polynomial.hermite_e.hermegauss(points)
    return np.asarray(z, dtype=np.float64), np.asarray(w / np.sqrt(2 * np.pi), dtype=np.float64)


def _log_binom(x: Array, n: Array, eta: Array) -> Array:
    # x*log(p) + (n-x)*log(1-p) with the binomial coefficient, stable for large |eta|
    coef = special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1)
    return np.asarray(coef + x * eta - n * np.logaddexp(0.0, eta), dtype=np.float64)


def _conditional_modes(x: Array, n: Array, eta: Array, tau: float) -> tuple[Array, Array]:
    """Mode of u for each study and the Laplace scale 1/sqrt(-g'') at the mode."""
    # g'(u) = tau (x - n p) - u is strictly decreasing, so its root lies in [-tau n, tau n]:
    # Newton steps, safeguarded by bisection inside that bracket.
    lo = -tau * n - 1.0
    hi = tau * n + 1.0
    u = np.zeros_like(eta)
    for _ in range(500):
        pr = special.expit(eta + tau * u)
        grad = tau * (x - n * pr) - u
        lo = np.where(grad > 0, u, lo)
        hi = np.where(grad < 0, u, hi)
        hess = tau**2 * n * pr * (1 - pr) + 1
        new = u + grad / hess
        outside = (new <= lo) | (new >= hi)
        new = np.where(outside, 0.5 * (lo + hi), new)
        done = np.max(np.abs(new - u)) < 1e-13
        u = new
        if done:
            break
    pr = special.expit(eta + tau * u)
    return u, 1 / np.sqrt(tau**2 * n * pr * (1 - pr) + 1)


def deviance(params: Array, x: Array, n: Array, xm: Array, points: int) -> float:
    """-2 log marginal likelihood at ``params = (tau, beta...)`` by adaptive quadrature."""
    tau = abs(float(params[0]))
    eta = xm @ params[1:]
    if tau == 0.0:
        return float(-2 * np.sum(_log_binom(x, n, eta)))
    mode, scale = _conditional_modes(x, n, eta, tau)
    z, w = _gh_rule(points)
    u = mode[:, None] + scale[:, None] * z[None, :]
    g = _log_binom(x[:, None], n[:, None], eta[:, None] + tau * u) - 0.5 * u**2
    g = g + 0.5 * z[None, :] ** 2  # divide by phi(z): the rule integrates against phi
    log_li = np.log(scale) + special.logsumexp(g, b=w[None, :], axis=1)
    return float(-2 * np.sum(log_li))


def _hessian(fn: Callable[[Array], float], x0: Array) -> Array:
    m = x0.size
    h = 1e-4 * np.maximum(1.0, np.abs(x0))
    out = np.empty((m, m))
    f0 = fn(x0)
    for i in range(m):
        for j in range(i, m):
            if i == j:
                e = np.zeros(m)
                e[i] = h[i]
                val = (fn(x0 + e) - 2 * f0 + fn(x0 - e)) / h[i] ** 2
            else:
                ei = np.zeros(m)
                ej = np.zeros(m)
                ei[i] = h[i]
                ej[j] = h[j]
                val = (
                    fn(x0 + ei + ej) - fn(x0 + ei - ej) - fn(x0 - ei + ej) + fn(x0 - ei - ej)
                ) / (4 * h[i] * h[j])
            out[i, j] = out[j, i] = val
    return out


@dataclass(frozen=True)
class GlmmFit:
    """A fitted binomial-normal model (logit scale)."""

    k: int
    p: int
    beta: Array
    vb: Array
    tau2: float
    deviance: float
    q_wald: float | None
    q_wald_p: float | None
    q_lrt: float | None
    q_lrt_p: float | None
    q_df: int
    crit: float
    level: float
    quadrature_points: int

    @property
    def se(self) -> float:
        """Standard error of the first coefficient."""
        return float(np.sqrt(self.vb[0, 0]))

    def ci(self) -> tuple[float, float]:
        """Wald (z) confidence interval of the first coefficient."""
        b = float(self.beta[0])
        return b - self.crit * self.se, b + self.crit * self.se

    def pi(self) -> tuple[float, float]:
        """Prediction interval (z, as metafor's ``predict`` for ``rma.glmm``)."""
        b = float(self.beta[0])
        half = self.crit * float(np.sqrt(self.se**2 + self.tau2))
        return b - half, b + half

    def qm(self) -> tuple[float, int, None, float]:
        """Wald test of the coefficients except the intercept: (QM, df, None, p)."""
        m = self.p - 1
        if m < 1:
            raise AnalysisError("the model has no moderators to test")
        b = self.beta[1:]
        qm = float(b @ np.linalg.solve(self.vb[1:, 1:], b))
        return qm, m, None, float(stats.chi2.sf(qm, m))


def _fit_glm(x: Array, n: Array, xm: Array) -> tuple[Array, Array, Array]:
    """Common-effect logistic regression (statsmodels GLM): coefficients, covariance, fitted p."""
    endog = np.column_stack([x, n - x])
    res = sm.GLM(endog, xm, family=sm.families.Binomial()).fit(tol=1e-12, maxiter=200)
    return np.asarray(res.params, float), np.asarray(res.cov_params(), float), res.mu


def _heterogeneity(x: Array, n: Array, xm: Array, mu: Array) -> tuple[float | None, float]:
    """Wald-type and likelihood-ratio tests of the saturated against the common-effect model.

    Studies with 0 or all events have no finite saturated logit; they carry no information in the
    Wald-type statistic (its limit) and are left out of it.
    """
    p = xm.shape[1]
    ok = (x > 0) & (x < n)
    q_wald: float | None = None
    if int(ok.sum()) > p:
        lo = np.log(x[ok] / (n[ok] - x[ok]))
        w = 1 / (1 / x[ok] + 1 / (n[ok] - x[ok]))
        xo = xm[ok]
        wx = xo * w[:, None]
        beta = np.linalg.solve(xo.T @ wx, wx.T @ lo)
        q_wald = float(np.sum(w * (lo - xo @ beta) ** 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(x > 0, x * np.log(x / (n * mu)), 0.0)
        b = np.where(x < n, (n - x) * np.log((n - x) / (n * (1 - mu))), 0.0)
    return q_wald, max(0.0, float(2 * np.sum(a + b)))


def fit_glmm(
    events: Array,
    totals: Array,
    *,
    x: Array | None = None,
    level: float = 0.95,
) -> GlmmFit:
    """Fit ``rma.glmm(measure = "PLO", method = "ML")`` with adaptive Gauss-Hermite quadrature.

    Examples
    --------
    >>> import numpy as np
    >>> fit = fit_glmm(np.array([4.0, 9.0, 20.0, 2.0]), np.array([20.0, 30.0, 40.0, 25.0]))
    >>> fit.tau2 > 0
    True
    """
    xe = np.asarray(events, dtype=float)
    n = np.asarray(totals, dtype=float)
    k = xe.size
    xm = np.ones((k, 1)) if x is None else np.asarray(x, dtype=float)
    p = xm.shape[1]
    if k < p + 1:
        raise AnalysisError(f"the GLMM needs more studies ({k}) than coefficients ({p})")
    points = method_config().glmm_quadrature_points.value
    beta0, _, mu = _fit_glm(xe, n, xm)
    if not np.all(np.isfinite(beta0)):
        raise AnalysisError("the common-effect logistic model did not converge")

    def dev(params: Array) -> float:
        return deviance(params, xe, n, xm, points)

    best: optimize.OptimizeResult | None = None
    for tau_start in (0.5, 1.0, 0.1):
        start = np.concatenate([[tau_start], beta0])
        res = optimize.minimize(
            dev,
            start,
            method="L-BFGS-B",
            bounds=[(0.0, None)] + [(None, None)] * p,
            options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 2000},
        )
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    polish = optimize.minimize(
        dev,
        best.x,
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000},
    )
    est = polish.x if polish.fun < best.fun else best.x
    est = np.concatenate([[abs(est[0])], est[1:]])
    tau = float(est[0])
    try:
        if tau > 1e-6:
            hess = _hessian(dev, est)
            vb = np.asarray(2 * np.linalg.inv(hess)[1:, 1:], dtype=np.float64)
        else:
            tau = 0.0
            est[0] = 0.0
            hess = _hessian(lambda b: dev(np.concatenate([[0.0], b])), est[1:])
            vb = np.asarray(2 * np.linalg.inv(hess), dtype=np.float64)
    except np.linalg.LinAlgError as exc:
        raise AnalysisError(
            "the GLMM Hessian is singular (the fit is not identified on these data)"
        ) from exc
    if np.any(np.diag(vb) <= 0) or not np.all(np.isfinite(vb)):
        raise AnalysisError("the GLMM Hessian is not positive definite (the fit is unreliable)")
    q_wald, q_lrt = _heterogeneity(xe, n, xm, mu)
    df = k - p
    return GlmmFit(
        k=k,
        p=p,
        beta=est[1:],
        vb=vb,
        tau2=tau**2,
        deviance=float(dev(est)),
        q_wald=q_wald,
        q_wald_p=None if q_wald is None else float(stats.chi2.sf(q_wald, df)),
        q_lrt=q_lrt,
        q_lrt_p=float(stats.chi2.sf(q_lrt, df)),
        q_df=df,
        crit=float(stats.norm.ppf(0.5 + level / 2)),
        level=level,
        quadrature_points=points,
    )
