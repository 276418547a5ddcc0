from __future__ import annotations

import pytest
from outputs_fixtures import SARMIENTO_DEMO, TOMOMASA_DEMO

from ruxtrack.cohort import StudyRun
from ruxtrack.outputs import ReportFiles, build_report


@pytest.fixture(scope="session")
def sarmiento_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[StudyRun, ReportFiles]:
    """`report sarmiento-2021` on the shipped synthetic demo (CSV folder), end to end."""
    return build_report("sarmiento-2021", SARMIENTO_DEMO, tmp_path_factory.mktemp("sarmiento"))


@pytest.fixture(scope="session")
def tomomasa_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[StudyRun, ReportFiles]:
    """`report tomomasa-2021` on the shipped case report (seed 000)."""
    return build_report("tomomasa-2021", TOMOMASA_DEMO, tmp_path_factory.mktemp("tomomasa"))
