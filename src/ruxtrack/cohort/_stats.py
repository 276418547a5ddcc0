"""The one place the cohort layer calls statistics.

Each function returns plain values plus the method name as the output must show it. The numbers
come from the libraries that do them well (scipy, statsmodels, scikit-posthocs, lifelines,
firthmodels), called with the settings that match R where the defaults differ (project notes
DEPENDENCIES.md): Wilcoxon and Mann–Whitney exact below 50 without ties, else normal with
continuity correction; Wilson intervals for proportions; R's type-7 quantiles for the IQR.
When the project's statistics layer (:mod:`ruxtrack.stats`) is present, this module is the seam
to route through it.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ruxtrack.errors import AnalysisError

__all__ = [
    "cumulative_incidence",
    "describe",
    "describe_method",
    "firth",
    "fisher",
    "friedman",
    "kaplan_meier",
    "kruskal",
    "mann_whitney",
    "proportion",
]

#: Monte Carlo resamples and seed for r×c Fisher tests (scipy has no exact r×c test, trap G10).
FISHER_RC_RESAMPLES = 200_000
FISHER_RC_SEED = 20210101
EXACT_BELOW = 50  # R's wilcox.test switches to the normal approximation from n = 50


def describe_method() -> str:
    """How medians and quartiles are computed."""
    return "median, range, IQR (quantile type 7, as R)"


def describe(x: np.ndarray) -> dict[str, float | int | None]:
    """Median, range and IQR of a sample (no missing values)."""
    q1, med, q3 = np.percentile(x, [25, 50, 75])
    return {
        "n": len(x),
        "median": float(med),
        "min": float(np.min(x)),
        "max": float(np.max(x)),
        "q1": float(q1),
        "q3": float(q3),
    }


def proportion(k: int, n: int) -> dict[str, Any]:
    """k/n with a 95 % Wilson score interval."""
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    return {
        "method": "Wilson score 95% CI",
        "values": {"n": n, "proportion": k / n, "ci_low": float(lo), "ci_high": float(hi)},
    }


def _wilcoxon(a: np.ndarray, b: np.ndarray) -> tuple[float, str]:
    from scipy import stats

    d = a - b
    nz = d[d != 0]
    ties = len(np.unique(np.abs(nz))) < len(nz) or len(nz) < len(d)
    if len(nz) == 0:
        return 1.0, "no differences"
    if len(nz) < EXACT_BELOW and not ties:
        res = stats.wilcoxon(a, b, method="exact")
        return float(res.pvalue), "exact"
    res = stats.wilcoxon(a, b, method="approx", correction=True)
    return float(res.pvalue), "normal approximation with continuity correction"


def friedman(matrix: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """Friedman test across columns (complete cases) with pairwise Wilcoxon signed-rank, Holm."""
    from scipy import stats
    from statsmodels.stats.multitest import multipletests

    n, k = matrix.shape
    if k < 3:
        p, how = _wilcoxon(matrix[:, 0], matrix[:, 1])
        return {
            "method": f"Wilcoxon signed-rank test ({how})",
            "p_value": p,
            "statistic": None,
            "n": n,
            "detail": {},
        }
    res = stats.friedmanchisquare(*[matrix[:, j] for j in range(k)])
    pairs = list(itertools.combinations(range(k), 2))
    raw = [_wilcoxon(matrix[:, i], matrix[:, j]) for i, j in pairs]
    adj = multipletests([p for p, _ in raw], method="holm")[1]
    pairwise = [
        {"a": labels[i], "b": labels[j], "p_raw": p, "p_holm": float(pa), "method": how}
        for (i, j), (p, how), pa in zip(pairs, raw, adj, strict=True)
    ]
    return {
        "method": "Friedman test (complete cases); pairwise Wilcoxon signed-rank, Holm",
        "p_value": float(res.pvalue),
        "statistic": float(res.statistic),
        "n": n,
        "detail": {"df": k - 1, "pairwise": pairwise},
    }


def kruskal(samples: Sequence[np.ndarray], labels: Sequence[str]) -> dict[str, Any]:
    """Kruskal–Wallis test with Dunn's post hoc comparisons (Holm)."""
    import pandas as pd
    import scikit_posthocs as sp
    from scipy import stats

    res = stats.kruskal(*samples)
    long = pd.DataFrame(
        {
            "v": np.concatenate(samples),
            "g": np.repeat(list(labels)[: len(samples)], [len(s) for s in samples]),
        }
    )
    dunn = sp.posthoc_dunn(long, val_col="v", group_col="g", p_adjust="holm")
    pairwise = [
        {"a": a, "b": b, "p_holm": float(dunn.loc[a, b])}
        for a, b in itertools.combinations(list(dunn.index), 2)
    ]
    return {
        "method": "Kruskal–Wallis test; Dunn post hoc, Holm",
        "p_value": float(res.pvalue),
        "statistic": float(res.statistic),
        "n": int(sum(len(s) for s in samples)),
        "detail": {"df": len(samples) - 1, "pairwise": pairwise},
    }


