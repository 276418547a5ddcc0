"""Options shared by several commands (light: importing this loads no core module)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["ENV_URL", "DbOption", "store_target"]

#: Environment variable naming the store (kept equal to ``ruxtrack.store.ENV_URL``).
ENV_URL = "RUXTRACK_DATABASE_URL"

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="PATH|URL",
        help="The store: an SQLite file path or an SQLAlchemy URL (default: $" + ENV_URL + ", else "
        "an SQLite file in the user data directory).",
        show_default=False,
    ),
]


def store_target(db: str | None) -> str | Path | None:
    """``--db`` as given: a URL (``scheme://...``) or a plain SQLite file path."""
    if db is None or "://" in db or db.startswith("sqlite:"):
        return db
    return Path(db)
