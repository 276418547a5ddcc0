"""Root typer application: lazy command loading and the one error boundary.

Commands are loaded only when used, so ``ruxtrack --version`` and ``--help`` never import
pandas, scipy or statsmodels. :data:`COMMANDS` is the table: command name -> (module, one-line
help). The module has a ``register(app: typer.Typer)`` function that adds its commands (and
may add several: the table lists each name it adds). To add a command, write
``cli/_<area>.py`` with ``register`` and add one line here, e.g.::

    "serve": ("ruxtrack.cli._serve", "Serve the web application on 127.0.0.1."),

Exit codes: 0 success; 1 input refused or a command failed (one ``error:`` line per
problem, no traceback); 2 usage (unknown command or option, bad option value).
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import typer
from typer import _click as click  # typer 0.29 vendors click: its exceptions are these
from typer._click.exceptions import UsageError
from typer.core import TyperCommand, TyperGroup

from ruxtrack import __version__

__all__ = ["COMMANDS", "app", "main"]

#: Command name -> (module with ``register(app)``, one-line help). Order is --help order.
COMMANDS: dict[str, tuple[str, str]] = {
    "import": ("ruxtrack.cli._registry", "Validate a canonical folder and import it."),
    "export": ("ruxtrack.cli._registry", "Write every patient as a canonical folder."),
    "patients": ("ruxtrack.cli._registry", "List the patients in the store."),
    "timeline": ("ruxtrack.cli._registry", "Show one patient's timeline."),
    "demo": ("ruxtrack.cli._registry", "Load the demo data and show what ruxtrack does."),
    "synth": ("ruxtrack.cli._synth", "Generate a synthetic cohort."),
    "regimens": ("ruxtrack.cli._protocol", "List regimens, or show one with its sources."),
    "dose": ("ruxtrack.cli._protocol", "Dose decision for one day of a regimen."),
    "replay": ("ruxtrack.cli._protocol", "Replay a regimen over a stored course."),
    "audit": ("ruxtrack.cli._protocol", "Audit a stored course against a regimen."),
    "criteria": ("ruxtrack.cli._criteria", "Evaluate criteria, scores, grades, formulas."),
    "studies": ("ruxtrack.cli._cohort", "List and show the shipped study definitions."),
    "report": ("ruxtrack.cli._cohort", "Run a study and write its tables and figures."),
    "evidence": ("ruxtrack.cli._evidence", "Evidence synthesis: meta-analysis, PRISMA."),
}

#: Set RUXTRACK_DEBUG=1 to see the traceback of an unexpected error.
DEBUG_ENV = "RUXTRACK_DEBUG"


class _Stub(TyperCommand):
    """A command's name and help, for listing without importing its module."""


_METAVARS = {
    "<str>": "TEXT", "<list[str]>": "TEXT", "<int>": "INTEGER", "<float>": "NUMBER",
    "<path>": "PATH", "<Path>": "PATH", "<file>": "FILE", "<directory>": "DIR",
    "<datetime>": "DATE",
}  # fmt: skip


def _conventional(cmd: click.Command, ctx: click.Context) -> None:
    """Plain (not rich-panel) help with conventional metavars (TEXT, PATH, ...), recursively."""
    if hasattr(cmd, "rich_markup_mode"):
        cmd.rich_markup_mode = None
    for param in cmd.params:
        if param.param_type_name == "argument":
            continue
        if param.metavar is None and not getattr(param, "is_flag", False):
            shown = _display(param, ctx)
            if shown is not None:
                param.metavar = shown
    for sub in getattr(cmd, "commands", {}).values():
        _conventional(sub, ctx)


def _display(param: click.Parameter, ctx: click.Context) -> str | None:
    try:
        label = str(param.display_type(ctx))  # type: ignore[attr-defined]
    except (AttributeError, TypeError):
        return None
    if label in _METAVARS:
        return _METAVARS[label]
    if label.startswith("<") and "|" in label:
        return "[" + label[1:-1] + "]"
    return None


class LazyGroup(TyperGroup):
    """A group whose commands are imported from :data:`COMMANDS` when first used."""

    _listing: ClassVar[bool] = False
    _loaded: ClassVar[dict[str, TyperGroup]] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, help_text = entry
        if self._listing:
            return _Stub(cmd_name, help=help_text, short_help=help_text)
        group = self._loaded.get(module)
        if group is None:
            import importlib

            sub = typer.Typer(rich_markup_mode=None)
            importlib.import_module(module).register(sub)
            group = self._loaded[module] = typer.main.get_group(sub)
            _conventional(group, ctx)
        return group.commands.get(cmd_name)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        LazyGroup._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            LazyGroup._listing = False

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = str(args[0]) if args else ""
        if name and name not in COMMANDS and not name.startswith("-"):
            import difflib

            hint = difflib.get_close_matches(name, COMMANDS, n=1)
            extra = f' (did you mean "{hint[0]}"?)' if hint else ""
            raise UsageError(f'no such command "{name}"{extra}', ctx)
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, typer.Exit, typer.Abort):
            raise
        except Exception as exc:  # the one boundary: no traceback reaches the user
            from ruxtrack.cli._errors import report_error

            if os.environ.get(DEBUG_ENV):
                raise
            raise typer.Exit(code=report_error(exc)) from exc


app = typer.Typer(
    name="ruxtrack",
    cls=LazyGroup,
    help=(
        "ruxtrack: ruxolitinib therapy of cytokine-driven hyperinflammation: dose decisions, "
        "criteria and scores, a patient registry, cohort reports and evidence synthesis."
    ),
    epilog="Exit codes: 0 success, 1 input refused or command failed, 2 usage error.",
    no_args_is_help=True,
    # Locals can hold patient data: never print them in a traceback.
    pretty_exceptions_show_locals=False,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
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


def main() -> None:
    """Entry point used by ``python -m ruxtrack``."""
    app()