def mann_whitney(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    """Mann–Whitney U test, exact below 50 per group without ties (as R), else corrected normal."""
    from scipy import stats

    both = np.concatenate([a, b])
    exact = len(a) < EXACT_BELOW and len(b) < EXACT_BELOW and len(np.unique(both)) == len(both)
    method = "exact" if exact else "asymptotic"
    res = stats.mannwhitneyu(a, b, method=method, use_continuity=True)
    name = "exact" if exact else "normal approximation with continuity correction"
    return {
        "method": f"Mann–Whitney U test ({name})",
        "p_value": float(res.pvalue),
        "statistic": float(res.statistic),
        "n": int(len(a) + len(b)),
        "detail": {},
    }


def fisher(table: np.ndarray) -> dict[str, Any]:
    """Fisher's exact test: exact for 2×2; Monte Carlo p for r×c (seeded)."""
    from scipy import stats

    table = table[:, table.sum(axis=0) > 0]
    table = table[table.sum(axis=1) > 0]
    n = int(table.sum())
    if table.shape[0] < 2 or table.shape[1] < 2:
        return {
            "method": "Fisher's exact test",
            "p_value": 1.0,
            "statistic": None,
            "n": n,
            "detail": {"table": table.tolist()},
            "note": "one level only: p = 1",
        }
    if table.shape == (2, 2):
        res = stats.fisher_exact(table)
        return {
            "method": "Fisher's exact test (2×2)",
            "p_value": float(res.pvalue),
            "statistic": None,
            "n": n,
            "detail": {"table": table.tolist()},
        }
    mc = stats.MonteCarloMethod(
        n_resamples=FISHER_RC_RESAMPLES, rng=np.random.default_rng(FISHER_RC_SEED)
    )
    res = stats.fisher_exact(table, method=mc)
    return {
        "method": f"Fisher's exact test (r×c, Monte Carlo p, {FISHER_RC_RESAMPLES} "
        f"resamples, seed {FISHER_RC_SEED})",
        "p_value": float(res.pvalue),
        "statistic": None,
        "n": n,
        "detail": {"table": table.tolist()},
    }


def _curve(
    t: Sequence[float], est: Sequence[float], lo: Sequence[float] | None, hi: Sequence[float] | None
) -> dict[str, list[float] | None]:
    return {
        "time": [float(v) for v in t],
        "estimate": [float(v) for v in est],
        "lower": None if lo is None else [float(v) for v in lo],
        "upper": None if hi is None else [float(v) for v in hi],
    }


def kaplan_meier(time: np.ndarray, event: np.ndarray) -> dict[str, Any]:
    """Kaplan–Meier survival with log-log 95 % CIs (lifelines)."""
    from lifelines import KaplanMeierFitter

    km = KaplanMeierFitter().fit(time, event)
    sf = km.survival_function_.iloc[:, 0]
    ci = km.confidence_interval_survival_function_
    median = km.median_survival_time_
    return {
        "method": "Kaplan–Meier, 95% CI log(-log) (lifelines)",
        "values": {
            "n_events": int(event.sum()),
            "median": None if not np.isfinite(median) else float(median),
            "curves": {"survival": _curve(sf.index, sf.to_numpy(), ci.iloc[:, 0], ci.iloc[:, 1])},
        },
    }


def cumulative_incidence(
    time: np.ndarray, code: np.ndarray, event: str, competing: Sequence[str]
) -> dict[str, Any]:
    """Aalen–Johansen cumulative incidence of each event type (code 1 = ``event``)."""
    from lifelines import AalenJohansenFitter

    names = [event, *competing]
    curves: dict[str, Any] = {}
    final: dict[str, float] = {}
    counts: dict[str, int] = {}
    for j, name in enumerate(names, start=1):
        counts[name] = int((code == j).sum())
        if counts[name] == 0:
            curves[name] = _curve([0.0], [0.0], None, None)
            final[name] = 0.0
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            aj = AalenJohansenFitter(calculate_variance=True, seed=0).fit(
                time, code, event_of_interest=j
            )
        est = aj.cumulative_density_.iloc[:, 0]
        ci = aj.confidence_interval_cumulative_density_
        curves[name] = _curve(
            est.index, est.to_numpy(), ci.iloc[:, 0].clip(0, 1), ci.iloc[:, 1].clip(0, 1)
        )
        final[name] = float(est.iloc[-1])
    return {
        "method": "Aalen–Johansen cumulative incidence, competing risks (lifelines)",
        "values": {
            "events": counts,
            "censored": int((code == 0).sum()),
            "final": final,
            "curves": curves,
        },
    }


def firth(y: np.ndarray, x: np.ndarray, names: Sequence[str]) -> dict[str, Any]:
    """Firth-penalised logistic regression: odds ratios, profile-likelihood CIs, LRT p-values."""
    from firthmodels import FirthLogisticRegression

    if len(np.unique(y)) < 2:
        raise AnalysisError("Firth logistic regression needs both outcomes present")
    model = FirthLogisticRegression().fit(x, y)
    model.lrt()
    ci = model.conf_int(method="pl")
    coefs = [float(model.intercept_), *[float(c) for c in model.coef_]]
    terms = ["(intercept)", *names]
    rows = []
    for i, term in enumerate(terms):
        idx = i - 1 if i else len(names)
        lo, hi = ci[idx] if ci.shape[0] == len(terms) else (np.nan, np.nan)
        p = model.lrt_pvalues_[idx] if len(model.lrt_pvalues_) == len(terms) else np.nan
        rows.append(
            {
                "term": term,
                "coef": coefs[i],
                "odds_ratio": float(np.exp(coefs[i])),
                "ci_low": float(np.exp(lo)),
                "ci_high": float(np.exp(hi)),
                "p_value": float(p),
            }
        )
    return {
        "method": "Firth-penalised logistic regression (profile-likelihood 95% CI, "
        "penalised LRT p; firthmodels)",
        "values": {"n_events": int(y.sum()), "terms": rows},
    }
