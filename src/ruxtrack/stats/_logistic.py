"""Logistic regression with Firth's penalty (firthmodels), for few events or separation."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from firthmodels import FirthLogisticRegression, detect_separation
from scipy import stats
from scipy.linalg import LinAlgError
from sklearn.exceptions import ConvergenceWarning

from ruxtrack.errors import AnalysisError

from ._result import ResultMixin

__all__ = ["FirthCoefficient", "FirthLogisticResult", "firth_logistic"]

# firthmodels' defaults (gtol = xtol = 1e-4) give ~4 significant digits; these reach the
# precision of R's logistf / brglm2 (tested to 1e-6 relative). A tighter gtol cannot be met in
# floating point on covariates measured in tens (endometrial PI) and stalls the solver.
_GTOL = 1e-7
_XTOL = 1e-8
_MAX_ITER = 200
INTERCEPT = "(Intercept)"


@dataclass(frozen=True)
class FirthCoefficient(ResultMixin):
    """One model term: log-odds coefficient, odds ratio, profile CI and penalised LR test."""

    term: str
    coef: float
    se: float  # sqrt(diag((X'WX)^-1)) at the penalised estimate (brglm2's, Heinze & Schemper's)
    odds_ratio: float
    ci_low: float  # odds-ratio scale
    ci_high: float
    coef_ci_low: float  # log-odds scale
    coef_ci_high: float
    chi2: float  # penalised likelihood-ratio statistic (1 df)
    p_value: float


@dataclass(frozen=True)
class FirthLogisticResult(ResultMixin):
    """Firth-penalised logistic regression fit."""

    outcome: str
    coefficients: tuple[FirthCoefficient, ...]
    n: int
    n_events: int
    n_missing: int
    penalized_loglik: float
    separation: bool  # (quasi-)complete separation: ordinary ML estimates would be infinite
    converged: bool
    conf_level: float
    method: str
    ci_method: str
    p_method: str

    def term(self, name: str) -> FirthCoefficient:
        """Return the coefficient of term ``name``."""
        for c in self.coefficients:
            if c.term == name:
                return c
        raise KeyError(name)


def firth_logistic(
    data: pd.DataFrame,
    outcome: str,
    predictors: Sequence[str],
    *,
    conf_level: float = 0.95,
) -> FirthLogisticResult:
    """Fit a logistic regression with Firth's (1993) penalty, as R's ``logistf`` defaults.

    Reports, per term, the penalised-ML coefficient and odds ratio, the profile penalised
    likelihood CI and the penalised likelihood-ratio test (Heinze & Schemper 2002), which stay
    finite under separation (e.g. every early starter responded).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per patient.
    outcome : str
        Column holding the 0/1 (or False/True) outcome, e.g. ``"complete_response"``.
    predictors : sequence of str
        Numeric (or 0/1) predictor columns, e.g. ``["early_start"]``. Rows with a missing
        outcome or predictor are dropped and counted (complete-case analysis).
    conf_level : float, default 0.95

    Returns
    -------
    FirthLogisticResult

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"early": [1] * 12 + [0] * 6, "cr": [1] * 10 + [0] * 8})
    >>> r = firth_logistic(df, "cr", ["early"])
    >>> c = r.term("early")
    >>> round(c.coef, 4), round(c.ci_low, 2), round(c.p_value, 5), r.separation
    (4.0, 4.23, 0.00082, True)
    """
    if not 0 < conf_level < 1:
        raise AnalysisError(f"conf_level must lie in (0, 1), got {conf_level}")
    predictors = list(predictors)
    if not predictors:
        raise AnalysisError("at least one predictor is required")
    missing_cols = [c for c in [outcome, *predictors] if c not in data.columns]
    if missing_cols:
        raise AnalysisError(f"columns not in data: {missing_cols}")
    subset = data[[outcome, *predictors]]
    try:
        numeric = subset.apply(lambda s: pd.to_numeric(s.astype("object").where(s.notna(), np.nan)))
    except (TypeError, ValueError) as exc:
        raise AnalysisError(f"outcome and predictors must be numeric or boolean ({exc})") from exc
    complete = numeric.dropna()
    n_missing = int(len(numeric) - len(complete))
    y = complete[outcome].to_numpy(dtype=float)
    if not np.isin(y, (0.0, 1.0)).all():
        raise AnalysisError(f"outcome {outcome!r} must be 0/1 or False/True")
    n_events = int(y.sum())
    if n_events == 0 or n_events == y.size:
        raise AnalysisError(f"outcome {outcome!r} has no variation ({n_events} events of {y.size})")
    # Identical rows (predictors and outcome) collapse into one with their count as frequency
    # weight: the penalised likelihood, its Fisher information and hat values sum over copies,
    # so the fit is the same (tested against the row-by-row fit) and a binary predictor on a
    # million patients is a four-row problem.
    # Rows all distinct (continuous covariates) are fitted as they come: the solver's path, at
    # these tolerances, depends on the order of the rows.
    counts = complete.groupby([*predictors, outcome], sort=True).size().reset_index(name="_n")
    if len(counts) == len(complete):
        counts = complete.assign(_n=1)
    x = counts[predictors].to_numpy(dtype=float)
    y_rows = counts[outcome].to_numpy(dtype=int)
    weight = counts["_n"].to_numpy(dtype=float)
    model = FirthLogisticRegression(
        backend="numpy", max_iter=_MAX_ITER, gtol=_GTOL, xtol=_XTOL, max_halfstep=50
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            model.fit(x, y_rows, sample_weight=None if len(counts) == len(complete) else weight)
            model.lrt()
            ci = model.conf_int(alpha=1 - conf_level, method="pl", max_iter=_MAX_ITER, tol=_XTOL)
        separation = bool(detect_separation(x, y_rows).separation)
    except (ConvergenceWarning, LinAlgError, ValueError) as exc:
        raise AnalysisError(f"Firth logistic regression of {outcome!r} failed: {exc}") from exc
    names = [*predictors, INTERCEPT]
    beta = np.concatenate([model.coef_, [model.intercept_]])
    design = np.column_stack([x, np.ones(len(x))])
    fitted = 1 / (1 + np.exp(-(design @ beta)))
    information = design.T @ (design * (weight * fitted * (1 - fitted))[:, None])
    # firthmodels' bse_ comes from a different information matrix; R's brglm2 vcov and the
    # inverse Fisher information of Heinze & Schemper (2002) agree with this one (tested)
    std_errors = np.sqrt(np.diag(np.linalg.inv(information)))
    chi2 = stats.chi2.isf(model.lrt_pvalues_, 1)
    coefficients = [
        FirthCoefficient(
            term=name,
            coef=float(b),
            se=float(se),
            odds_ratio=float(np.exp(b)),
            ci_low=float(np.exp(lo)),
            ci_high=float(np.exp(hi)),
            coef_ci_low=float(lo),
            coef_ci_high=float(hi),
            chi2=float(c2),
            p_value=float(p),
        )
        for name, b, se, (lo, hi), c2, p in zip(
            names, beta, std_errors, ci, chi2, model.lrt_pvalues_, strict=True
        )
    ]
    # intercept first, as R prints it
    coefficients = [coefficients[-1], *coefficients[:-1]]
    return FirthLogisticResult(
        outcome=outcome,
        coefficients=tuple(coefficients),
        n=int(y.size),
        n_events=n_events,
        n_missing=n_missing,
        penalized_loglik=float(model.loglik_),
        separation=separation,
        converged=bool(model.converged_),
        conf_level=conf_level,
        method="Firth penalised-likelihood logistic regression (firthmodels)",
        ci_method="profile penalised likelihood (Heinze & Schemper 2002; logistf default)",
        p_method="penalised likelihood-ratio test, 1 df (logistf default)",
    )
