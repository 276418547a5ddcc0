"""Fisher's exact test for 2x2 and r x c tables.

2x2: p-value from scipy (exact), conditional maximum-likelihood odds ratio and its exact
conditional CI from ``scipy.stats.contingency.odds_ratio(kind="conditional")`` (R's estimate).

r x c: scipy's ``fisher_exact`` is resampling-based for r x c tables, so the exact p-value is
computed here by enumerating the tables with the observed margins in a network (stage =
column, node = multiset of remaining row totals) with exact bounds that settle whole subtrees
at once (the idea of Mehta & Patel 1983, JASA 78:427-434, as in R's FEXACT). A table counts as
"as or less probable" when its probability is at most the observed one times 1 + 1e-7 (R's
relative tolerance in ``fisher.test``). Tables too large to enumerate within ``max_nodes`` fall
back to a seeded Monte Carlo p-value (R's ``simulate.p.value = TRUE`` estimator) with an
:class:`ApproximationWarning`.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import stats
from scipy.special import gammaln
from scipy.stats.contingency import odds_ratio

from ruxtrack.errors import AnalysisError

from ._result import ResultMixin
from ._warnings import ApproximationWarning

__all__ = ["FisherResult", "fisher_exact"]

Alternative = Literal["two-sided", "less", "greater"]

# R fisher.test: relErr <- 1 + 10^(-7) when comparing table probabilities with the observed one
R_REL_ERR = 1e-7
DEFAULT_MAX_NODES = 5_000_000
DEFAULT_MC_SAMPLES = 100_000


@dataclass(frozen=True)
class FisherResult(ResultMixin):
    """Fisher's exact test of independence in a contingency table."""

    p_value: float
    n: int
    shape: tuple[int, int]
    table: tuple[tuple[int, ...], ...]
    method: str
    alternative: str
    exact: bool
    odds_ratio: float | None = None  # 2x2 only: conditional MLE (R's estimate)
    ci_low: float | None = None
    ci_high: float | None = None
    conf_level: float | None = None
    ci_method: str | None = None
    monte_carlo_samples: int | None = None
    monte_carlo_se: float | None = None
    seed: int | None = None


class _TooLarge(Exception):
    """The enumeration exceeded its node budget."""


def _as_table(table: Any) -> npt.NDArray[np.int64]:
    arr = np.asarray(table)
    if arr.ndim != 2 or min(arr.shape) < 2:
        raise AnalysisError(
            "need a 2-D contingency table with at least 2 rows and 2 columns, "
            f"got shape {arr.shape}"
        )
    if not np.issubdtype(arr.dtype, np.number) or np.isnan(arr.astype(float)).any():
        raise AnalysisError("contingency table must hold counts (no missing values)")
    if (arr < 0).any() or not np.all(np.equal(np.mod(arr, 1), 0)):
        raise AnalysisError("contingency table must hold non-negative integer counts")
    out = arr.astype(np.int64)
    if out.sum() == 0:
        raise AnalysisError("contingency table is empty")
    return out


