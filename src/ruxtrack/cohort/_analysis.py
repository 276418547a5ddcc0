"""Run a study's tables and analyses on the per-patient feature frame.

Every number comes from :mod:`ruxtrack.stats` (through :mod:`ruxtrack.cohort._stats`); this module
only chooses which statistic a row needs, builds the cells with the n each rests on, and formats the
text shown. Tests: continuous by group → Kruskal–Wallis with Dunn (two groups: Wilcoxon rank-sum,
exact where R is); categorical by group → Fisher's exact test (2×2, or exact r×c) when the table
holds at most the study's ``exact_test_max_n`` patients, Pearson's chi-squared test (named so in
the method) above; markers over
time → Friedman on complete cases with pairwise Wilcoxon signed-rank tests, Holm-adjusted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ruxtrack import __version__
from ruxtrack.cohort import _stats as st
from ruxtrack.cohort._features import FeatureTable
from ruxtrack.cohort._results import (
    AnalysisResult,
    Cell,
    FlowRecord,
    RowResult,
    StudyResults,
    TableResult,
    TestResult,
)
from ruxtrack.cohort._study import AnalysisSpec, Study, TableRow, TableSpec
from ruxtrack.errors import AnalysisError
from ruxtrack.timeline import SupportMode

__all__ = ["analyse", "fmt_num", "time_to_event"]

OVERALL = "overall"


def fmt_num(x: float | None) -> str:
    """A number as the seed prints it: thousands separators, decimals by magnitude."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    ax = abs(x)
    if ax >= 100:
        return f"{x:,.0f}"
    if ax >= 10:
        return f"{x:,.1f}".rstrip("0").rstrip(".")
    if ax >= 1:
        return f"{x:.2f}".rstrip("0").rstrip(".")
    if ax == 0:
        return "0"
    return f"{x:.2g}"


def _pct(k: int, n: int) -> str:
    return "—" if n == 0 else f"{100 * k / n:.0f}"


# -- columns -----------------------------------------------------------------------------------


def _columns(frame: pd.DataFrame, study: Study) -> dict[str, pd.DataFrame]:
    if study.groups is None:
        raise AnalysisError(f"study {study.study} has by-group tables but no groups")
    out: dict[str, pd.DataFrame] = {}
    for level in study.groups.levels:
        out[level.value] = frame[frame["group"] == level.value]
    return out


def _group_labels(study: Study) -> dict[str, str]:
    return {} if study.groups is None else {lv.value: lv.label for lv in study.groups.levels}


# -- cells -------------------------------------------------------------------------------------


def _by_labels(var: str, study: Study) -> dict[str, str]:
    """Labels of the values of a feature that splits curves (a condition: yes / no)."""
    label = next((d.label for d in study.derived if d.name == var), var.replace("_", " "))
    label = label.split(" (")[0]  # the short name; the definition is in the study
    return {"True": f"{label}: yes", "False": f"{label}: no"}


def _median_cell(values: pd.Series, n_col: int, factor: float = 1.0) -> Cell:
    x = pd.to_numeric(values, errors="coerce").dropna().astype(float) * factor
    if len(x) == 0:
        return Cell(text="—", n=0, n_missing=n_col, stat="median_range")
    d, method = st.numeric_summary(x)
    if len(x) == 1:  # one value: no median or range to speak of
        return Cell(
            text=fmt_num(d["median"]),
            n=1,
            n_missing=n_col - 1,
            stat="value",
            values={"n": 1, "value": d["median"]},
        )
    text = f"{fmt_num(d['median'])} ({fmt_num(d['min'])}–{fmt_num(d['max'])})"
    return Cell(
        text=text,
        n=len(x),
        n_missing=n_col - len(x),
        stat="median_range",
        values=d,
        method=method,
    )


