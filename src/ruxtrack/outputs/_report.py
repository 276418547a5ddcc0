"""results.json, its JSON Schema, the self-contained report.html, and the one-call report."""

from __future__ import annotations

import base64
import html
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from ruxtrack.cohort import (
    AnalysisResult,
    FigureData,
    Study,
    StudyResults,
    StudyRun,
    TableResult,
    TestResult,
    figure_data,
    is_spreadsheet,
    load_study,
    run_study,
)
from ruxtrack.errors import AnalysisError
from ruxtrack.outputs._figures import (
    plot_course,
    plot_criteria_timeline,
    plot_cumulative_incidence,
    plot_swimmer,
    plot_trajectories,
    save_figure,
)
from ruxtrack.outputs._tables import format_p, render_table, write_table

__all__ = [
    "ReportFiles",
    "ReportProgress",
    "build_report",
    "render_report_html",
    "results_json_schema",
    "write_results_json",
]

#: ``progress(message, steps_done, steps_total)``
ReportProgress = Callable[[str, int, int], None]


def results_json_schema() -> dict[str, Any]:
    """The JSON Schema of results.json (generated from the result models)."""
    schema = StudyResults.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://ruxtrack.invalid/schemas/results.schema.json"
    return schema


def write_results_json(results: StudyResults, out_dir: Path) -> list[Path]:
    """Write ``results.json`` and ``results.schema.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "results.json"
    path.write_text(
        json.dumps(results.model_dump(mode="json"), indent=2, ensure_ascii=False, allow_nan=False),
        encoding="utf-8",
    )
    schema = out_dir / "results.schema.json"
    schema.write_text(json.dumps(results_json_schema(), indent=2), encoding="utf-8")
    return [path, schema]


class ReportFiles:
    """What a report run wrote, by kind."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.tables: dict[str, list[Path]] = {}
        self.figures: dict[str, list[Path]] = {}
        self.results: Path = out_dir / "results.json"
        self.report: Path = out_dir / "report.html"

    def all(self) -> list[Path]:
        """Every file written."""
        out = [
            self.results,
            self.out_dir / "results.schema.json",
            self.report,
            self.out_dir / "features.csv",
        ]
        for paths in (*self.tables.values(), *self.figures.values()):
            out += paths
        return out


def _mark_synthetic(fig: Figure) -> Figure:
    """Label a figure of synthetic patients as such, so that it cannot pass for real data."""
    fig.text(
        0.995,
        0.995,
        "SYNTHETIC DATA",
        ha="right",
        va="top",
        fontsize=8,
        fontweight="bold",
        color="#9a6700",
    )
    return fig


