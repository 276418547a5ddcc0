from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "cohort"))

from toy_cohort import toy_frames

from ruxtrack.cohort import StudyRun, load_study, open_tables, run_study
from ruxtrack.outputs import ReportFiles, build_report

TOMOMASA_CASE = Path(__file__).parents[1] / "cohort" / "data" / "tomomasa_case"


@pytest.fixture(scope="session")
def sarmiento_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[StudyRun, ReportFiles]:
    study = load_study("sarmiento-2021")
    run = run_study(study, "toy-cohort", tables=open_tables(toy_frames()))
    return build_report(study, "toy-cohort", tmp_path_factory.mktemp("sarmiento"), run=run)