def _proportion_cell(k: int, n: int, n_col: int, study: Study) -> Cell:
    if n == 0:
        return Cell(text="—", n=0, n_missing=n_col, stat="percent")
    vals, method = st.proportion(k, n, study.proportion_ci, n_missing=n_col - n)
    return Cell(
        text=f"{k} ({_pct(k, n)})",
        n=n,
        n_missing=n_col - n,
        stat="percent",
        values=vals,
        method=method,
    )


def _bool_cell(values: pd.Series, n_col: int, study: Study) -> Cell:
    x = values.dropna().astype(bool)
    return _proportion_cell(int(x.sum()), len(x), n_col, study)


def _percent_cell(values: pd.Series, level: str, n_col: int, study: Study) -> Cell:
    x = values.dropna().astype("string")
    return _proportion_cell(int((x == level).sum()), len(x), n_col, study)


def _levels(values: pd.Series, row: TableRow, study: Study) -> list[str]:
    seen = [str(v) for v in values.dropna().unique()]
    bins = next(
        (d.labels or () for d in study.derived if d.name == row.var and d.kind == "bins"), ()
    )
    preferred = [*row.level_labels, *bins, *_SUPPORT_ORDER]
    ordered = [k for k in dict.fromkeys(preferred) if k in seen]
    return ordered + sorted(v for v in seen if v not in ordered)


_SUPPORT_ORDER = tuple(m.value for m in SupportMode)


def _level_label(level: str, row: TableRow) -> str:
    return row.level_labels.get(level, level.replace("_", " "))


def _counts_cell(values: pd.Series, row: TableRow, n_col: int, levels: Sequence[str]) -> Cell:
    parts = []
    vals: dict[str, float | int | None] = {}
    for lv in levels:
        k = int((values.astype("string") == lv).sum())
        vals[lv] = k
        parts.append(f"{_level_label(lv, row)}, n = {k}")
    missing = int(values.isna().sum())
    if row.missing_label is not None and missing:
        parts.append(f"{row.missing_label}, n = {missing}")
        vals["missing"] = missing
    return Cell(
        text="; ".join(parts), n=n_col - missing, n_missing=missing, stat="counts", values=vals
    )


def _flags_cell(frame: pd.DataFrame, row: TableRow) -> Cell:
    assert row.vars is not None
    parts = []
    vals: dict[str, float | int | None] = {}
    n_known = len(frame)
    for var in row.vars:
        if var not in frame.columns:
            raise AnalysisError(f"table row {row.label!r} reads {var!r}, which is not a feature")
        col = frame[var]
        k = int(col.fillna(False).astype(bool).sum())
        vals[var] = k
        n_known = min(n_known, int(col.notna().sum()))
        if k:
            parts.append(f"{_level_label(var, row)}, n = {k}")
    return Cell(
        text="; ".join(parts) or "none",
        n=n_known,
        n_missing=len(frame) - n_known,
        stat="flags",
        values=vals,
    )


def _distribution_cell(values: pd.Series, row: TableRow, n_col: int) -> Cell:
    x = values.dropna().astype("string")
    n = len(x)
    if n == 0:
        return Cell(text="—", n=0, n_missing=n_col, stat="distribution")
    counts = x.value_counts()
    order = sorted(counts.index, key=lambda lv: (-int(counts[lv]), str(lv)))
    parts = [f"{_level_label(str(lv), row)} {_pct(int(counts[lv]), n)}%" for lv in order]
    vals: dict[str, float | int | None] = {str(lv): int(counts[lv]) for lv in order}
    return Cell(text="; ".join(parts), n=n, n_missing=n_col - n, stat="distribution", values=vals)


# -- tests -------------------------------------------------------------------------------------


def _not_tested(n: int, why: str) -> TestResult:
    return TestResult(method="not tested", p_value=None, n=n, note=why)


