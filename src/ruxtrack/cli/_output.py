"""Outputs written whole or not at all: a staging folder moved into ``--out`` when complete."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["staged_output"]


@contextmanager
def staged_output(out: Path) -> Iterator[Path]:
    """Yield a staging folder beside ``out``; on success move its content into ``out``.

    A command that fails part-way leaves ``out`` as it was (no half-written report). Files of
    the same name already in ``out`` are replaced; other files there are kept.
    """
    out = out.expanduser()
    if out.exists() and not out.is_dir():
        from ruxtrack.errors import RuxtrackError

        raise RuxtrackError(f"--out {out} is a file, not a folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        yield stage
        out.mkdir(exist_ok=True)
        for item in sorted(stage.rglob("*")):
            target = out / item.relative_to(stage)
            if item.is_dir():
                target.mkdir(exist_ok=True)
            else:
                item.replace(target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
