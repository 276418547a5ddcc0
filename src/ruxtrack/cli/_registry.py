"""Registry commands: import, export, patients, timeline, demo (docs/registry.md)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ruxtrack.cli._errors import cli_errors, err_console, make_console, report_error
from ruxtrack.cli._options import DbOption, store_target
from ruxtrack.errors import ImportValidationError
from ruxtrack.sources import READERS, SourceResult, read_source
from ruxtrack.store import (
    ImportSummary,
    Store,
    course,
    open_store,
)

__all__ = ["register"]

console = make_console()

ActorOption = Annotated[
    str | None,
    typer.Option(
        "--actor",
        help="Who is acting, for the audit log (default: the operating-system user).",
        show_default=False,
    ),
]


@contextmanager
def _store(db: str | None, *, create: bool = True) -> Iterator[Store]:
    with cli_errors():
        store = open_store(store_target(db), create=create)
    try:
        yield store
    finally:
        store.close()


@contextmanager
def _progress(label: str) -> Iterator[Progress]:
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )
    with bar:
        yield bar


def _render_summary(summary: ImportSummary, title: str) -> None:
    table = Table(title=title, title_justify="left")
    table.add_column("table")
    for col in ("inserted", "replaced", "removed", "unchanged"):
        table.add_column(col, justify="right")
    for name, c in summary.tables:
        if name == "patients":
            table.add_row(name, str(c.inserted), str(c.removed), "", str(c.unchanged))
        else:
            table.add_row(name, str(c.inserted), "", str(c.removed), str(c.unchanged))
    console.print(table)
    for change in summary.replaced:
        console.print(f"replaced {change.describe()}", markup=False)
    if not summary.changed:
        console.print("Nothing changed: the store already holds exactly these records.")


#: Environment variable holding a REDCap API token (never a command-line argument: ps shows it).
REDCAP_TOKEN_ENV = "RUXTRACK_REDCAP_TOKEN"  # noqa: S105 - a variable name, not a secret


def _read(source: str | Path, fmt: str, tmp: str) -> SourceResult:
    """A reader's result; ``redcap-api`` first downloads the project with PyCap into ``tmp``."""
    if fmt == "redcap-api":
        import os

        from ruxtrack.sources.redcap import fetch_redcap

        fetch_redcap(str(source), os.environ.get(REDCAP_TOKEN_ENV, ""), tmp)
        return read_source(tmp, "redcap")
    return read_source(source, fmt)


def _import_into(
    store: Store,
    path: str | Path,
    title: str,
    fmt: str = "canonical",
    actor: str | None = None,
) -> None:
    import tempfile

    name = Path(path).name if "://" not in str(path) else str(path)
    with _progress(f"importing {name}") as bar:
        task = bar.add_task(f"writing {name}", total=None)

        def step(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            with (
                tempfile.TemporaryDirectory() as tmp,
                err_console.status(f"validating {path}", spinner="dots"),
            ):
                summary = store.import_source(
                    _read(path, fmt, tmp), progress=step, actor=actor, client="cli"
                )
        except ImportValidationError as exc:
            bar.stop()
            raise typer.Exit(code=report_error(exc)) from exc
    _render_summary(summary, title)


def _path_or_url(value: str) -> str:
    """A folder path or a URL, kept as typed (``Path`` would fold the ``//`` of a URL)."""
    return value  # the command receives the text; the annotation only names it PATH in help


def import_command(
    source: Annotated[
        Path,
        typer.Argument(
            metavar="PATH|URL",
            parser=_path_or_url,
            help="Folder of canonical CSV or Parquet files (docs/data-format.md); with "
            "--format omop an OMOP CDM folder or database URL (docs/omop.md); with --format "
            "redcap a REDCap export folder, with redcap-api the API URL (docs/redcap.md); with "
            "--format fhir a Bundle .json, an .ndjson file or a folder of them (docs/fhir.md).",
        ),
    ],
    db: DbOption = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="Input format: " + ", ".join(READERS) + ", redcap-api (token in "
            f"${REDCAP_TOKEN_ENV}) (default canonical).",
        ),
    ] = "canonical",
    actor: ActorOption = None,
) -> None:
    """Validate a folder and import it in one transaction (all or nothing).

    Every problem is listed (file, row, column, value, reason); on any problem nothing is
    written and the exit code is 1. Re-importing the same data changes nothing; a patient
    whose records differ has all of them replaced.
    """
    with _store(db) as store, cli_errors():
        fmt = fmt.lower()
        text = str(source)  # as typed: _path_or_url keeps a URL's "//"
        path: str | Path = text if fmt != "canonical" else Path(text)
        _import_into(store, path, f"Imported {text}", fmt, actor)
        console.print(f"store: {store.url}", markup=False)