def _categorical_test(
    frame: pd.DataFrame, var: str, study: Study, bool_var: bool
) -> TestResult | None:
    """Test of group × level on patients with a value: Fisher's exact test (2×2 or r×c) up to
    the study's ``exact_test_max_n`` patients, Pearson's chi-squared test above."""
    order = [lv.value for lv in study.groups.levels] if study.groups is not None else []
    data = frame.loc[frame[var].notna() & frame["group"].isin(order), [var, "group"]]
    col = data[var]
    values: pd.Series[Any]
    if bool_var:
        values = pd.Series(np.where(col.astype(bool), "True", "False"), index=data.index)
    else:
        values = col if isinstance(col.dtype, pd.StringDtype) else col.astype(str)
    # group x level counts (what pd.crosstab gives, at a fraction of its cost on 1M rows)
    table = data["group"].groupby([data["group"], values], sort=True).size().unstack(fill_value=0)
    table = table.reindex([g for g in order if g in table.index])
    if table.shape[0] < 2:
        return None
    if table.shape[1] < 2:
        return _not_tested(int(table.to_numpy().sum()), "a single level in every group")
    return st.contingency_test(table, study.exact_test_max_n)


def _continuous_test(frame: pd.DataFrame, var: str, study: Study) -> TestResult | None:
    order = [lv.value for lv in study.groups.levels] if study.groups is not None else []
    return st.group_test(frame[var], frame["group"], order)


# -- tables ------------------------------------------------------------------------------------


def _summary_table(spec: TableSpec, frame: pd.DataFrame, study: Study) -> TableResult:
    n = len(frame)
    rows: list[RowResult] = []
    for row in spec.rows:
        if row.stat == "flags":
            cell = _flags_cell(frame, row)
        else:
            assert row.var is not None
            values = _col(frame, row.var)
            if row.stat == "median_range":
                cell = _median_cell(values, n, row.display_factor)
            elif row.stat == "counts":
                cell = _counts_cell(values, row, n, _levels(values, row, study))
            elif row.stat == "percent_true":
                cell = _bool_cell(values, n, study)
            else:
                cell = _distribution_cell(values, row, n)
        rows.append(RowResult(label=row.label, var=row.var, cells={OVERALL: cell}))
    return TableResult(
        id=spec.id,
        title=spec.title,
        kind="summary",
        columns={OVERALL: "Overall"},
        column_n={OVERALL: n},
        rows=tuple(rows),
        footnote=spec.footnote,
        source=_src(spec),
    )


def _col(frame: pd.DataFrame, var: str) -> pd.Series:
    if var not in frame.columns:
        raise AnalysisError(f"table row reads {var!r}, which is not a feature")
    return frame[var]


def _src(spec: TableSpec) -> str | None:
    return None if spec.source is None else spec.source.label()


def _markers_table(spec: TableSpec, frame: pd.DataFrame, study: Study) -> TableResult:
    n = len(frame)
    rows: list[RowResult] = []
    for code in spec.markers:
        m = study.marker(code)
        unit = m.display_unit or m.unit
        label = m.label if n < 2 else f"{m.label} median/range"
        label += f", normal value {m.normal.text}" if m.normal is not None else f", {unit}"
        cols = [f"{code}__{tp}" for tp in spec.time_points]
        cells = {
            tp: _median_cell(frame[c], n, m.display_factor)
            for tp, c in zip(spec.time_points, cols, strict=True)
        }
        wide = frame[cols].astype(float)
        wide.columns = list(spec.time_points)
        complete = int(wide.notna().all(axis=1).sum())
        test: TestResult | None
        if n < 2:
            test = None  # one patient: no test to speak of (the table has no p-value column)
        elif len(spec.time_points) < 2:
            test = _not_tested(complete, "one time point only")
        elif complete < 2:
            test = _not_tested(complete, f"{complete} complete case(s): at least 2 are needed")
        else:
            test = st.friedman(wide)
        rows.append(RowResult(label=label, var=code, cells=cells, test=test))
    return TableResult(
        id=spec.id,
        title=spec.title,
        kind="markers_over_time",
        columns={tp: study.time_point(tp).label for tp in spec.time_points},
        column_n={tp: n for tp in spec.time_points},
        rows=tuple(rows),
        footnote=spec.footnote,
        source=_src(spec),
    )


