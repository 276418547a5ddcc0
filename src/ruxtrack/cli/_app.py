"""Root typer application and the shared error boundary."""

from __future__ import annotations

import importlib

import typer

from ruxtrack import __version__

app = typer.Typer(
    name="ruxtrack",
    help=(
        "ruxtrack: ruxolitinib therapy of cytokine-driven hyperinflammation — protocol engine, "
        "criteria and scores, patient registry, cohort analytics and evidence synthesis."
    ),
    no_args_is_help=True,
    # Locals can hold patient data: never print them in a traceback.
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ruxtrack {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """ruxtrack command line."""


# Each module registers its commands on ``app``; the order is the order in --help.
_COMMAND_MODULES: tuple[str, ...] = (
    "ruxtrack.cli._registry",
    "ruxtrack.cli._synth",
    "ruxtrack.cli._protocol",
    "ruxtrack.cli._criteria",
    "ruxtrack.cli._cohort",
    "ruxtrack.cli._evidence",
    "ruxtrack.cli._serve",
)

for _name in _COMMAND_MODULES:
    try:
        _module = importlib.import_module(_name)
    except ModuleNotFoundError as _exc:  # an area not built yet in a partial checkout
        if _exc.name != _name:
            raise
        continue
    _module.register(app)


def main() -> None:
    """Entry point used by ``python -m ruxtrack``."""
    app()
