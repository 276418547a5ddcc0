"""``ruxtrack report`` and ``ruxtrack studies``: thin faces over ruxtrack.cohort and outputs."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ruxtrack.cli._errors import cli_errors, make_console
from ruxtrack.cli._options import DbOption, store_target
from ruxtrack.cli._output import staged_output

console = make_console()


def _store_url(db: str | None) -> str:
    """The store as a URL for the cohort engine: --db, else $RUXTRACK_DATABASE_URL, else the
    default store (as every other command)."""
    import os

    from ruxtrack.store import ENV_URL, default_url

    target = store_target(db)
    if isinstance(target, Path):
        return f"sqlite:///{target.expanduser().resolve()}"
    return target or os.environ.get(ENV_URL) or default_url()


def register(app: typer.Typer) -> None:
    """Add ``report`` and ``studies`` to the root app."""
    studies_app = typer.Typer(
        help="List and show the shipped study definitions.", no_args_is_help=True
    )

    @studies_app.command("list")
    def studies_list() -> None:
        """List the shipped studies (addressable by name in `ruxtrack report`)."""
        from ruxtrack.cohort import available_studies, load_study

        with cli_errors():
            table = Table("name", "title", "tables", "figures")
            for name in available_studies():
                st = load_study(name)
                table.add_row(name, st.title, str(len(st.tables)), str(len(st.figures)))
            console.print(table)

    @studies_app.command("show")
    def studies_show(study: str = typer.Argument(..., help="study name or path")) -> None:
        """Print a study definition (validated) as YAML."""
        import yaml

        from ruxtrack.cohort import load_study

        with cli_errors():
            st = load_study(study)
            typer.echo(
                yaml.safe_dump(
                    st.model_dump(mode="json", by_alias=True, exclude_defaults=True),
                    sort_keys=False,
                    allow_unicode=True,
                )
            )

    app.add_typer(studies_app, name="studies")

    @app.command("report")
    def report(
        study: str = typer.Argument(..., help="shipped study name (sarmiento-2021) or a YAML path"),
        data: str | None = typer.Option(
            None,
            "--data",
            metavar="PATH",
            help="A CSV/Parquet folder or a wide sheet (.csv, .xlsx).",
        ),
        db: DbOption = None,
        out: Path = typer.Option(..., "--out", help="Folder to write the report to."),  # noqa: B008
        engine: str = typer.Option("duckdb", "--engine", help="duckdb or pyspark"),
        omop: str | None = typer.Option(
            None,
            "--omop",
            help="an OMOP CDM: duckdb:///PATH, postgresql://... (computed in that database) or "
            "a folder of CDM tables (docs/omop.md)",
        ),
    ) -> None:
        """Run a study: results.json, tables (HTML, LaTeX, Word, Excel, CSV), figures, report."""
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        from ruxtrack.errors import AnalysisError
        from ruxtrack.outputs import build_report

        with cli_errors():
            given = [x for x in (data, db, omop) if x is not None]
            if len(given) > 1:
                raise AnalysisError("give one of --data PATH, --db PATH|URL or --omop URL|DIR")
            source = data if data is not None else omop if omop is not None else _store_url(db)
            run = None
            if omop is not None:
                from ruxtrack.cohort import load_study, open_omop, run_study

                st = load_study(study)
                with console.status(f"computing per-patient features in {omop}"):
                    run = run_study(
                        st,
                        omop,
                        engine=engine,  # type: ignore[arg-type]
                        tables=open_omop(omop, st, engine=engine),  # type: ignore[arg-type]
                    )
            columns = (
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            with Progress(*columns, console=console, transient=True) as bar:
                task = bar.add_task("starting", total=None)

                def step(message: str, done: int, total: int) -> None:
                    bar.update(task, description=message, completed=done, total=total)

                with staged_output(out) as stage:
                    run, files = build_report(
                        study, source, stage, engine=engine, progress=step, run=run
                    )
                    written = [out / p.relative_to(stage) for p in files.all()]
                    report_file = out / files.report.relative_to(stage)
            r = run.results
            label = " — synthetic data" if r.synthetic else ""
            console.print(
                f"{r.study}: {r.n_included} of {r.n_read} patients included ({engine}){label}"
            )
            for f in r.flow:
                if f.removed or f.unknown:
                    console.print(f"  {f.kind} {f.label}: {f.removed} removed, {f.unknown} unknown")
            n_caveats = sum(
                len(row.test.warnings) for t in r.tables for row in t.rows if row.test
            ) + sum(len(a.warnings) for a in r.analyses)
            skipped = [a.id for a in r.analyses if not a.computed]
            if n_caveats:
                console.print(f"  {n_caveats} statistical caveat(s) recorded in the report")
            if skipped:
                console.print(f"  not computed (see the report): {', '.join(skipped)}")
            console.print(f"wrote {len(written)} files to {out}:", soft_wrap=True)
            for path in written:
                console.print(f"  {path.relative_to(out)}")
            console.print(f"open {report_file}", soft_wrap=True)