def _by_group_table(spec: TableSpec, frame: pd.DataFrame, study: Study) -> TableResult:
    cols = _columns(frame, study)
    col_n = {g: len(f) for g, f in cols.items()}
    rows: list[RowResult] = []
    for row in spec.rows:
        if row.var is None:
            raise AnalysisError(f"table {spec.id}: row {row.label!r} needs var in a by-group table")
        var = row.var
        if var not in frame.columns:
            raise AnalysisError(f"table {spec.id} reads {var!r}, which is not a feature")
        test: TestResult | None = None
        if row.stat == "percent":
            levels = _levels(frame[var], row, study)
            if row.test in ("auto", "fisher"):
                test = _categorical_test(frame, var, study, bool_var=False)
            rows.append(
                RowResult(label=row.label, var=var, cells={}, test=test, is_group_label=True)
            )
            for lv in levels:
                cells = {g: _percent_cell(f[var], lv, len(f), study) for g, f in cols.items()}
                rows.append(RowResult(label=_level_label(lv, row), var=var, level=lv, cells=cells))
            continue
        if row.stat == "percent_true":
            cells = {g: _bool_cell(f[var], len(f), study) for g, f in cols.items()}
            if row.test in ("auto", "fisher"):
                test = _categorical_test(frame, var, study, bool_var=True)
        elif row.stat == "median_range":
            cells = {g: _median_cell(f[var], len(f), row.display_factor) for g, f in cols.items()}
            if row.test in ("auto", "kruskal", "mann_whitney"):
                test = _continuous_test(frame, var, study)
        elif row.stat == "distribution":
            cells = {g: _distribution_cell(f[var], row, len(f)) for g, f in cols.items()}
            if row.test == "fisher":
                test = _categorical_test(frame, var, study, bool_var=False)
        else:
            cells = {
                g: _counts_cell(f[var], row, len(f), _levels(frame[var], row, study))
                for g, f in cols.items()
            }
        rows.append(RowResult(label=row.label, var=var, cells=cells, test=test, header=row.header))
    return TableResult(
        id=spec.id,
        title=spec.title,
        kind="by_group",
        columns=_group_labels(study),
        column_n=col_n,
        rows=tuple(rows),
        footnote=spec.footnote,
        source=_src(spec),
    )


# -- analyses ----------------------------------------------------------------------------------


def time_to_event(
    frame: pd.DataFrame, event: str, competing: Sequence[str], horizon: float
) -> tuple[np.ndarray, np.ndarray]:
    """Time from the index (days) and the event code per patient.

    Code 0: censored at the last follow-up (``day_last_followup``) or the administrative
    horizon, whichever comes first (the horizon when no last follow-up is recorded);
    1: ``event``; 2, 3, ...: the ``competing`` events in order (the first to happen counts).
    Patients whose first event or censoring falls before the index are left out (NaN time).
    """
    ev_cols = [f"day_{event}", *[f"day_{c}" for c in competing]]
    for c in ev_cols:
        if c not in frame.columns:
            raise AnalysisError(f"time to event needs {c}: add the event to extract.events")
    times = frame[ev_cols].astype(float).to_numpy()
    first = np.where(np.isnan(times), np.inf, times)
    which = first.argmin(axis=1)
    t_event = first[np.arange(len(frame)), which]
    censor = (
        frame["day_last_followup"].astype(float).to_numpy()
        if ("day_last_followup" in frame.columns)
        else np.full(len(frame), np.nan)
    )
    censor = np.where(np.isnan(censor), horizon, np.minimum(censor, horizon))
    has_event = np.isfinite(t_event) & (t_event <= censor)
    time = np.where(has_event, t_event, censor)
    code = np.where(has_event, which + 1, 0)
    time = np.where(time < 0, np.nan, time)
    return time, code


def _not_computed(spec: AnalysisSpec, method: str, n: int, why: str) -> AnalysisResult:
    return AnalysisResult(
        id=spec.id,
        title=spec.title,
        kind=spec.kind,
        method=method,
        n=n,
        computed=False,
        values={},
        note=why,
    )


