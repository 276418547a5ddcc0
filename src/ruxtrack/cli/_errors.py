"""Turn library errors into a message and an exit code at the CLI boundary."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import typer
from rich.console import Console

from ruxtrack.errors import RuxtrackError

T = TypeVar("T")

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


@contextmanager
def cli_errors() -> Iterator[None]:
    """Print a :class:`RuxtrackError` as ``error: <type>: <message>`` and exit 1, no traceback."""
    try:
        yield
    except RuxtrackError as exc:
        from rich.markup import escape

        # user text is never markup: "[/x]" in a value or a name must print as typed
        err_console.print(f"[bold red]error[/]: {type(exc).__name__}: {escape(str(exc))}")
        raise typer.Exit(code=1) from exc


def run_cli(fn: Callable[[], T]) -> T:
    """Call ``fn`` inside :func:`cli_errors`."""
    with cli_errors():
        return fn()
