"""Store fixtures: an SQLite file per test, and a PostgreSQL database per test.

PostgreSQL tests use ``RUXTRACK_TEST_PG_URL`` (``.ci/postgres.sh`` prints one). They are skipped
only when it is unset outside CI; with ``CI`` set a missing server fails the test.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ruxtrack.store import Store, open_store

PG_ENV = "RUXTRACK_TEST_PG_URL"


def _pg_base_url() -> sa.URL:
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set, and CI requires the PostgreSQL tests to run")
        pytest.skip(f"{PG_ENV} is not set (run: export {PG_ENV}=$(bash .ci/postgres.sh))")
    return sa.make_url(url)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    base = _pg_base_url()
    name = f"ruxtrack_t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        _drop(admin, name)
        admin.dispose()


def _drop(admin: sa.Engine, name: str) -> None:
    # An autovacuum worker may still be attached to a database just used; wait for it.
    for _ in range(50):
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            return
        except sa.exc.OperationalError:
            time.sleep(0.2)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.sqlite'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests hash passwords with the cheap argon2 profile (production: ~0.3 s per hash)."""
    monkeypatch.setenv("RUXTRACK_ARGON2_PROFILE", "test")
