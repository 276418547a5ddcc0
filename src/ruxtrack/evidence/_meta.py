"""Meta-analysis of proportions: one call from counts to a complete, named result."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from ruxtrack.errors import AnalysisError
from ruxtrack.evidence._config import method_config
from ruxtrack.evidence._data import ProportionData
from ruxtrack.evidence._effects import (
    BACK_LABEL,
    TRANSFORM_LABEL,
    TRANSFORMS,
    Transform,
    back_transform,
    effect_sizes,
    harmonic_mean,
)
from ruxtrack.evidence._glmm import GlmmFit, fit_glmm
from ruxtrack.evidence._results import (
    BetweenTest,
    LeaveOneOutRow,
    MetaAnalysis,
    Methods,
    Pooled,
    StudyRow,
)
from ruxtrack.evidence._rma import METHOD_LABEL, Method, RmaFit, fit_rma

MethodName = Literal["FE", "DL", "REML", "PM", "ML", "GLMM"]
METHODS: tuple[MethodName, ...] = ("FE", "DL", "REML", "PM", "ML", "GLMM")
StudyCi = Literal["clopper-pearson", "model"]

Array = NDArray[np.float64]
Fit = RmaFit | GlmmFit

_TAU2_LABEL = {
    "FE": "none (tau2 fixed at 0)",
    "DL": "DerSimonian-Laird",
    "REML": "restricted maximum likelihood",
    "PM": "Paule-Mandel",
    "ML": "maximum likelihood",
    "GLMM": "maximum likelihood (binomial-normal GLMM)",
}


def _counts(data: ProportionData) -> tuple[Array, Array]:
    return np.asarray(data.events, dtype=float), np.asarray(data.totals, dtype=float)


def _fit(
    data: ProportionData,
    transform: Transform,
    method: MethodName,
    hk: bool,
    level: float,
    x: Array | None = None,
) -> Fit:
    ev, n = _counts(data)
    if method == "GLMM":
        return fit_glmm(ev, n, x=x, level=level)
    es = effect_sizes(ev, n, transform)
    m: Method = method
    return fit_rma(es.yi, es.vi, method=m, knha=hk, x=x, level=level)


def _pooled(fit: Fit, data: ProportionData, transform: Transform) -> Pooled:
    n_hm = harmonic_mean(np.asarray(data.totals, float)) if transform == "ft" else None
    lo, hi = fit.ci()
    plo, phi = fit.pi()
    b = float(fit.beta[0])

    def bt(v: float) -> float:
        out = back_transform(v, transform, n_hm)
        if out is None:
            raise AnalysisError(f"back-transformation of {v!r} failed")
        return out

    if isinstance(fit, GlmmFit):
        ev, n = _counts(data)
        vi = effect_sizes(ev, n, "logit").vi
        # typical within-study variance of the logits, (k - 1) / tr(P) (metafor's vt)
        w = 1 / vi
        tr_p = float(np.sum(w) - np.sum(w**2) / np.sum(w))
        vt = (fit.k - 1) / tr_p if fit.k > 1 and tr_p > 0 else float(vi[0])
        i2 = 100 * fit.tau2 / (vt + fit.tau2) if fit.k > 1 else None
        h2 = fit.tau2 / vt + 1 if fit.k > 1 else None
        q, q_p, q_test = (
            fit.q_wald,
            fit.q_wald_p,
            ("Wald-type test, saturated vs common-effect logistic model (metafor QE.Wld)"),
        )
        q_lrt, q_lrt_p = fit.q_lrt, fit.q_lrt_p
        q_df = fit.q_df
    else:
        i2, h2 = fit.i2, fit.h2
        q, q_p, q_df = fit.qe, fit.qe_p, fit.qe_df
        q_test = "Cochran's Q (inverse-variance, common-effect weights)"
        q_lrt = q_lrt_p = None
    return Pooled(
        k=fit.k,
        estimate=bt(b),
        ci_low=bt(lo),
        ci_high=bt(hi),
        pi_low=bt(plo),
        pi_high=bt(phi),
        model_estimate=b,
        model_se=fit.se,
        model_ci_low=lo,
        model_ci_high=hi,
        model_pi_low=plo,
        model_pi_high=phi,
        tau2=fit.tau2,
        tau=float(np.sqrt(fit.tau2)),
        i2=i2,
        h2=h2,
        q=q,
        q_df=q_df,
        q_p=q_p,
        q_test=q_test,
        q_lrt=q_lrt,
        q_lrt_p=q_lrt_p,
        harmonic_mean_n=n_hm,
    )


def _study_rows(
    data: ProportionData, transform: Transform, fit: Fit, level: float, study_ci: StudyCi
) -> tuple[StudyRow, ...]:
    ev, n = _counts(data)
    model_t: Transform = "logit" if isinstance(fit, GlmmFit) else transform
    es = effect_sizes(ev, n, model_t)
    weights = None if isinstance(fit, GlmmFit) else fit.weights
    z = float(stats.norm.ppf(0.5 + level / 2))
    rows = []
    for i in range(data.k):
        x, t = data.events[i], data.totals[i]
        if study_ci == "clopper-pearson":
            ci = stats.binomtest(x, t).proportion_ci(confidence_level=level, method="exact")
            lo, hi = float(ci.low), float(ci.high)
        else:
            half = z * float(np.sqrt(es.vi[i]))
            nh = float(t) if model_t == "ft" else None
            lo = back_transform(float(es.yi[i]) - half, model_t, nh) or 0.0
            hi = back_transform(float(es.yi[i]) + half, model_t, nh) or 0.0
        rows.append(
            StudyRow(
                study=data.studies[i],
                group=None if data.groups is None else data.groups[i],
                events=x,
                total=t,
                proportion=x / t,
                ci_low=lo,
                ci_high=hi,
                yi=float(es.yi[i]),
                vi=float(es.vi[i]),
                weight=None if weights is None else float(weights[i]),
                corrected=bool(es.corrected[i]),
            )
        )
    return tuple(rows)


def _group_design(groups: Sequence[str], levels: Sequence[str]) -> Array:
    x = np.ones((len(groups), len(levels)))
    for j, level_name in enumerate(levels[1:], start=1):
        x[:, j] = [1.0 if g == level_name else 0.0 for g in groups]
    return x


def _leave_one_out(
    data: ProportionData, transform: Transform, method: MethodName, hk: bool, level: float
) -> tuple[LeaveOneOutRow, ...]:
    rows = []
    for i in range(data.k):
        sub = data.subset([j for j in range(data.k) if j != i])
        fit = _fit(sub, transform, method, hk, level)
        pooled = _pooled(fit, sub, transform)
        rows.append(
            LeaveOneOutRow(
                omitted=data.studies[i],
                k=sub.k,
                estimate=pooled.estimate,
                ci_low=pooled.ci_low,
                ci_high=pooled.ci_high,
                model_estimate=pooled.model_estimate,
                model_se=pooled.model_se,
                tau2=pooled.tau2,
                i2=pooled.i2,
                q=pooled.q,
                q_p=pooled.q_p,
            )
        )
    return tuple(rows)


def meta_analysis(
    data: ProportionData,
    *,
    transform: Transform = "logit",
    method: MethodName = "REML",
    hk: bool = False,
    level: float | None = None,
    leave_one_out: bool = True,
    study_ci: StudyCi | None = None,
) -> MetaAnalysis:
    """Pool proportions the way R metafor does, with subgroups and leave-one-out.

    Parameters
    ----------
    data
        Events and totals per study (:func:`read_proportions`); with ``groups`` set, each
        subgroup is pooled separately and the subgroup difference is tested.
    transform
        ``"raw"``, ``"logit"`` or ``"ft"`` (Freeman-Tukey double arcsine, back-transformed with
        the harmonic mean of the sample sizes). The GLMM always models the logit.
    method
        ``"FE"`` (common effect), ``"DL"``, ``"REML"``, ``"PM"``, ``"ML"`` or ``"GLMM"``.
    hk
        Knapp-Hartung adjustment (t distribution with k - 1 df; inverse-variance models only).
    level
        Confidence level (default from ``knowledge/evidence/methods.yaml``: 0.95).
    leave_one_out
        Also refit with each study left out.
    study_ci
        Per-study interval: ``"clopper-pearson"`` (exact, default) or ``"model"`` (Wald interval
        on the model scale, back-transformed).

    Returns
    -------
    MetaAnalysis
        Frozen result; ``to_json_dict()`` gives the documented JSON.

    Examples
    --------
    >>> from ruxtrack.evidence import ProportionData, meta_analysis
    >>> data = ProportionData(("a", "b", "c"), (4, 9, 20), (20, 30, 40))
    >>> res = meta_analysis(data, transform="logit", method="DL", leave_one_out=False)
    >>> round(res.pooled.estimate, 4)
    0.3419
    """
    cfg = method_config()
    lvl = cfg.level.value if level is None else level
    if not 0 < lvl < 1:
        raise AnalysisError(f"level must be between 0 and 1, got {lvl}")
    sci: StudyCi = study_ci or cfg.study_ci.default
    if transform not in TRANSFORMS:
        raise AnalysisError(f"unknown transform {transform!r}; choose one of {TRANSFORMS}")
    if method not in METHODS:
        raise AnalysisError(f"unknown method {method!r}; choose one of {METHODS}")
    warnings: list[str] = []
    if method == "GLMM":
        if transform != "logit":
            raise AnalysisError(
                "the binomial-normal GLMM models the logit of the proportion; use transform "
                f"'logit' (got {transform!r})"
            )
        if hk:
            raise AnalysisError(
                "the Knapp-Hartung adjustment applies to inverse-variance models, not to the GLMM"
            )
        if sum(data.events) == 0 or all(
            e == n for e, n in zip(data.events, data.totals, strict=True)
        ):
            which = (
                "no study has an event"
                if sum(data.events) == 0
                else "every participant had the event"
            )
            raise AnalysisError(
                f"the GLMM cannot be fitted: {which}, so the pooled logit is not finite; use an "
                "inverse-variance method (e.g. -m REML -t ft), which adds a continuity correction"
            )
    if hk and method == "FE":
        warnings.append(
            "Knapp-Hartung is not meant for common-effect models (metafor warns likewise); "
            "it was applied as asked."
        )
    fit = _fit(data, transform, method, hk, lvl)
    pooled = _pooled(fit, data, transform)
    studies = _study_rows(data, transform, fit, lvl, sci)
    n_corr = sum(s.corrected for s in studies)
    if n_corr and transform in cfg.continuity.measures:
        warnings.append(
            f"{n_corr} stud{'y has' if n_corr == 1 else 'ies have'} 0 or all events: "
            f"{cfg.continuity.add:g} was added to both cells for the {transform} effect size "
            "(metafor escalc add = 1/2, to = 'only0')."
        )
    if transform == "raw" and (pooled.ci_low < 0 or pooled.ci_high > 1):
        warnings.append(
            "the raw-scale confidence interval extends beyond [0, 1]; consider the logit or "
            "Freeman-Tukey transform."
        )
    if method not in ("FE", "GLMM") and data.k < 3:
        warnings.append(f"tau2 from {data.k} studies is unreliable.")

    subgroups: dict[str, Pooled] = {}
    between: dict[str, BetweenTest] = {}
    if data.groups is not None:
        levels = sorted(set(data.groups))
        if len(levels) < 2:
            warnings.append(f"only one subgroup ({levels[0]}): no test for subgroup differences.")
        est: list[float] = []
        ses: list[float] = []
        for g in levels:
            sub = data.subset([i for i, gi in enumerate(data.groups) if gi == g])
            sfit = _fit(sub, transform, method, hk, lvl)
            subgroups[g] = _pooled(sfit, sub, transform)
            est.append(float(sfit.beta[0]))
            ses.append(sfit.se)
            if hk and sub.k < 2:
                warnings.append(f"subgroup {g!r} has one study: z used instead of Knapp-Hartung.")
        if len(levels) >= 2:
            w = 1 / np.square(ses)
            e = np.asarray(est)
            mean = float(np.sum(w * e) / np.sum(w))
            qb = float(np.sum(w * (e - mean) ** 2))
            between["separate"] = BetweenTest(
                method="Q between: Wald-type test of the subgroup estimates, each subgroup with "
                "its own tau2 (metafor: separate rma fits, then rma(yi, sei, method='FE')$QE)",
                statistic=qb,
                df=len(levels) - 1,
                df2=None,
                p=float(stats.chi2.sf(qb, len(levels) - 1)),
                distribution="chi2",
            )
            xg = _group_design(data.groups, levels)
            if data.k > len(levels):
                cfit = _fit(data, transform, method, hk, lvl, x=xg)
                qm, df1, df2, p = cfit.qm()
                between["common_tau2"] = BetweenTest(
                    method="QM: moderator test in one mixed-effects model with a common tau2 "
                    "(metafor: rma(yi, vi, mods = ~ factor(group)))",
                    statistic=qm,
                    df=df1,
                    df2=df2,
                    p=p,
                    distribution="F" if df2 is not None else "chi2",
                    tau2=cfit.tau2,
                )
    loo = _leave_one_out(data, transform, method, hk, lvl) if leave_one_out and data.k > 2 else ()
    test = "knha" if isinstance(fit, RmaFit) and fit.knha else "z"
    if test == "knha":
        ci_label = f"Knapp-Hartung: t({fit.k - fit.p} df) with the weighted residual scale"
        pi_label = f"estimate +/- t({fit.k - fit.p}) * sqrt(SE^2 + tau2) (metafor predict)"
    else:
        ci_label = "Wald-type, normal (z) quantile"
        pi_label = (
            "estimate +/- z * sqrt(SE^2 + tau2) (metafor predict)"
            if method != "FE"
            else "equals the confidence interval (tau2 = 0)"
        )
    methods = Methods(
        transform=TRANSFORM_LABEL["logit" if method == "GLMM" else transform],
        model=METHOD_LABEL[method],
        tau2_estimator=_TAU2_LABEL[method],
        ci=ci_label,
        prediction_interval=pi_label,
        heterogeneity_test=pooled.q_test
        + ("; likelihood-ratio test in q_lrt (metafor QE.LRT)" if method == "GLMM" else ""),
        back_transform=BACK_LABEL["logit" if method == "GLMM" else transform],
        study_ci="exact Clopper-Pearson"
        if sci == "clopper-pearson"
        else "Wald on the model scale, back-transformed",
        continuity_correction=(
            f"{cfg.continuity.add:g} added to both cells of studies with 0 or all events "
            "(raw and logit; none for Freeman-Tukey)"
        ),
        subgroup_tests=None if not between else "; ".join(b.method for b in between.values()),
        reference="results pinned to R metafor (rma, rma.glmm, predict, leave1out)",
    )
    return MetaAnalysis(
        source=data.source,
        transform="logit" if method == "GLMM" else transform,
        method=method,
        test=test,
        level=lvl,
        pooled=pooled,
        studies=studies,
        group_column=data.group_column,
        subgroups=subgroups,
        between_test=between,
        leave_one_out=loo,
        methods=methods,
        warnings=tuple(warnings),
    )
