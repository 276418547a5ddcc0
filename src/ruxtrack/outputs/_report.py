"""results.json, its JSON Schema, the self-contained report.html, and the one-call report."""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from ruxtrack.cohort._results import StudyResults
from ruxtrack.cohort._run import StudyRun, patient_course, run_study, support_days
from ruxtrack.cohort._study import FigureSpec, Study
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
from ruxtrack.timeline import KNOWN_EVENTS

__all__ = [
    "ReportFiles",
    "build_report",
    "render_report_html",
    "results_json_schema",
    "write_results_json",
]

Progress = Callable[[str], None]


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


def _figure_patients(spec: FigureSpec, run: StudyRun) -> list[str]:
    frame = run.features.frame
    if spec.patients:
        missing = [p for p in spec.patients if p not in set(frame["patient_id"])]
        if missing:
            raise AnalysisError(f"figure {spec.id}: patient(s) {', '.join(missing)} not included")
        return list(spec.patients)
    return list(frame["patient_id"])[: spec.max_patients]


def _anchor_label(spec: FigureSpec, study: Study) -> str:
    if spec.anchor_label:
        return spec.anchor_label
    ref = study.index if spec.anchor == "index" else spec.anchor
    name, _, occ = ref.partition("#")
    text = KNOWN_EVENTS.get(name, name.replace("_", " "))
    return f"{text} #{occ}" if occ else text


def _criteria_grid(run: StudyRun, spec: FigureSpec, pid: str) -> pd.DataFrame:
    """Criteria status over days for one patient.

    Uses recorded CTCAE grades (``ctcae_grade`` assessments) and, when :mod:`ruxtrack.criteria`
    provides ``evaluate_timeline``, the criteria sets named in the figure.
    """
    assert run.tables is not None
    course = patient_course(run.tables, run.study, pid, spec.anchor)
    asm = course["assessments"]
    rows: list[dict[str, Any]] = []
    grades = asm[asm["kind"] == "ctcae_grade"]
    for _, r in grades.iterrows():
        try:
            level = float(r["value"])
        except ValueError:
            continue
        term = str(r["code"] or "CTCAE").replace("_", " ")
        rows.append(
            {
                "criterion": f"CTCAE: {term}",
                "day": round(float(r["day"])),
                "level": level,
                "kind": "grade",
            }
        )
    evaluated = _evaluate_criteria(run, spec, pid)
    rows += evaluated
    if not rows:
        raise AnalysisError(f"figure {spec.id}: no criteria or CTCAE grades for patient {pid}")
    return pd.DataFrame(rows)


def _evaluate_criteria(run: StudyRun, spec: FigureSpec, pid: str) -> list[dict[str, Any]]:
    """Component status of each named criterion set on each day with a record."""
    if not spec.criteria or run.tables is None:
        return []
    try:
        from ruxtrack import sources
        from ruxtrack.criteria import evaluate_timeline
    except ImportError:
        return []
    origin = Path(run.results.data_origin)
    if not origin.is_dir():
        return []
    timelines = [t for t in sources.read_folder(origin) if t.patient.patient_id == pid]
    if not timelines:
        return []
    course = patient_course(run.tables, run.study, pid, spec.anchor)
    days = sorted(
        {
            round(float(d))
            for d in pd.concat(
                [course["observations"]["day"], course["assessments"]["day"]]
            ).dropna()
        }
    )
    lo, hi = spec.days if spec.days is not None else (float("-inf"), float("inf"))
    anchor = run.study.index if spec.anchor == "index" else spec.anchor
    out: list[dict[str, Any]] = []
    for c in spec.criteria:
        for day in (d for d in days if lo <= d <= hi):
            ev = evaluate_timeline(
                c, timelines[0], at=f"{anchor}+{day}d" if day >= 0 else f"{anchor}-{-day}d"
            )
            for comp in ev.components:
                if not comp.counted:
                    continue
                status = str(comp.status.value)
                out.append(
                    {
                        "criterion": f"{ev.name.split(' ')[0]}: {comp.label}",
                        "day": day,
                        "level": {"met": 1.0, "not_met": 0.0}.get(status),
                        "kind": "status",
                    }
                )
    return out