def _analysis(spec: AnalysisSpec, frame: pd.DataFrame, study: Study) -> AnalysisResult:
    """Run one analysis; when the data do not allow it (no events, no variation, one group),
    the result says so (``computed=False``) instead of failing the whole report. A study that
    reads a feature that does not exist is an error."""
    reads = [spec.var] if spec.var is not None else []
    reads += list(spec.predictors)
    if spec.outcome is not None:
        reads += sorted(spec.outcome.variables())
    reads += [spec.by] if spec.by is not None else []
    missing = [v for v in reads if v not in frame.columns]
    if missing:
        raise AnalysisError(f"analysis {spec.id} reads {missing}, which are not features")
    horizon = spec.horizon_days or study.extract.follow_up_days
    try:
        return _run_analysis(spec, frame, study, horizon)
    except AnalysisError as exc:
        return _not_computed(spec, _INTENDED[spec.kind], len(frame), str(exc))


_INTENDED = {
    "cumulative_incidence": "Aalen-Johansen cumulative incidence",
    "kaplan_meier": "Kaplan-Meier product-limit estimator",
    "logistic_firth": "Firth penalised-likelihood logistic regression",
    "kruskal_wallis": "Kruskal-Wallis rank-sum test",
    "proportion": "proportion with a confidence interval",
}


def _run_analysis(
    spec: AnalysisSpec, frame: pd.DataFrame, study: Study, horizon: float
) -> AnalysisResult:
    def done(
        method: str, n: int, values: dict[str, Any], notes: tuple[str, ...] = ()
    ) -> AnalysisResult:
        return AnalysisResult(
            id=spec.id,
            title=spec.title,
            kind=spec.kind,
            method=method,
            n=n,
            values=values,
            warnings=notes,
        )

    if spec.kind in ("cumulative_incidence", "kaplan_meier"):
        assert spec.event is not None
        time, code = time_to_event(frame, spec.event, spec.competing, horizon)
        if spec.time_resolution_days is not None:
            res = spec.time_resolution_days
            time = np.ceil(time / res) * res
        ok = ~np.isnan(time)
        groups: list[str] | None = None
        labels: dict[str, str] = {}
        if spec.by_group:
            if study.groups is None:
                raise AnalysisError(f"analysis {spec.id} is by group but the study has no groups")
            ok &= frame["group"].notna().to_numpy()
            groups = frame["group"][ok].astype(str).tolist()
            labels = _group_labels(study)
        elif spec.by is not None:
            by = frame[spec.by]
            ok &= by.notna().to_numpy()
            groups = by[ok].astype(str).tolist()
            labels = _by_labels(spec.by, study)
        names = ["censored", spec.event, *spec.competing]
        if spec.kind == "cumulative_incidence":
            method, values, notes = st.cumulative_incidence(
                time[ok], np.asarray(names, dtype=object)[code[ok].astype(int)].tolist(), groups
            )
        else:
            method, values, notes = st.kaplan_meier(time[ok], (code[ok] == 1).astype(int), groups)
        values["horizon_days"] = horizon
        if groups is not None:
            values["group_labels"] = labels
            if len(set(groups)) >= 2 and (code[ok] > 0).any():
                tests, more = st.compare_curves(spec.kind, time[ok], code[ok], names, groups)
                values["tests"] = tests
                method += "; groups compared by " + str(tests[0]["method"])
                notes = (*notes, *more)
            else:
                values["tests"] = []
                notes = (
                    *notes,
                    "groups not compared: fewer than two groups with data, or no event",
                )
        return done(method, int(ok.sum()), values, notes)
    if spec.kind == "logistic_firth":
        assert spec.outcome is not None
        data = frame[list(spec.predictors)].astype("float64").copy()
        data["outcome"] = _condition_pandas(frame, spec.outcome).astype("float64")
        method, values, notes = st.firth(data, "outcome", spec.predictors)
        values["outcome_label"] = spec.outcome_label
        return done(method, int(values["n"]), values, notes)
    if spec.kind == "kruskal_wallis":
        assert spec.var is not None
        test = _continuous_test(frame, spec.var, study)
        if test is None:
            raise AnalysisError("fewer than two groups with data")
        return done(test.method, test.n, test.model_dump(mode="json"), test.warnings)
    assert spec.var is not None
    flags = frame[spec.var].dropna().astype(bool)
    if len(flags) == 0:
        raise AnalysisError(f"no patient has a value for {spec.var}")
    vals, method = st.proportion(
        int(flags.sum()), len(flags), study.proportion_ci, len(frame) - len(flags)
    )
    return done(method, len(flags), dict(vals))