class _CsvWriter:
    """features.csv (one row per patient) by Arrow's C++ writer, about 7x pandas' to_csv, on a
    worker thread: the writer releases the GIL, so on a million patients its ~8 s overlap the
    statistics and figures instead of adding to them."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def start(self, frame: pd.DataFrame, path: Path) -> None:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        options = pacsv.WriteOptions(quoting_style="needed")

        def work() -> None:
            try:
                table = pa.Table.from_pandas(frame, preserve_index=False)
                pacsv.write_csv(table, path, write_options=options)
            except BaseException as exc:  # re-raised by join() on the caller's thread
                self._error = exc

        self._thread = threading.Thread(target=work, name="ruxtrack-features-csv", daemon=True)
        self._thread.start()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error


def _draw(fd: FigureData, study: Study) -> Figure:
    spec = fd.spec
    if spec.kind == "trajectories":
        assert fd.trajectories is not None
        return plot_trajectories(fd.trajectories, study, spec)
    if spec.kind == "cumulative_incidence":
        assert fd.analysis is not None
        return plot_cumulative_incidence(fd.analysis, spec)
    if spec.kind == "swimmer":
        return plot_swimmer(fd.data["support"], fd.data["events"], fd.data["frame"], study, spec)
    assert fd.patient_id is not None
    if spec.kind == "course":
        return plot_course(fd.data, study, spec, fd.patient_id, fd.anchor_label, title=fd.caption)
    return plot_criteria_timeline(
        fd.data["grid"], spec, fd.anchor_label, fd.patient_id, title=fd.caption, freshness=fd.notes
    )


def _figures(
    run: StudyRun, prepared: list[FigureData], out_dir: Path, say: Callable[[str], None]
) -> list[tuple[FigureData, list[Path]]]:
    """Draw every figure the cohort layer prepared; a skipped one is kept with its reason."""
    mark = _mark_synthetic if run.results.synthetic else (lambda f: f)
    out: list[tuple[FigureData, list[Path]]] = []
    for fd in prepared:
        say(f"drawing {fd.name}")
        if fd.skipped is not None:
            out.append((fd, []))
            continue
        out.append((fd, save_figure(mark(_draw(fd, run.study)), out_dir, fd.name)))
    return out


_CSS = """
body{font-family:-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;margin:0;
color:#1a1a1a;background:#fafafa;line-height:1.45}
main{max-width:1100px;margin:0 auto;padding:24px 32px 64px;background:#fff}
h1{font-size:1.6em;margin:.2em 0} h2{font-size:1.25em;border-bottom:1px solid #ddd;
padding-bottom:.2em;margin-top:2em} h3{font-size:1.05em}
.meta{color:#555;font-size:.9em} .banner{background:#fff3cd;border:1px solid #e0c36a;
padding:8px 12px;border-radius:4px;margin:12px 0}
table.flow{border-collapse:collapse;font-size:.9em} table.flow td,table.flow th{border:1px solid
#ddd;padding:3px 8px;text-align:left}
figure{margin:16px 0} figure img{max-width:min(100%,860px);height:auto;border:1px solid #eee}
figcaption{font-size:.85em;color:#444} .gt{overflow-x:auto;margin:12px 0}
.warn{color:#7a4b00;font-size:.85em;margin:4px 0}
table.posthoc{margin:8px 0 4px} table.posthoc caption{text-align:left;font-size:.9em;
color:#444;padding:4px 0}
pre{background:#f4f4f4;padding:8px;overflow-x:auto;font-size:.8em}
nav ul{columns:2;font-size:.9em}
"""


def _num(v: Any) -> str:
    """Three significant digits, thousands separated (8,110 rather than 8.11e+03)."""
    if v == "inf":
        return "∞"
    if v is None or isinstance(v, str):
        return "—"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}"


def _ci_text(lo: Any, hi: Any, pct: bool = False) -> str:
    if lo is None or hi is None:
        return "not estimable"
    if pct:
        return f"{100 * lo:.0f}–{100 * hi:.0f}%"
    return f"{_num(lo)}–{_num(hi)}"


def _analysis_html(a: AnalysisResult, names: dict[str, str]) -> str:
    """One analysis: its method and n, the numbers, notes and caveats; ``names`` maps feature
    and group ids to their labels."""
    parts = [
        f"<h3 id='{a.id}'>{html.escape(a.title)}</h3>",
        f"<p class='meta'>{html.escape(a.method)}; n = {a.n}</p>",
    ]
    v = a.values
    if not a.computed:
        parts.append(f"<p><strong>Not computed:</strong> {html.escape(a.note or '')}</p>")
    elif a.kind == "logistic_firth":
        outcome = v.get("outcome_label") or "outcome"
        parts.append(
            f"<p>Outcome: {html.escape(str(outcome))}; {v['n_events']} events in {v['n']} "
            f"patients ({v['n_missing']} left out for a missing value)"
            + (
                "; complete separation, where ordinary logistic regression has no finite estimate"
                if v.get("separation")
                else ""
            )
            + ".</p>"
        )
        parts.append(
            "<table class='flow'><tr><th>term</th><th>odds ratio</th><th>95% CI</th><th>p</th></tr>"
        )
        for t in v["coefficients"]:
            parts.append(
                f"<tr><td>{html.escape(names.get(t['term'], t['term']))}</td>"
                f"<td>{_num(t['odds_ratio'])}</td>"
                f"<td>{_ci_text(t['ci_low'], t['ci_high'])}</td>"
                f"<td>{format_p(t['p_value'])}</td></tr>"
            )
        parts.append("</table>")
    elif a.kind in ("cumulative_incidence", "kaplan_meier"):
        parts.append(_curves_html(a, names))
    elif a.kind == "proportion":
        parts.append(
            f"<p>{v['count']} of {v['n']} ({100 * v['proportion']:.0f}%), 95% CI "
            f"{_ci_text(v['ci_low'], v['ci_high'], pct=True)}.</p>"
        )
    else:
        stat = v.get("statistic")
        parts.append(
            f"<p>p = {format_p(v.get('p_value'))}"
            + (f", statistic {stat:.3g}" if isinstance(stat, float) else "")
            + "</p>"
        )
        posthoc = (v.get("detail") or {}).get("posthoc") or []
        if posthoc:
            pw = "; ".join(
                f"{names.get(p['a'], p['a'])} vs {names.get(p['b'], p['b'])} "
                f"{format_p(p['p_adjusted'])}"
                for p in posthoc
            )
            parts.append(
                f"<p class='meta'>{html.escape(str(v.get('posthoc_method')))}: "
                f"{html.escape(pw)}</p>"
            )
    if a.computed and a.note:
        parts.append(f"<p class='meta'>{html.escape(a.note)}</p>")
    parts += [f"<p class='warn'>{html.escape(w)}</p>" for w in a.warnings]
    return "\n".join(parts)


def _curves_html(a: AnalysisResult, names: dict[str, str]) -> str:
    """One line per curve: events, and the estimate with its CI at the end of follow-up."""
    v = a.values
    names = {**names, **(v.get("group_labels") or {})}
    horizon = v.get("horizon_days")
    rows = [
        "<table class='flow'><tr><th>group</th><th>curve</th><th>n</th><th>events</th>"
        f"<th>estimate at the end of follow-up, day {horizon:g} (95% CI)</th>"
        + ("<th>median (95% CI), days</th>" if a.kind == "kaplan_meier" else "")
        + "</tr>"
    ]
    for c in v["curves"]:
        if a.kind == "kaplan_meier":
            name, est, lo, hi = "survival", c["survival"], c["ci_low"], c["ci_high"]
            events = c["n_events"]
        else:
            name, est, lo, hi = c["cause"], c["estimate"], c["ci_low"], c["ci_high"]
            events = c["n_events"]
        last = (est[-1], lo[-1], hi[-1]) if est else (0.0, 0.0, 0.0)
        if a.kind == "kaplan_meier" and not est:
            last = (1.0, 1.0, 1.0)
        cell = f"{100 * last[0]:.0f}% ({_ci_text(last[1], last[2], pct=True)})"
        rows.append(
            f"<tr><td>{html.escape(names.get(str(c.get('group')), 'all patients'))}</td>"
            f"<td>{html.escape(str(name).replace('_', ' '))}</td><td>{c['n']}</td>"
            f"<td>{events}</td><td>{cell}</td>"
        )
        if a.kind == "kaplan_meier":
            med = c["median"]
            med_text = "not reached" if med is None else f"{med:.1f}"
            rows[-1] += f"<td>{med_text} ({_ci_text(c['median_ci_low'], c['median_ci_high'])})</td>"
        rows[-1] += "</tr>"
    rows.append("</table>")
    for t in v.get("tests") or []:
        what = f" ({str(t['cause']).replace('_', ' ')})" if "cause" in t else ""
        stat = t.get("statistic")
        if stat is None:
            rows.append(
                f"<p>{html.escape(str(t['method']))}{html.escape(what)}: "
                f"{html.escape(str(t.get('note') or 'not computed'))}.</p>"
            )
            continue
        rows.append(
            f"<p>{html.escape(str(t['method']))}{html.escape(what)}: chi-squared "
            f"{_num(stat)} on {t['df']} df, p = {format_p(t.get('p_value'))}.</p>"
        )
    return "".join(rows)


def _embed_figure(png: Path, title: str) -> str:
    data = base64.b64encode(png.read_bytes()).decode("ascii")
    return (
        f"<figure><img alt='{html.escape(title)}' src='data:image/png;base64,{data}'>"
        f"<figcaption>{html.escape(title)}</figcaption></figure>"
    )


def _short(label: str) -> str:
    return label.split(" (")[0]


def _table_notes_html(t: TableResult) -> list[str]:
    """Post hoc comparisons (one compact table per set of pairs) and the statistical caveats
    of a table's tests."""
    out: list[str] = []
    blocks: dict[tuple[tuple[str, str], ...], list[tuple[str, TestResult]]] = {}
    for row in t.rows:
        test = row.test
        if test is None or test.p_value is None or not test.detail.get("posthoc"):
            continue
        pairs = tuple((str(p["a"]), str(p["b"])) for p in test.detail["posthoc"])
        blocks.setdefault(pairs, []).append((row.label, test))
    for pairs, rows in blocks.items():
        method = html.escape(str(rows[0][1].posthoc_method))
        head = "".join(
            f"<th>{html.escape(_short(t.columns.get(a, a)))} vs "
            f"{html.escape(_short(t.columns.get(b, b)))}</th>"
            for a, b in pairs
        )
        out.append(
            f"<table class='flow posthoc'><caption>Post hoc comparisons, {method} "
            f"(adjusted p-values)</caption><tr><th></th><th>n</th>{head}</tr>"
        )
        for label, test in rows:
            cells = "".join(
                f"<td>{html.escape(format_p(p['p_adjusted']))}</td>" for p in test.detail["posthoc"]
            )
            out.append(f"<tr><td>{html.escape(_short(label))}</td><td>{test.n}</td>{cells}</tr>")
        out.append("</table>")
    caveats = [
        f"<li>{html.escape(_short(row.label))}: {html.escape(w)}</li>"
        for row in t.rows
        if row.test is not None
        for w in row.test.warnings
    ]
    if caveats:
        out.append(
            "<details class='warn'><summary>Statistical caveats ("
            f"{len(caveats)})</summary><ul>{''.join(caveats)}</ul></details>"
        )
    return out


def _has_p(r: StudyResults) -> bool:
    return any(
        row.test is not None and row.test.p_value is not None for t in r.tables for row in t.rows
    ) or any(a.computed and "p_value" in a.values for a in r.analyses)


def _methods_html(r: StudyResults) -> list[str]:
    """Every method the numbers rest on, as results.json names them."""
    cell_methods = sorted(
        {
            c.method
            for t in r.tables
            for row in t.rows
            for c in row.cells.values()
            if c.method is not None
        }
    )
    tests = sorted(
        {
            (
                row.test.method
                + (f"; post hoc: {row.test.posthoc_method}" if row.test.posthoc_method else "")
            )
            for t in r.tables
            for row in t.rows
            if row.test is not None and row.test.p_value is not None
        }
    )
    analyses = [f"{a.title}: {a.method}" for a in r.analyses if a.computed]
    items = [*cell_methods, *tests, *analyses]
    if _has_p(r):
        items.append(
            f"Significance level of the study: {r.alpha:g} (p-values are shown unadjusted "
            "across rows; post hoc comparisons are adjusted within a row as named)."
        )
    if not items:
        return []
    out = ["<h2 id='methods'>Methods</h2>", "<ul>"]
    out += [f"<li>{html.escape(m)}</li>" for m in items]
    out.append("</ul>")
    return out


def _population_html(r: StudyResults) -> list[str]:
    out = [
        "<h2>Population</h2><table class='flow'><tr><th>step</th><th>removed</th>"
        "<th>value unknown</th><th>remaining</th></tr>",
        f"<tr><td>patients read</td><td></td><td></td><td>{r.n_read:,}</td></tr>",
    ]
    for f in r.flow:
        verb = "include if" if f.kind == "include" else "exclude if"
        out.append(
            f"<tr><td>{verb} {html.escape(f.label)}</td><td>{f.removed:,}</td>"
            f"<td>{f.unknown:,}</td><td>{f.remaining:,}</td></tr>"
        )
    out.append(
        f"<tr><td><strong>included</strong></td><td></td><td></td><td><strong>{r.n_included:,}"
        "</strong></td></tr></table>"
    )
    if r.flow:
        out.append(
            "<p class='meta'>Rules apply in order to the patients the rules above kept. A patient "
            "whose value is unknown is removed by an include rule and kept by an exclude rule.</p>"
        )
    return out


def _figure_html(fd: FigureData, paths: list[Path]) -> str:
    if fd.skipped is not None:
        return (
            f"<figure><figcaption><strong>{html.escape(fd.caption)}</strong>: not drawn: "
            f"{html.escape(fd.skipped)}.</figcaption></figure>"
        )
    png = next(p for p in paths if p.suffix == ".png")
    return _embed_figure(png, fd.caption)


def render_report_html(run: StudyRun, figures: list[tuple[FigureData, list[Path]]]) -> str:
    """A self-contained HTML page: inline CSS, tables inline, figures embedded as base64 PNG;
    a figure the data do not allow is listed with the reason."""
    r = run.results
    study = run.study
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{html.escape(r.title)} — ruxtrack report</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f"<h1>{html.escape(r.title)}</h1>",
        f"<p class='meta'>Study <code>{html.escape(r.study)}</code> · data: "
        f"{html.escape(r.data_origin)} · engine {html.escape(r.engine)} · "
        f"ruxtrack {html.escape(r.ruxtrack_version)}</p>",
    ]
    if r.synthetic:
        out.append(
            "<div class='banner'><strong>Synthetic data.</strong> Every patient in this "
            "report is synthetic; no number here describes a real patient.</div>"
        )
    elif r.synthetic is None:
        out.append(
            "<div class='banner'>Some patients are marked synthetic and some are not: "
            "check the data before reading these numbers as real.</div>"
        )
    if r.n_included == 1:
        out.append(
            "<p class='meta'>One patient: values are shown as recorded; no statistic is "
            "computed.</p>"
        )
    out.append(
        "<nav><ul>"
        + "".join(f"<li><a href='#{t.id}'>{html.escape(t.title)}</a></li>" for t in r.tables)
        + "".join(f"<li><a href='#{a.id}'>{html.escape(a.title)}</a></li>" for a in r.analyses)
        + "</ul></nav>"
    )
    out += _population_html(r)
    if r.group_n:
        out.append(
            "<p>"
            + "; ".join(f"{html.escape(r.groups[g])}: n = {n}" for g, n in r.group_n.items())
            + "</p>"
        )
    for note in r.notes:
        out.append(f"<p class='meta'>{html.escape(note)}</p>")
    if r.tables:
        out.append("<h2>Tables</h2>")
    for t in r.tables:
        out.append(f"<div class='gt' id='{t.id}'>{render_table(t).as_raw_html()}</div>")
        out += _table_notes_html(t)
    if r.analyses:
        out.append("<h2>Analyses</h2>")
        names = {d.name: d.label for d in study.derived} | dict(r.groups)
        out += [_analysis_html(a, names) for a in r.analyses]
    if figures:
        out.append("<h2>Figures</h2>")
        out += [_figure_html(fd, paths) for fd, paths in figures]
    out += _methods_html(r)
    out.append("<h2>Sources</h2><ul>")
    out += [
        f"<li><strong>{html.escape(k)}</strong>: {html.escape(c)}</li>"
        for k, c in r.sources.items()
    ]
    out.append(
        "</ul><p class='meta'>Every number above is in results.json with the n it rests "
        "on and its method.</p></main></body></html>"
    )
    return "\n".join(out)


def build_report(
    study: Study | str | Path,
    data: str | Path,
    out_dir: Path,
    *,
    engine: str = "duckdb",
    progress: ReportProgress | None = None,
    run: StudyRun | None = None,
) -> tuple[StudyRun, ReportFiles]:
    """Run a study and write results.json, tables (HTML, LaTeX, Word, Excel, CSV), figures (PNG,
    SVG), features.csv and report.html into ``out_dir``.

    Parameters
    ----------
    study
        A :class:`ruxtrack.cohort.Study`, a shipped study name or a study YAML path.
    data
        A store URL, a canonical CSV/Parquet folder or a wide spreadsheet.
    out_dir
        The output folder (created).
    engine
        ``duckdb`` (default) or ``pyspark``.
    progress
        Called as ``progress(message, steps_done, steps_total)`` before each step and once more
        with ``steps_done == steps_total`` at the end.
    run
        A finished :class:`ruxtrack.cohort.StudyRun` to render (skips the computation).

    Raises
    ------
    AnalysisError
        When the study cannot be run on the data.
    """
    report = progress or (lambda _msg, _done, _total: None)
    if run is None:
        if engine not in ("duckdb", "pyspark"):
            raise AnalysisError(f"unknown engine {engine!r}: use duckdb or pyspark")
        st = study if isinstance(study, Study) else load_study(study)
        compute_steps = 2 if is_spreadsheet(data) else 3
    else:
        st = run.study
        compute_steps = 0
    total = compute_steps + 1 + len(st.tables) + len(st.figures) + 1
    done = 0

    def say(message: str) -> None:
        nonlocal done
        report(message, done, total)
        done += 1

    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / "features.csv"
    writer = _CsvWriter()
    try:
        if run is None:
            run = run_study(
                st,
                data,
                engine=engine,  # type: ignore[arg-type]
                progress=say,
                on_features=lambda f: writer.start(f.frame, csv_path),
            )
        else:
            writer.start(run.features.frame, csv_path)
        say("preparing the figures' data")
        prepared = figure_data(run)
        total = done + len(run.results.tables) + len(prepared) + 1
        files = ReportFiles(out_dir)
        for t in run.results.tables:
            say(f"writing {t.id}")
            files.tables[t.id] = write_table(t, out_dir / "tables")
        drawn = _figures(run, prepared, out_dir / "figures", say)
        files.figures = {fd.name: paths for fd, paths in drawn if paths}
        results = run.results.model_copy(
            update={
                "figures": {
                    k: [str(p.relative_to(out_dir)) for p in v] for k, v in files.figures.items()
                },
                "figures_skipped": {
                    fd.name: fd.skipped for fd, _ in drawn if fd.skipped is not None
                },
            }
        )
        run = StudyRun(study=run.study, tables=run.tables, features=run.features, results=results)
        say("writing results.json, features.csv and report.html")
        write_results_json(results, out_dir)
        files.report.write_text(render_report_html(run, drawn), encoding="utf-8")
        writer.join()
    except BaseException:
        # The CSV thread is finished and its file removed (never a half-written features.csv),
        # and a folder this call created is removed again when a failed computation left it
        # empty.
        try:
            writer.join()
        except BaseException:  # noqa: S110 - the first error is the one to report
            pass
        csv_path.unlink(missing_ok=True)
        if created and not any(out_dir.iterdir()):
            out_dir.rmdir()
        raise
    report("done", total, total)
    return run, files
