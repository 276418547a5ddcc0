"""The CLI boundary: errors become ``error:`` lines and exit codes; no user text is markup.

Every console here has ``markup=False``: a regimen name, a file name or a cell holding
``[/x]`` or ``[lb_av]`` is printed as it is. Styling goes through :class:`rich.text.Text`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from rich.console import Console

from ruxtrack.errors import ImportValidationError, RuxtrackError, excerpt

__all__ = ["cli_errors", "err_console", "make_console", "report_error", "run_cli"]

T = TypeVar("T")

#: Longest error message printed (a message quoting a huge value is cut).
MESSAGE_CHARS = 400


def make_console(*, stderr: bool = False, **kwargs: Any) -> Console:
    """A console that never reads markup and never highlights (user text stays as typed)."""
    kwargs.setdefault("soft_wrap", True)
    return Console(stderr=stderr, markup=False, highlight=False, emoji=False, **kwargs)


err_console = make_console(stderr=True)


def _line(text: str) -> None:
    err_console.print(f"error: {text}", markup=False, highlight=False, soft_wrap=True)


def report_error(exc: BaseException) -> int:
    """Print ``exc`` as ``error:`` lines (no traceback, no SQL parameters); the exit code."""
    if isinstance(exc, ImportValidationError):
        for p in exc.problems:
            _line(str(p))
        n = len(exc.problems)
        _line(f"{n} problem{'s' if n != 1 else ''} found; nothing was written")
        return 1
    if isinstance(exc, RuxtrackError):
        _line(excerpt(" ".join(str(exc).split()) if "\n" not in str(exc) else str(exc),
                      MESSAGE_CHARS))  # fmt: skip
        return 1
    if isinstance(exc, BrokenPipeError):  # output piped into head, less, ...: stop quietly
        import os
        import sys

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    if isinstance(exc, KeyboardInterrupt):
        _line("interrupted")
        return 130
    try:
        from sqlalchemy.exc import SQLAlchemyError
    except ImportError:  # pragma: no cover - a core dependency
        SQLAlchemyError = ()  # type: ignore[assignment,misc]
    if isinstance(exc, SQLAlchemyError):
        from ruxtrack.store._store import db_reason

        _line(f"the store refused the operation: {db_reason(exc)}")
        return 1
    if isinstance(exc, MemoryError):
        _line("out of memory: the input is too large")
        return 1
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        _line(f"cannot access{where}: {exc.strerror or exc}")
        return 1
    _line(
        f"unexpected {type(exc).__name__}: {excerpt(str(exc), MESSAGE_CHARS)} "
        "(a defect in ruxtrack: please report it; RUXTRACK_DEBUG=1 shows the traceback)"
    )
    return 1


@contextmanager
def cli_errors() -> Iterator[None]:
    """Print a :class:`RuxtrackError` as ``error:`` lines and exit 1, no traceback."""
    try:
        yield
    except RuxtrackError as exc:
        raise typer.Exit(code=report_error(exc)) from exc


def run_cli(fn: Callable[[], T]) -> T:
    """Call ``fn`` inside :func:`cli_errors`."""
    with cli_errors():
        return fn()