def fisher_exact(
    table: Any,
    *,
    alternative: Alternative = "two-sided",
    conf_level: float = 0.95,
    max_nodes: int = DEFAULT_MAX_NODES,
    monte_carlo_samples: int = DEFAULT_MC_SAMPLES,
    seed: int = 0,
) -> FisherResult:
    """Fisher's exact test for a 2x2 or r x c table, as R's ``fisher.test``.

    Parameters
    ----------
    table : 2-D array-like of int
        Counts; rows and columns are the two classifications (e.g. rows = early / late start,
        columns = response group). Build it from patient rows with ``pandas.crosstab``.
    alternative : {"two-sided", "less", "greater"}
        2x2 only (about the odds ratio); r x c tables are always two-sided.
    conf_level : float, default 0.95
        2x2 only: level of the conditional-MLE odds-ratio interval.
    max_nodes : int, default 5,000,000
        r x c only: budget of partial tables the exact enumeration may generate before the
        Monte Carlo fallback (bounds memory to about 150 MB).
    monte_carlo_samples : int, default 100,000
        Tables drawn in the fallback.
    seed : int, default 0
        Seed of the fallback (results are reproducible by default).

    Returns
    -------
    FisherResult
        ``method`` names the computation: "Fisher's exact test (2x2, conditional MLE odds
        ratio)", "Fisher's exact test (network algorithm, r x c)" or the Monte Carlo fallback.

    Warns
    -----
    ApproximationWarning
        The r x c enumeration exceeded ``max_nodes`` and the Monte Carlo p-value was used.

    Examples
    --------
    >>> r = fisher_exact([[3, 1], [1, 3]], alternative="greater")
    >>> round(r.p_value, 6), round(r.odds_ratio, 4), round(r.ci_low, 4)
    (0.242857, 6.4083, 0.3136)
    >>> job = [[1, 3, 10, 6], [2, 3, 10, 7], [1, 6, 14, 12], [0, 1, 9, 11]]
    >>> round(fisher_exact(job).p_value, 6)
    0.782685
    """
    counts = _as_table(table)
    if alternative not in ("two-sided", "less", "greater"):
        raise AnalysisError(
            f"alternative must be 'two-sided', 'less' or 'greater', got {alternative!r}"
        )
    n = int(counts.sum())
    as_tuple = tuple(tuple(int(v) for v in row) for row in counts)
    shape = (int(counts.shape[0]), int(counts.shape[1]))
    if shape == (2, 2):
        if not 0 < conf_level < 1:
            raise AnalysisError(f"conf_level must lie in (0, 1), got {conf_level}")
        p_value = float(stats.fisher_exact(counts, alternative=alternative).pvalue)
        or_res = odds_ratio(counts, kind="conditional")
        ci = or_res.confidence_interval(confidence_level=conf_level, alternative=alternative)
        return FisherResult(
            p_value=min(1.0, p_value),
            n=n,
            shape=shape,
            table=as_tuple,
            method="Fisher's exact test (2x2, conditional MLE odds ratio)",
            alternative=alternative,
            exact=True,
            odds_ratio=float(or_res.statistic),
            ci_low=float(ci.low),
            ci_high=float(ci.high),
            conf_level=conf_level,
            ci_method="exact conditional (noncentral hypergeometric) interval, as R fisher.test",
        )
    if alternative != "two-sided":
        raise AnalysisError("one-sided alternatives exist only for 2x2 tables")
    try:
        p_value = _rxc_exact(counts, max_nodes)
    except _TooLarge:
        warnings.warn(
            f"{shape[0]}x{shape[1]} table with n = {n} exceeds the exact enumeration budget "
            f"({max_nodes} partial tables); Monte Carlo p-value from {monte_carlo_samples} "
            f"tables (seed {seed})",
            ApproximationWarning,
            stacklevel=2,
        )
        p_value, se = _rxc_monte_carlo(counts, monte_carlo_samples, seed)
        return FisherResult(
            p_value=p_value,
            n=n,
            shape=shape,
            table=as_tuple,
            method=(
                f"Fisher's exact test, Monte Carlo p-value (r x c; {monte_carlo_samples} tables "
                f"with fixed margins, seed {seed})"
            ),
            alternative=alternative,
            exact=False,
            monte_carlo_samples=monte_carlo_samples,
            monte_carlo_se=se,
            seed=seed,
        )
    return FisherResult(
        p_value=p_value,
        n=n,
        shape=shape,
        table=as_tuple,
        method="Fisher's exact test (network algorithm, r x c)",
        alternative=alternative,
        exact=True,
    )


def _log_weight(cells: npt.NDArray[np.int64]) -> float:
    """log of prod(1 / n_ij!) -- the table's probability up to the margin constant."""
    return float(-gammaln(cells + 1.0).sum())


def _compositions(caps: tuple[int, ...], total: int) -> Iterator[tuple[int, ...]]:
    """All vectors 0 <= v_i <= caps_i with sum(v) = total."""
    if len(caps) == 1:
        if total <= caps[0]:
            yield (total,)
        return
    rest_cap = sum(caps[1:])
    for first in range(max(0, total - rest_cap), min(caps[0], total) + 1):
        for tail in _compositions(caps[1:], total - first):
            yield (first, *tail)


def _even_fill(caps: tuple[int, ...], total: int) -> list[int]:
    """Most even split of ``total`` under ``caps`` (maximises prod 1/n!)."""
    fill = [0] * len(caps)
    remaining = total
    order = sorted(range(len(caps)), key=lambda i: caps[i])
    active = len(order)
    for idx in order:
        share = remaining // active
        take = min(caps[idx], share)
        fill[idx] = take
        remaining -= take
        active -= 1
    # distribute the remainder one by one to rows still below their cap
    i = 0
    while remaining > 0:
        idx = order[-1 - (i % len(order))]
        if fill[idx] < caps[idx]:
            fill[idx] += 1
            remaining -= 1
        i += 1
    return fill


def _greedy_fill(caps: tuple[int, ...], total: int) -> list[int]:
    """Most concentrated split of ``total`` under ``caps`` (minimises prod 1/n!)."""
    fill = [0] * len(caps)
    remaining = total
    for idx in sorted(range(len(caps)), key=lambda i: -caps[i]):
        take = min(caps[idx], remaining)
        fill[idx] = take
        remaining -= take
    return fill


def _lw(values: list[int]) -> float:
    return -sum(math.lgamma(v + 1) for v in values)


