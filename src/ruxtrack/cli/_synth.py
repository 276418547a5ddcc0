"""``ruxtrack synth``: generate a synthetic seed-004-like cohort (docs/synth.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from ruxtrack.cli._errors import cli_errors, err_console, make_console
from ruxtrack.synth import DEFAULT_CHUNK_SIZE, SynthResult, generate

__all__ = ["register", "synth_command"]

console = make_console()


def _render(result: SynthResult, seconds: float) -> None:
    table = Table(title=f"{result.n_patients:,} synthetic patients in {result.folder}",
                  title_justify="left")  # fmt: skip
    table.add_column("file")
    table.add_column("rows", justify="right")
    for name, path in result.files.items():
        table.add_row(path.name, f"{result.rows[name]:,}")
    console.print(table)
    console.print(
        f"seed {result.seed} · {result.format} · {result.total_rows:,} rows in {seconds:.1f} s · "
        f"every patient is labelled synthetic (manifest: {result.manifest.name})",
        markup=False,
    )


def synth_command(
    patients: Annotated[int, typer.Option("--patients", "-n", help="Number of patients.", min=1)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write (created if needed).")],
    seed: Annotated[
        int, typer.Option("--seed", "-s", help="Random seed (same seed, same files).", min=0)
    ] = 0,
    format: Annotated[
        str, typer.Option("--format", "-f", help="parquet or csv.", case_sensitive=False)
    ] = "parquet",
    chunk_size: Annotated[
        int, typer.Option("--chunk-size", help="Patients held in memory at a time.", min=1)
    ] = DEFAULT_CHUNK_SIZE,
) -> None:
    """Generate synthetic adults with COVID-19 hyperinflammation on the 15-day ruxolitinib regimen.

    Courses resemble Sarmiento et al. 2021 (seed 004): calibrated to its Tables 1 and 2, three
    outcome groups in its proportions, dose changes driven by the generated platelets and ANC.
    Written as a canonical folder (docs/data-format.md) that `ruxtrack import` reads; every
    patient is marked synthetic.
    """
    import time

    bar = Progress(
        TextColumn("generating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("patients"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )
    fmt = format.lower()
    with cli_errors(), bar:
        task = bar.add_task("synth", total=patients)

        def step(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        began = time.perf_counter()
        result = generate(
            patients, seed, out, format=fmt, chunk_size=chunk_size,  # type: ignore[arg-type]
            progress=step,
        )  # fmt: skip
        elapsed = time.perf_counter() - began
    _render(result, elapsed)


def register(app: typer.Typer) -> None:
    """Add ``ruxtrack synth`` to the root app."""
    app.command("synth")(synth_command)
