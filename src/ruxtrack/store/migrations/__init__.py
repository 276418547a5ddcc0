"""Alembic migrations of the store, run programmatically by :func:`ruxtrack.store.open_store`."""