def _rxc_exact(counts: npt.NDArray[np.int64], max_nodes: int) -> float:
    table = counts[counts.sum(axis=1) > 0][:, counts.sum(axis=0) > 0]
    if table.shape[0] < 2 or table.shape[1] < 2:
        return 1.0
    if table.shape[0] > table.shape[1]:
        table = table.T
    rows = tuple(sorted(int(v) for v in table.sum(axis=1)))
    cols = tuple(sorted(int(v) for v in table.sum(axis=0)))
    n_total = sum(rows)
    log_const = (
        sum(math.lgamma(r + 1) for r in rows)
        + sum(math.lgamma(c + 1) for c in cols)
        - math.lgamma(n_total + 1)
    )
    threshold = _log_weight(table) + math.log1p(R_REL_ERR)
    margin = 1e-9  # bounds settle a whole subtree only when clear of the threshold

    @cache
    def node_info(stage: int, remaining: tuple[int, ...]) -> tuple[float, float, float]:
        """(upper bound, lower bound, log total weight) of the completions of this node."""
        rest = cols[stage:]
        upper_cols = sum(_lw(_even_fill(remaining, c)) for c in rest)
        lower_cols = sum(_lw(_greedy_fill(remaining, c)) for c in rest)
        upper_rows = sum(_lw(_even_fill(rest, r)) for r in remaining)
        lower_rows = sum(_lw(_greedy_fill(rest, r)) for r in remaining)
        log_total = (
            math.lgamma(sum(rest) + 1)
            - sum(math.lgamma(r + 1) for r in remaining)
            - sum(math.lgamma(c + 1) for c in rest)
        )
        return min(upper_cols, upper_rows), max(lower_cols, lower_rows), log_total

    @cache
    def expand(
        remaining: tuple[int, ...], total: int
    ) -> tuple[npt.NDArray[np.float64], list[tuple[int, ...]]]:
        comps = list(_compositions(remaining, total))
        weights = np.array([_lw(list(c)) for c in comps], dtype=np.float64)
        children = [tuple(sorted(r - v for r, v in zip(remaining, c, strict=True))) for c in comps]
        return weights, children

    # level: node -> (log weights of the partial tables reaching it, their multiplicities)
    level: dict[tuple[int, ...], tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]] = {
        rows: (np.zeros(1), np.ones(1))
    }
    p_value = 0.0
    generated = 0
    for stage, col_total in enumerate(cols):
        child_ids: dict[tuple[int, ...], int] = {}
        ids_parts: list[npt.NDArray[np.int64]] = []
        val_parts: list[npt.NDArray[np.float64]] = []
        mult_parts: list[npt.NDArray[np.float64]] = []
        for node, (past, mult) in level.items():
            upper, lower, log_total = node_info(stage, node)
            settled = past + upper <= threshold - margin
            if settled.any():
                p_value += float(
                    (mult[settled] * np.exp(past[settled] + log_total + log_const)).sum()
                )
            keep = ~settled & (past + lower <= threshold + margin)
            if not keep.any():
                continue
            weights, children = expand(node, col_total)
            generated += int(keep.sum()) * weights.size
            if generated > max_nodes:
                raise _TooLarge
            ids = np.array(
                [child_ids.setdefault(c, len(child_ids)) for c in children], dtype=np.int64
            )
            kept_past, kept_mult = past[keep], mult[keep]
            val_parts.append((kept_past[:, None] + weights[None, :]).ravel())
            mult_parts.append(np.repeat(kept_mult, weights.size))
            ids_parts.append(np.tile(ids, kept_past.size))
        if not ids_parts:
            return min(1.0, p_value)
        ids_all = np.concatenate(ids_parts)
        vals_all = np.concatenate(val_parts)
        mult_all = np.concatenate(mult_parts)
        # merge partial tables that reach the same node with the same weight (to 1e-9 in log)
        keys = np.rint(vals_all * 1e9).astype(np.int64)
        order = np.lexsort((keys, ids_all))
        ids_all, keys, vals_all, mult_all = (
            ids_all[order],
            keys[order],
            vals_all[order],
            mult_all[order],
        )
        starts = np.flatnonzero(np.r_[True, (np.diff(ids_all) != 0) | (np.diff(keys) != 0)])
        ids_u, vals_u = ids_all[starts], vals_all[starts]
        mult_u = np.add.reduceat(mult_all, starts)
        nodes_by_id = {i: c for c, i in child_ids.items()}
        bounds = np.flatnonzero(np.r_[True, np.diff(ids_u) != 0, True])
        level = {
            nodes_by_id[int(ids_u[a])]: (vals_u[a:b], mult_u[a:b])
            for a, b in itertools.pairwise(bounds)
        }
    for past, mult in level.values():  # only the all-zero node remains
        hit = past <= threshold
        p_value += float((mult[hit] * np.exp(past[hit] + log_const)).sum())
    return min(1.0, p_value)


def _rxc_monte_carlo(counts: npt.NDArray[np.int64], samples: int, seed: int) -> tuple[float, float]:
    """R's simulate.p.value estimator (1 + #{sim <= obs}) / (B + 1); Patefield's tables."""
    rng = np.random.default_rng(seed)
    sims = stats.random_table(counts.sum(axis=1), counts.sum(axis=0), seed=rng).rvs(size=samples)
    sim_stat = -gammaln(sims + 1.0).sum(axis=(1, 2))
    observed = _log_weight(counts)
    hits = int(np.count_nonzero(sim_stat <= observed + abs(observed) * 64 * np.finfo(float).eps))
    p_value = (1 + hits) / (samples + 1)
    return p_value, math.sqrt(p_value * (1 - p_value) / samples)