def _figures(run: StudyRun, out_dir: Path, say: Progress) -> dict[str, list[Path]]:
    study = run.study
    written: dict[str, list[Path]] = {}
    frame = run.features.frame
    for spec in study.figures:
        say(f"drawing {spec.id}")
        if spec.kind == "trajectories":
            written[spec.id] = save_figure(plot_trajectories(frame, study, spec), out_dir, spec.id)
        elif spec.kind == "cumulative_incidence":
            assert spec.analysis is not None
            res = run.results.analysis(spec.analysis)
            fig = plot_cumulative_incidence(res, spec)
            written[spec.id] = save_figure(fig, out_dir, spec.id)
        elif run.tables is None:
            continue  # course-level figures need the long tables (not in a wide spreadsheet)
        elif spec.kind == "swimmer":
            sup = support_days(run.tables, study, spec.anchor)
            sup = sup[sup["patient_id"].isin(set(frame["patient_id"]))]
            written[spec.id] = save_figure(plot_swimmer(sup, frame, study, spec), out_dir, spec.id)
        elif spec.kind == "course":
            for pid in _figure_patients(spec, run):
                course = patient_course(run.tables, study, pid, spec.anchor)
                fig = plot_course(course, study, spec, pid, _anchor_label(spec, study))
                name = f"{spec.id}_{pid}"
                written[name] = save_figure(fig, out_dir, name)
        elif spec.kind == "criteria_timeline":
            for pid in _figure_patients(spec, run):
                grid = _criteria_grid(run, spec, pid)
                fig = plot_criteria_timeline(grid, spec, _anchor_label(spec, study), pid)
                name = f"{spec.id}_{pid}"
                written[name] = save_figure(fig, out_dir, name)
    return written


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
pre{background:#f4f4f4;padding:8px;overflow-x:auto;font-size:.8em}
nav ul{columns:2;font-size:.9em}
"""


def _fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return html.escape(str(v))


def _analysis_html(a: Any) -> str:
    parts = [
        f"<h3 id='{a.id}'>{html.escape(a.title)}</h3>",
        f"<p class='meta'>{html.escape(a.method)}; n = {a.n}</p>",
    ]
    v = a.values
    if a.kind == "logistic_firth":
        parts.append(
            "<table class='flow'><tr><th>term</th><th>odds ratio</th><th>95% CI</th><th>p</th></tr>"
        )
        for t in v["terms"]:
            parts.append(
                f"<tr><td>{html.escape(t['term'])}</td><td>{t['odds_ratio']:.3g}</td>"
                f"<td>{t['ci_low']:.3g}–{t['ci_high']:.3g}</td>"
                f"<td>{format_p(t['p_value'])}</td></tr>"
            )
        parts.append("</table>")
    elif a.kind == "cumulative_incidence":
        items = ", ".join(f"{k}: {v['final'][k]:.2f} ({v['events'][k]} events)" for k in v["final"])
        parts.append(
            f"<p>Cumulative incidence at the end of follow-up — {html.escape(items)}; "
            f"{v['censored']} censored.</p>"
        )
    elif a.kind == "kaplan_meier":
        med = v.get("median")
        parts.append(
            f"<p>{v['n_events']} events; median "
            f"{'not reached' if med is None else f'{med:.1f} days'}.</p>"
        )
    elif a.kind == "proportion":
        parts.append(
            f"<p>{v['count']} of {v['n']} ({100 * v['proportion']:.0f}%), 95% CI "
            f"{100 * v['ci_low']:.0f}–{100 * v['ci_high']:.0f}%.</p>"
        )
    else:
        parts.append(
            f"<p>p = {format_p(v.get('p_value'))}"
            + (f", statistic {v['statistic']:.3g}" if v.get("statistic") else "")
            + "</p>"
        )
    if a.note:
        parts.append(f"<p class='meta'>{html.escape(a.note)}</p>")
    return "\n".join(parts)


def _embed_figure(png: Path, title: str) -> str:
    data = base64.b64encode(png.read_bytes()).decode("ascii")
    return (
        f"<figure><img alt='{html.escape(title)}' src='data:image/png;base64,{data}'>"
        f"<figcaption>{html.escape(title)}</figcaption></figure>"
    )


def render_report_html(run: StudyRun, figures: dict[str, list[Path]]) -> str:
    """A self-contained HTML page: inline CSS, tables inline, figures embedded as base64 PNG."""
    r = run.results
    study = run.study
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{html.escape(r.title)} — ruxtrack report</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f"<h1>{html.escape(r.title)}</h1>",
        f"<p class='meta'>Study <code>{html.escape(r.study)}</code> · data "
        f"<code>{html.escape(r.data_origin)}</code> · engine {html.escape(r.engine)} · "
        f"ruxtrack {html.escape(r.ruxtrack_version)}</p>",
    ]
    if r.synthetic:
        out.append(
            "<div class='banner'><strong>Synthetic data.</strong> Every patient in this "
            "report is synthetic; no number here describes a real patient.</div>"
        )
    out.append(
        "<nav><ul>"
        + "".join(f"<li><a href='#{t.id}'>{html.escape(t.title)}</a></li>" for t in r.tables)
        + "".join(f"<li><a href='#{a.id}'>{html.escape(a.title)}</a></li>" for a in r.analyses)
        + "</ul></nav>"
    )
    out.append(
        "<h2>Population</h2><table class='flow'><tr><th>step</th><th>removed</th>"
        "<th>unknown</th></tr>"
    )
    out.append(f"<tr><td>patients read</td><td colspan='2'>{r.n_read}</td></tr>")
    for f in r.flow:
        out.append(
            f"<tr><td>{f.kind}: {html.escape(f.label)}</td><td>{f.removed}</td>"
            f"<td>{f.unknown}</td></tr>"
        )
    out.append(
        f"<tr><td><strong>included</strong></td><td colspan='2'><strong>{r.n_included}"
        "</strong></td></tr></table>"
    )
    if r.group_n:
        out.append(
            "<p>"
            + "; ".join(f"{html.escape(r.groups[g])}: n = {n}" for g, n in r.group_n.items())
            + "</p>"
        )
    for note in r.notes:
        out.append(f"<p class='meta'>{html.escape(note)}</p>")
    out.append("<h2>Tables</h2>")
    for t in r.tables:
        out.append(f"<div class='gt' id='{t.id}'>{render_table(t).as_raw_html()}</div>")
        for row in t.rows:
            if row.test is not None and row.test.detail.get("pairwise"):
                pw = "; ".join(
                    f"{p['a']} vs {p['b']} {format_p(p['p_holm'])}"
                    for p in row.test.detail["pairwise"]
                )
                out.append(
                    f"<p class='meta'>{html.escape(row.label)} — pairwise (Holm): "
                    f"{html.escape(pw)}</p>"
                )
    out.append("<h2>Analyses</h2>")
    out += [_analysis_html(a) for a in r.analyses]
    out.append("<h2>Figures</h2>")
    titles = {f.id: f.title for f in study.figures}
    for name, paths in figures.items():
        base = next((fid for fid in titles if name == fid or name.startswith(fid + "_")), name)
        title = titles.get(base, name)
        if name != base:
            title += f" ({name.removeprefix(base + '_')})"
        png = next(p for p in paths if p.suffix == ".png")
        out.append(_embed_figure(png, title))
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
    progress: Progress | None = None,
    run: StudyRun | None = None,
) -> tuple[StudyRun, ReportFiles]:
    """Run a study and write results.json, tables (HTML, LaTeX, CSV), figures (PNG, SVG),
    features.csv and report.html into ``out_dir``.

    Raises
    ------
    AnalysisError
        When the study cannot be run on the data.
    """
    say = progress or (lambda _msg: None)
    if run is None:
        if engine not in ("duckdb", "pyspark"):
            raise AnalysisError(f"unknown engine {engine!r}: use duckdb or pyspark")
        run = run_study(study, data, engine=engine, progress=say)  # type: ignore[arg-type]
    files = ReportFiles(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    say("writing tables")
    for t in run.results.tables:
        files.tables[t.id] = write_table(t, out_dir / "tables")
    files.figures = _figures(run, out_dir / "figures", say)
    results = run.results.model_copy(
        update={
            "figures": {
                k: [str(p.relative_to(out_dir)) for p in v] for k, v in files.figures.items()
            }
        }
    )
    run = StudyRun(study=run.study, tables=run.tables, features=run.features, results=results)
    say("writing results.json and report.html")
    write_results_json(results, out_dir)
    run.features.frame.to_csv(out_dir / "features.csv", index=False)
    files.report.write_text(render_report_html(run, files.figures), encoding="utf-8")
    return run, files
