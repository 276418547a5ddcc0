"""The one seam between the cohort layer and :mod:`ruxtrack.stats`.

Every number comes from :mod:`ruxtrack.stats` (pinned to R); this module only calls it and turns
its frozen results into the cells and tests of :mod:`ruxtrack.cohort._results`, keeping the n each
rests on and the method name exactly as :mod:`ruxtrack.stats` reports it. Statistical caveats
(:class:`ruxtrack.stats.StatisticalWarning`: ties forcing the normal approximation, small groups)
are not printed: they are recorded on the test or analysis they concern, so they reach
results.json and the report instead of the terminal.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

import numpy as np
import pandas as pd

from ruxtrack import stats
from ruxtrack.cohort._results import TestResult

__all__ = [
    "ProportionCI",
    "chisq",
    "compare_curves",
    "contingency_test",
    "cumulative_incidence",
    "firth",
    "fisher",
    "friedman",
    "group_test",
    "kaplan_meier",
    "numeric_summary",
    "proportion",
    "recorded",
]

ProportionCI = Literal["wilson", "clopper-pearson"]
T = TypeVar("T")


def recorded(call: Callable[[], T]) -> tuple[T, tuple[str, ...]]:
    """Run ``call`` and return its result with the statistical warnings it raised.

    Only :class:`ruxtrack.stats.StatisticalWarning` is collected; any other warning is re-issued
    unchanged.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    notes: list[str] = []
    for w in caught:
        if issubclass(w.category, stats.StatisticalWarning):
            notes.append(_caveat(w.category, str(w.message)))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return result, tuple(dict.fromkeys(notes))


_CAVEAT_KIND = {
    "ApproximationWarning": "approximation",
    "SmallSampleWarning": "small sample",
}


def _caveat(category: type[Warning], message: str) -> str:
    """A statistical caveat in words ("small sample: ..."), never a Python class name."""
    kind = _CAVEAT_KIND.get(category.__name__, "caveat")
    return f"{kind}: {message}"


def numeric_summary(x: pd.Series) -> tuple[dict[str, float | int | None], str]:
    """Median, quartiles and range of the non-missing values, and the quantile rule used."""
    s = stats.summarize_numeric(x)
    values: dict[str, float | int | None] = {
        "n": s.n,
        "median": s.median,
        "q1": s.q1,
        "q3": s.q3,
        "min": s.minimum,
        "max": s.maximum,
    }
    return values, f"median, quartiles and range; quartiles by {s.quantile_method}"


def proportion(
    count: int, n: int, method: ProportionCI, n_missing: int = 0
) -> tuple[dict[str, float | int | None], str]:
    """``count`` of ``n`` with its 95 % interval and the interval's name."""
    p = stats.proportion(count, n, method=method, n_missing=n_missing)
    values: dict[str, float | int | None] = {
        "count": p.count,
        "n": p.n,
        "proportion": p.proportion,
        "ci_low": p.ci_low,
        "ci_high": p.ci_high,
        "conf_level": p.conf_level,
    }
    return values, f"{p.conf_level:.0%} CI: {p.ci_method}"


def _test(result: Any, notes: tuple[str, ...], *, n: int, posthoc: str | None = None) -> TestResult:
    detail = result.to_dict()
    detail.pop("method", None)
    return TestResult(
        method=result.method,
        p_value=result.p_value,
        statistic=getattr(result, "statistic", None),
        n=n,
        posthoc_method=posthoc,
        detail=detail,
        warnings=notes,
    )


def fisher(table: pd.DataFrame) -> TestResult:
    """Fisher's exact test of a groups × levels count table (exact for 2×2 and r×c)."""
    res, notes = recorded(lambda: stats.fisher_exact(table.to_numpy()))
    out = _test(res, notes, n=res.n)
    detail = dict(out.detail)
    detail["rows"] = [str(r) for r in table.index]
    detail["columns"] = [str(c) for c in table.columns]
    return out.model_copy(update={"detail": detail})


def chisq(table: pd.DataFrame) -> TestResult:
    """Pearson's chi-squared test of a groups × levels count table (no continuity correction);
    expected counts below 5 are recorded as a warning on the test."""
    res, notes = recorded(lambda: stats.chisq_test(table.to_numpy()))
    out = _test(res, notes, n=res.n)
    detail = dict(out.detail)
    detail["rows"] = [str(r) for r in table.index]
    detail["columns"] = [str(c) for c in table.columns]
    return out.model_copy(update={"detail": detail})


