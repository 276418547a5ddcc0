from __future__ import annotations

import pytest
from cohort_fixtures import SARMIENTO_DEMO

from ruxtrack.cohort import Study, StudyRun, load_study, run_study


@pytest.fixture(scope="session")
def sarmiento() -> Study:
    return load_study("sarmiento-2021")


@pytest.fixture(scope="session")
def sarmiento_run(sarmiento: Study) -> StudyRun:
    """The seed 004 study on the shipped 18-patient synthetic demo (CSV folder, DuckDB)."""
    return run_study(sarmiento, SARMIENTO_DEMO)
