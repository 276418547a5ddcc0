"""Evidence commands: meta-analysis of proportions, evidence table, screening log, PRISMA flow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from ruxtrack.cli._errors import cli_errors, err_console, make_console
from ruxtrack.evidence import (
    MetaAnalysis,
    check_stated_ranges,
    deduplicate,
    flow_from_log,
    load_evidence_table,
    load_flow,
    meta_analysis,
    read_proportions,
    read_records,
    render_forest,
    render_prisma,
    table_proportions,
    write_screening_log,
)
from ruxtrack.evidence._meta import MethodName
from ruxtrack.evidence._table import Quantity, Timeframe

__all__ = ["register"]

console = make_console()
evidence_app = typer.Typer(
    help="Evidence synthesis: meta-analysis of proportions, the shipped IPS evidence table, "
    "screening logs and PRISMA 2020 flow diagrams (docs/evidence.md). Without a command: "
    "the evidence table.",
    no_args_is_help=False,
    invoke_without_command=True,
)

TransformOpt = Annotated[
    str, typer.Option("--transform", "-t", help="raw, logit or ft (Freeman-Tukey).")
]
MethodOpt = Annotated[str, typer.Option("--method", "-m", help="FE, DL, REML, PM, ML or GLMM.")]
HkOpt = Annotated[bool, typer.Option("--hk", help="Knapp-Hartung adjustment (t, k-1 df).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the results JSON instead.")]


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f}%"


def _f(v: float | None, spec: str = ".4g") -> str:
    return "—" if v is None else format(v, spec)


def _transform(t: str) -> Any:
    t = t.lower()
    if t not in ("raw", "logit", "ft"):
        raise typer.BadParameter(f"{t!r}: choose raw, logit or ft", param_hint="--transform")
    return t


def _method(m: str) -> MethodName:
    mm = m.upper()
    if mm not in ("FE", "DL", "REML", "PM", "ML", "GLMM"):
        raise typer.BadParameter(
            f"{m!r}: choose FE, DL, REML, PM, ML or GLMM", param_hint="--method"
        )
    return mm  # type: ignore[return-value]


def _horizon(days: int | None) -> str:
    if days is None:
        return "time not stated"
    return f"{days} d" if days < 365 else f"{round(days / 365.25)} y"


def _print_meta(res: MetaAnalysis, title: str) -> None:
    table = Table(title=title, title_justify="left")
    for col, just in (
        ("study", "left"),
        ("events", "right"),
        ("total", "right"),
        ("proportion", "right"),
        ("95% CI", "left"),
        ("weight", "right"),
    ):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    groups: list[str | None] = [*res.subgroups] or [None]
    for g in groups:
        if g is not None:
            table.add_row(Text(f"{res.group_column} = {g}", style="bold"), "", "", "", "", "")
        for s in res.studies:
            if g is None or s.group == g:
                table.add_row(
                    s.study,
                    str(s.events),
                    str(s.total),
                    _pct(s.proportion),
                    f"{_pct(s.ci_low)} – {_pct(s.ci_high)}",
                    "—" if s.weight is None else f"{s.weight:.1f}%",
                )
        if g is not None:
            p = res.subgroups[g]
            table.add_row(
                f"  subtotal (k = {p.k})",
                "",
                "",
                _pct(p.estimate),
                f"{_pct(p.ci_low)} – {_pct(p.ci_high)}",
                "",
            )
        table.add_section()
    p = res.pooled
    table.add_row(
        Text(f"pooled (k = {p.k})", style="bold"),
        "",
        "",
        Text(_pct(p.estimate), style="bold"),
        f"{_pct(p.ci_low)} – {_pct(p.ci_high)}",
        "",
    )
    console.print(table)
    console.print(
        f"prediction interval {_pct(p.pi_low)} – {_pct(p.pi_high)}; "
        f"model scale ({res.transform}): {p.model_estimate:.4f} (SE {p.model_se:.4f})",
        markup=False,
    )
    q = "—" if p.q is None else f"Q({p.q_df}) = {p.q:.2f}, p = {_f(p.q_p, '.3g')}"
    console.print(
        f"heterogeneity: tau2 = {p.tau2:.4g}, I2 = {_f(p.i2, '.1f')}%, H2 = {_f(p.h2, '.3g')}, {q}"
        + ("" if p.q_lrt is None else f"; LRT = {p.q_lrt:.2f}, p = {_f(p.q_lrt_p, '.3g')}"),
        markup=False,
    )
    for name, b in res.between_test.items():
        d = f"{b.df}" if b.df2 is None else f"{b.df}, {b.df2}"
        console.print(
            f"subgroup differences ({name.replace('_', ' ')}): {b.distribution}({d}) = "
            f"{b.statistic:.3f}, p = {b.p:.3g}",
            markup=False,
        )
    m = res.methods
    console.print(
        f"methods: {m.model}; {m.transform}; CI {m.ci}; PI {m.prediction_interval}; "
        f"back-transform {m.back_transform}; per-study CI {m.study_ci}.",
        markup=False,
        style="dim",
    )
    for w in res.warnings:
        err_console.print(f"warning: {w}", markup=False)


def meta_command(
    file: Annotated[Path, typer.Argument(help="CSV with columns study, events, total.")],
    transform: TransformOpt = "logit",
    method: MethodOpt = "REML",
    hk: HkOpt = False,
    by: Annotated[str | None, typer.Option("--by", help="Subgroup column.")] = None,
    as_json: JsonOpt = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Forest plot (.png/.svg/.pdf).")
    ] = None,
    study_ci: Annotated[
        str, typer.Option("--study-ci", help="clopper-pearson (exact) or model.")
    ] = "clopper-pearson",
) -> None:
    """Meta-analysis of proportions (results pinned to R metafor)."""
    with cli_errors():
        data = read_proportions(file, by=by)
        res = meta_analysis(
            data,
            transform=_transform(transform),
            method=_method(method),
            hk=hk,
            study_ci="model" if study_ci == "model" else "clopper-pearson",
        )
        if plot is not None:
            render_forest(res, plot, title=file.name)
        if as_json:
            typer.echo(json.dumps(res.to_json_dict(), indent=2))
        else:
            _print_meta(res, f"{file.name}: {res.methods.model}")
        if plot is not None:
            err_console.print(f"forest plot: {plot}", markup=False)


def table_command(
    transform: TransformOpt = "logit",
    method: MethodOpt = "REML",
    hk: HkOpt = False,
    timeframe: Annotated[
        str, typer.Option("--timeframe", help="Mortality: longest or shortest stated time frame.")
    ] = "longest",
    as_json: JsonOpt = False,
    plot_dir: Annotated[
        Path | None, typer.Option("--plot-dir", help="Write forest plots (PNG) here.")
    ] = None,
) -> None:
    """The shipped evidence table (Tomomasa 2021, Table 2): stated ranges checked, pooled."""
    with cli_errors():
        t = load_evidence_table()
        checks = check_stated_ranges(t)
        tf: Timeframe = "shortest" if timeframe == "shortest" else "longest"
        results: dict[str, Any] = {}
        for q in ("incidence", "mortality"):
            qq: Quantity = "incidence" if q == "incidence" else "mortality"
            data, excl, frames = table_proportions(t, qq, timeframe=tf)
            res = meta_analysis(
                data, transform=_transform(transform), method=_method(method), hk=hk
            )
            results[q] = (res, excl, frames)
            if plot_dir is not None:
                render_forest(
                    res, plot_dir / f"ips_{q}_forest.png", title=f"IPS {q} (Tomomasa 2021, Table 2)"
                )
        if as_json:
            out = {
                "table": t.id,
                "stated_ranges": [c.model_dump() for c in checks],
                **{
                    q: {
                        **r.to_json_dict(),
                        "excluded": [e.model_dump() for e in ex],
                        "timeframes": list(fr),
                    }
                    for q, (r, ex, fr) in results.items()
                },
            }
            typer.echo(json.dumps(out, indent=2))
            return
        rows = Table(
            title="Tomomasa et al. 2021, Table 2 (IPS after allogeneic HSCT)", title_justify="left"
        )
        for col in ("cohort", "age", "design", "IPS/SCT", "incidence", "deaths", "ambiguities"):
            rows.add_column(col)
        for c in t.cohorts:
            inc = c.incidence
            deaths = (
                "; ".join(
                    f"{'?' if d.n is None else int(d.n.value)}/{int(d.of.value)}"
                    f" ({'—' if d.percent is None else f'{d.percent.value:g}%'},"
                    f" {_horizon(d.horizon_days)})"
                    for d in c.deaths
                )
                or "; ".join(f"OS {s.percent.value:g}% {s.timeframe}" for s in c.survival)
                or "—"
            )
            rows.add_row(
                c.label,
                c.age_group,
                c.design,
                f"{c.ips_n}/{int(inc.transplant_n.value)}" if inc else f"{c.ips_n}/—",
                f"{inc.percent.value:g}%" if inc else "—",
                deaths,
                str(len(c.ambiguities)),
            )
        console.print(rows)
        console.print(Text("Stated ranges (Section 3) against the table", style="bold"))
        for chk in checks:
            console.print(
                f"  {chk.id}: {chk.low:g}–{chk.high:g}% → {chk.verdict}. Ends match: "
                f"{', '.join(chk.low_matches) or 'none'} / "
                f"{', '.join(chk.high_matches) or 'none'}. {chk.explanation}.",
                markup=False,
            )
        for q, (res, excl, _frames) in results.items():
            _print_meta(res, f"Pooled IPS {q} by age group")
            for e in excl:
                console.print(f"  not pooled: {e.cohort}: {e.reason}", markup=False)
            if q == "mortality":
                console.print(
                    f"  time frame: {tf} stated per cohort; † count derived from a "
                    "percentage (the only whole number consistent with it).",
                    markup=False,
                )
        if plot_dir is not None:
            err_console.print(f"forest plots: {plot_dir}", markup=False)


def prisma_command(
    log: Annotated[
        Path | None,
        typer.Argument(
            help="Screening log CSV or flow counts YAML (default: the shipped "
            "Tomomasa 2021 example)."
        ),
    ] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Diagram (.png/.svg/.pdf).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """PRISMA 2020 flow counts from a screening log (or counts), and the flow diagram."""
    with cli_errors():
        if log is None or log.suffix.lower() in (".yaml", ".yml"):
            flow = load_flow(log)
        else:
            flow = flow_from_log(log)
        if plot is not None:
            render_prisma(flow, plot)
        if as_json:
            typer.echo(json.dumps(flow.model_dump(mode="json"), indent=2))
        else:

            def n(v: int | None) -> str:
                return "not reported" if v is None else str(v)

            console.print(Text(flow.title, style="bold"))
            for db, v in flow.identified.items():
                console.print(f"identified: {db}: {n(v)}", markup=False)
            for label, v in (
                ("duplicates removed", flow.duplicates_removed),
                ("records screened", flow.screened),
                ("records excluded", flow.screen_excluded),
                ("reports sought", flow.sought),
                ("reports not retrieved", flow.not_retrieved),
                ("reports assessed", flow.assessed),
                ("reports excluded", flow.fulltext_excluded),
            ):
                console.print(f"{label}: {n(v)}", markup=False)
            for r, v in flow.fulltext_reasons.items():
                console.print(f"  {r}: {n(v)}", markup=False)
            if flow.unstaged_exclusions is not None:
                u = flow.unstaged_exclusions
                console.print(f"excluded, stage not reported: {n(u.n)}", markup=False)
                for r, v in u.reasons.items():
                    console.print(f"  {r}: {n(v)}", markup=False)
            console.print(
                f"studies included: {n(flow.studies_included)}; reports: "
                f"{n(flow.reports_included)}",
                markup=False,
            )
        if plot is not None:
            err_console.print(f"PRISMA diagram: {plot}", markup=False)


def records_command(
    files: Annotated[list[Path], typer.Argument(help="PubMed .nbib, .ris or .csv exports.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Screening log CSV to write.")],
) -> None:
    """Import search exports, remove duplicates (DOI, PMID, title) and write a screening log."""
    with cli_errors():
        records = [r for f in files for r in read_records(f)]
        dedup = deduplicate(records)
        write_screening_log(dedup, out)
        by_key: dict[str, int] = {}
        for d in dedup.duplicates:
            by_key[d.key] = by_key.get(d.key, 0) + 1
        console.print(
            f"{len(records)} records from {len(files)} file(s); {len(dedup.duplicates)} duplicates "
            f"({', '.join(f'{k}: {v}' for k, v in by_key.items()) or 'none'}); "
            f"{len(dedup.unique)} to screen. Log: {out}",
            markup=False,
        )


@evidence_app.callback()
def _evidence_root(ctx: typer.Context) -> None:
    """Evidence synthesis (docs/evidence.md)."""
    if ctx.invoked_subcommand is None:
        table_command(
            transform="logit",
            method="REML",
            hk=False,
            timeframe="longest",
            as_json=False,
            plot_dir=None,
        )


def register(app: typer.Typer) -> None:
    """Add the ``evidence`` sub-app to the root app."""
    evidence_app.command("meta")(meta_command)
    evidence_app.command("table")(table_command)
    evidence_app.command("prisma")(prisma_command)
    evidence_app.command("records")(records_command)
    app.add_typer(evidence_app, name="evidence")