def contingency_test(table: pd.DataFrame, exact_max_n: int) -> TestResult:
    """Fisher's exact test when the table holds at most ``exact_max_n`` patients, Pearson's
    chi-squared test above; the method name says which, and the rule that chose it."""
    n = int(table.to_numpy().sum())
    if n <= exact_max_n:
        out = fisher(table)
        rule = f"n = {n} ≤ {exact_max_n}: exact test"
        method = out.method
    else:
        out = chisq(table)
        rule = f"n = {n} > {exact_max_n}: asymptotic test"
        method = f"{out.method} (n > {exact_max_n}; Fisher's exact test at n ≤ {exact_max_n})"
    detail = {**out.detail, "selection_rule": rule, "exact_test_max_n": exact_max_n}
    return out.model_copy(update={"method": method, "detail": detail})


def friedman(wide: pd.DataFrame) -> TestResult:
    """Friedman test on the complete cases of ``wide`` (rows: patients, columns: time points),
    with pairwise Wilcoxon signed-rank tests, Holm-adjusted."""
    res, notes = recorded(lambda: stats.friedman_test(wide, p_adjust="holm"))
    return _test(
        res, notes, n=res.n, posthoc=f"{res.posthoc_method}; {res.p_adjust_method} adjustment"
    )


def group_test(values: pd.Series, groups: pd.Series, order: Sequence[str]) -> TestResult | None:
    """Compare a continuous variable across groups: Mann–Whitney for two groups with data,
    Kruskal–Wallis with Dunn's post hoc comparisons (Holm) for more; None for fewer than two."""
    x = pd.to_numeric(values, errors="coerce").astype(float)
    ok = x.notna() & groups.notna()
    present = [g for g in order if bool(((groups == g) & ok).any())]
    if len(present) < 2:
        return None
    keep = ok & groups.isin(present)
    xs, gs = x[keep].reset_index(drop=True), groups[keep].astype(str).reset_index(drop=True)
    if np.unique(xs.to_numpy()).size == 1:
        return TestResult(
            method="not tested",
            p_value=None,
            n=len(xs),
            note="every value is the same: no rank test is defined",
        )
    if len(present) == 2:
        a, b = (xs[gs == g].to_numpy() for g in present)
        mw, notes = recorded(lambda: stats.mann_whitney(a, b))
        out = _test(mw, notes, n=mw.n_x + mw.n_y)
        detail = {**out.detail, "x": present[0], "y": present[1]}
        return out.model_copy(update={"detail": detail})
    kw, notes = recorded(lambda: stats.kruskal_wallis(xs, gs, order=present))
    return _test(kw, notes, n=kw.n, posthoc=f"{kw.posthoc_method}; {kw.p_adjust_method}")


def kaplan_meier(
    time: np.ndarray, event: np.ndarray, groups: Sequence[str] | None = None
) -> tuple[str, dict[str, Any], tuple[str, ...]]:
    """Kaplan–Meier estimate (R's log CI and median rule): method, ``to_dict()``, warnings."""
    res, notes = recorded(lambda: stats.kaplan_meier(time, event, groups=groups))
    method = f"{res.method}; {res.conf_level:.0%} CI {res.conf_type}"
    return method, res.to_dict(), notes


def cumulative_incidence(
    time: np.ndarray, cause: Sequence[str], groups: Sequence[str] | None = None
) -> tuple[str, dict[str, Any], tuple[str, ...]]:
    """Aalen–Johansen cumulative incidence of every cause (``"censored"`` marks censoring),
    cmprsk's variance: method, ``to_dict()``, warnings."""
    res, notes = recorded(
        lambda: stats.cumulative_incidence(time, list(cause), censor="censored", groups=groups)
    )
    method = (
        f"{res.method}; variance: {res.variance_method}; {res.conf_level:.0%} CI {res.conf_type}"
    )
    return method, res.to_dict(), notes


def compare_curves(
    kind: str, time: np.ndarray, code: np.ndarray, names: Sequence[str], groups: Sequence[str]
) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """The test of time-to-event curves across groups: Gray's test per cause (cumulative
    incidence; ``code`` indexes ``names``, 0 censored) or the log-rank test (Kaplan–Meier;
    ``code`` 1 the event). Each test as ``to_dict()``, with its warnings."""
    if kind == "cumulative_incidence":
        causes = [names[int(c)] for c in code]
        res, notes = recorded(lambda: stats.gray_test(time, causes, list(groups)))
        return [r.to_dict() for r in res], notes
    lr, notes = recorded(lambda: stats.logrank_test(time, (code == 1).astype(int), list(groups)))
    return [lr.to_dict()], notes


def firth(
    data: pd.DataFrame, outcome: str, predictors: Sequence[str]
) -> tuple[str, dict[str, Any], tuple[str, ...]]:
    """Firth-penalised logistic regression (logistf defaults): method, ``to_dict()``, warnings."""
    res, notes = recorded(lambda: stats.firth_logistic(data, outcome, list(predictors)))
    method = f"{res.method}; CI: {res.ci_method}; p: {res.p_method}"
    return method, res.to_dict(), notes
