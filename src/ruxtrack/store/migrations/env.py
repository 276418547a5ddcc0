"""Alembic environment: runs on the connection :func:`ruxtrack.store.open_store` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):  # pragma: no cover - only reached from the CLI
    raise RuntimeError("ruxtrack's migrations run through ruxtrack.store.open_store(url)")

context.configure(
    connection=connection,
    # SQLite alters tables by copying them (ALTER TABLE is limited there).
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
