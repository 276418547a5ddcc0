"""Fixtures of the criteria tests (builders live in criteria_builders.py)."""

from __future__ import annotations

import pytest
from criteria_builders import seed_000_builder

from ruxtrack.timeline import Timeline


@pytest.fixture
def seed_000() -> Timeline:
    """The seed 000 case (Tomomasa 2021) as the paper states it."""
    return seed_000_builder().build()
