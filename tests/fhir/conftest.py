"""Fixtures of the FHIR tests: a real SQLite store per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ruxtrack.store import Store, open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'fhir.db'}")
    try:
        yield s
    finally:
        s.close()
