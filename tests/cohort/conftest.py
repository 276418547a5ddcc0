from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from toy_cohort import toy_frames

from ruxtrack.cohort import Study, load_study

TOMOMASA_CASE = Path(__file__).parent / "data" / "tomomasa_case"


@pytest.fixture(scope="session")
def sarmiento() -> Study:
    return load_study("sarmiento-2021")


@pytest.fixture(scope="session")
def toy() -> dict:
    return toy_frames()
