"""OMOP fixtures: the demo cohort exported as a CDM folder, and a fresh PostgreSQL database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ruxtrack.demo import demo_datasets
from ruxtrack.sources import read_folder
from ruxtrack.sources.omop import write_omop
from ruxtrack.timeline import Timeline


@pytest.fixture(scope="session")
def demo_timelines() -> list[Timeline]:
    """Both demo datasets, in patient-id order (the order a store exports them in)."""
    out: list[Timeline] = []
    for folder in demo_datasets().values():
        out += read_folder(folder)
    return sorted(out, key=lambda tl: tl.patient.patient_id)


@pytest.fixture
def cdm_dir(tmp_path: Path, demo_timelines: list[Timeline]) -> Path:
    folder = tmp_path / "cdm"
    write_omop(demo_timelines, folder)
    return folder


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database (RUXTRACK_TEST_PG_URL), dropped afterwards."""
    base = os.environ.get("RUXTRACK_TEST_PG_URL")
    if not base:
        if os.environ.get("CI"):
            pytest.fail("RUXTRACK_TEST_PG_URL is not set, and CI requires the PostgreSQL tests")
        pytest.skip("RUXTRACK_TEST_PG_URL is not set")
    url = sa.make_url(base)
    name = f"ruxtrack_omop_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