def _condition_pandas(frame: pd.DataFrame, cond: Any) -> pd.Series:
    """Evaluate an outcome condition on the small frame (same semantics as the Ibis compiler):
    a comparison on a missing value is missing."""
    if cond.all is not None or cond.any is not None or cond.not_ is not None:
        raise AnalysisError("an analysis outcome is one comparison (var, op, value)")
    col = frame[cond.var]
    ops = {
        "eq": lambda c, v: c == v,
        "ne": lambda c, v: c != v,
        "lt": lambda c, v: c < v,
        "le": lambda c, v: c <= v,
        "gt": lambda c, v: c > v,
        "ge": lambda c, v: c >= v,
        "in": lambda c, v: c.isin(list(v)),
        "not_in": lambda c, v: ~c.isin(list(v)),
    }
    if cond.op not in ops:
        raise AnalysisError(f"an analysis outcome cannot use op {cond.op}")
    out: pd.Series = ops[cond.op](col, cond.value).astype("boolean")
    return out.mask(col.isna())


def analyse(features: FeatureTable, study: Study, *, origin: str, engine: str) -> StudyResults:
    """Compute every table and analysis of ``study`` on the included patients.

    Raises
    ------
    AnalysisError
        When no patient is included or a table reads a feature that does not exist.
    """
    frame = features.frame
    if len(frame) == 0:
        raise AnalysisError(f"study {study.study}: no patient included ({features.n_read} read)")
    tables: list[TableResult] = []
    for spec in study.tables:
        if spec.kind == "summary":
            tables.append(_summary_table(spec, frame, study))
        elif spec.kind == "markers_over_time":
            tables.append(_markers_table(spec, frame, study))
        else:
            tables.append(_by_group_table(spec, frame, study))
    analyses = [_analysis(a, frame, study) for a in study.analyses]
    group_n: dict[str, int] = {}
    if study.groups is not None:
        for lv in study.groups.levels:
            group_n[lv.value] = int((frame["group"] == lv.value).sum())
    notes = []
    ungrouped = int(frame["group"].isna().sum()) if study.groups is not None else 0
    if ungrouped:
        notes.append(
            f"{ungrouped} included patient(s) have no group and are left out of by-group tables"
        )
    synthetic: bool | None = None  # mixed: neither label is true of the report
    if "synthetic" in frame.columns:
        marked = frame["synthetic"].fillna(False).astype(bool)
        synthetic = True if marked.all() else (False if not marked.any() else None)
    return StudyResults(
        study=study.study,
        title=study.title,
        ruxtrack_version=__version__,
        data_origin=origin,
        engine=engine,
        synthetic=synthetic,
        n_read=features.n_read,
        n_included=features.n_included,
        flow=tuple(
            FlowRecord(
                label=f.label,
                kind=f.kind,
                removed=f.removed,
                unknown=f.unknown,
                remaining=f.remaining,
            )
            for f in features.flow
        ),
        groups=_group_labels(study),
        group_n=group_n,
        alpha=study.alpha,
        tables=tuple(tables),
        analyses=tuple(analyses),
        notes=tuple(notes),
        sources={k: c.citation for k, c in study.sources.items()},
    )