#: What ``ruxtrack export --format`` writes.
EXPORT_FORMATS = ("csv", "parquet", "omop", "omop-parquet", "redcap", "fhir")


def export_command(
    directory: Annotated[Path, typer.Argument(help="Folder to write (created if needed).")],
    format: Annotated[
        str,
        typer.Option(
            "--format", "-f",
            help="csv or parquet (canonical), omop or omop-parquet (OMOP CDM v5.4 tables), "
            "redcap (the registry's REDCap project and a records import file), fhir (a Bundle "
            "per patient).",
            case_sensitive=False,
        ),
    ] = "csv",
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:  # fmt: skip
    """Export every patient as a canonical folder; importing it again changes nothing."""
    if format.lower() not in EXPORT_FORMATS:  # before the store is opened
        with cli_errors():
            from ruxtrack.sources import ExportError

            raise ExportError(f'unknown export format "{format}": use {", ".join(EXPORT_FORMATS)}')
    if format.lower() == "fhir":
        with _store(db, create=False) as store, cli_errors():
            from ruxtrack.sources.fhir import write_fhir

            bundles, skipped = write_fhir(store.timelines(), directory)
            for reason in skipped:
                console.print(f"skipped: {reason}", markup=False)
            n = len(bundles)
            console.print(
                f"exported {n} FHIR Bundle{'' if n == 1 else 's'} to {directory}", markup=False
            )
        return
    with _store(db, create=False) as store, cli_errors():
        if format.lower() == "redcap":
            from ruxtrack.sources.redcap import write_redcap

            timelines = list(store.timelines())
            for name, file in write_redcap(timelines, directory).items():
                console.print(f"{file}  ({name})", markup=False)
            console.print(
                f"exported {len(timelines)} patients as a REDCap project from {store.url}",
                markup=False,
            )
            return
        if format.lower() in ("omop", "omop-parquet"):
            from ruxtrack.sources.omop import write_omop

            timelines = list(store.timelines())
            kind = "parquet" if format.lower() == "omop-parquet" else "csv"
            for name, file in write_omop(timelines, directory, format=kind).items():
                console.print(f"{file}  ({name})", markup=False)
            console.print(
                f"exported {len(timelines)} patients as OMOP CDM v5.4 from {store.url}",
                markup=False,
            )
            return
        counts = store.counts()
        files = store.export_folder(
            directory,
            format=format.lower(),  # type: ignore[arg-type]
            actor=actor,
            client="cli",
        )
        for name, file in files.items():
            console.print(f"{file}  {counts[name]} rows", soft_wrap=True)
        console.print(f"exported {counts['patients']} patients from {store.url}", soft_wrap=True)


def patients_command(db: DbOption = None) -> None:
    """List the patients in the store."""
    with _store(db, create=False) as store, cli_errors():
        rows = store.patients()
        if not rows:
            console.print(f"No patients in {store.url}.", soft_wrap=True)
            return
        console.print(f"{len(rows)} patients in {store.url}", soft_wrap=True)
        table = Table(
            caption="sex: f female, m male, o other, u unknown; basis: dates, or days relative "
            "to an anchor only; ev events, lab observations, drug drug exposures, sup support "
            "episodes, ass assessments",
            caption_justify="left",
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
            collapse_padding=True,
            padding=(0, 1),
        )
        for col, justify in (
            ("patient", "left"), ("sex", "left"), ("age", "right"), ("synth", "left"),
            ("basis", "left"), ("anchors", "left"), ("ev", "right"), ("lab", "right"),
            ("drug", "right"), ("sup", "right"), ("ass", "right"),
        ):  # fmt: skip
            table.add_column(
                col,
                justify=justify,  # type: ignore[arg-type]
                no_wrap=col != "anchors",
                overflow="fold",
                min_width=14 if col == "anchors" else None,
            )
        for p in rows:
            table.add_row(
                p.patient_id,
                p.sex[:1],
                "" if p.age_years is None else f"{p.age_years:.0f}",
                "yes" if p.synthetic else "no",
                "days" if p.time_basis == "relative" else "dates",
                " ".join(p.anchors),
                str(p.count("events")),
                str(p.count("observations")),
                str(p.count("drugs")),
                str(p.count("support")),
                str(p.count("assessments")),
            )
        console.print(table)


_KIND_LABEL = {"event": "event", "support": "support", "drug": "drug", "lab": "lab",
               "assessment": "finding"}  # fmt: skip


def timeline_command(
    patient_id: Annotated[str, typer.Argument(help="The patient's id.")],
    anchor: Annotated[
        str | None,
        typer.Option(
            "--anchor", "-a",
            help="Day 0: an event, e.g. admission, rux_start or hsct#2 (default: the origin of "
            "a relative-only patient, else admission, else the earliest event).",
        ),
    ] = None,
    db: DbOption = None,
) -> None:  # fmt: skip
    """Print a patient's course day by day relative to an anchor event."""
    with _store(db, create=False) as store, cli_errors():
        tl = store.timeline(patient_id)
        c = course(tl, anchor)
        p = tl.patient
        head = f"{p.patient_id} · {p.sex.value}"
        if p.age_years is not None:
            head += f" · {p.age_years:g} y" + (f" at {p.age_at}" if p.age_at else "")
        elif c.anchor_time is not None and tl.age_at(c.anchor_time) is not None:
            head += f" · {tl.age_at(c.anchor_time):.0f} y at {c.anchor}"
        if p.synthetic:
            head += " · SYNTHETIC"
        basis = "relative days only (no calendar dates)" if c.relative else "calendar dates"
        console.print(Text(head, style="bold"))
        console.print(f"day 0 = {c.anchor}; {basis}", markup=False)
        table = Table(show_lines=False)
        table.add_column("day", justify="right")
        if not c.relative:
            table.add_column("date")
        table.add_column("time")
        table.add_column("what")
        table.add_column("detail")
        for day in c.days:
            for k, e in enumerate(day.entries):
                first = k == 0
                cells = [f"{day.day:+d}" if day.day else "0"] if first else [""]
                if not c.relative:
                    cells.append(day.date.isoformat() if first and day.date else "")
                # Text, not markup: details hold brackets ([kl6], [arb'U]/mL) rich would eat.
                row: list[str | Text] = [*cells, e.clock or "", _KIND_LABEL[e.kind], Text(e.text)]
                table.add_row(*row)
            table.add_section()
        console.print(table)


def demo_command(
    db: DbOption = None,
    out: Annotated[
        Path,
        typer.Option("--out", help="Folder for the cohort report written by the main job."),
    ] = Path("ruxtrack-demo"),
    load_only: Annotated[
        bool,
        typer.Option("--load-only", help="Only load the demo datasets into the store."),
    ] = False,
) -> None:
    """Load the demo data, show a dose decision and criteria, and write the cohort report.

    The main job: loads the shipped demo datasets into the store (idempotent), shows a synthetic
    patient's dose decision with its rationale, evaluates HLH-2004 and CTCAE on the published
    Tomomasa 2021 case, and writes the Sarmiento 2021 cohort report into ``--out``.
    """
    with _store(db) as store, cli_errors():
        try:
            demo = importlib.import_module("ruxtrack.demo")
        except ModuleNotFoundError as exc:
            if exc.name != "ruxtrack.demo":
                raise
            demo = None
        if demo is None or not hasattr(demo, "demo_datasets"):
            err_console.print("error: this installation has no demo data")
            raise typer.Exit(code=1)
        datasets: dict[str, Path] = demo.demo_datasets()
        for name, folder in datasets.items():
            _import_into(store, Path(folder), f"Demo dataset {name}")
        console.print(f"store: {store.url}", soft_wrap=True)
        if load_only:
            console.print(
                "Next: ruxtrack patients"
                + ("" if db is None else f" --db {store.url}")
                + ", then ruxtrack timeline PATIENT_ID",
                markup=False,
            )
            return
        from ruxtrack.cli._demo import run_main_job

        run_main_job(store, out, console)


def register(app: typer.Typer) -> None:
    """Add the registry commands to the root app."""
    app.command("import")(import_command)
    app.command("export")(export_command)
    app.command("patients")(patients_command)
    app.command("timeline")(timeline_command)
    app.command("demo")(demo_command)
