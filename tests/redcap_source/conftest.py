"""REDCap fixtures: the registry export of the demo cohort, and a small longitudinal project."""

from __future__ import annotations

from pathlib import Path

import pytest
from redcap_fixtures import LONG_DICTIONARY, LONG_MAPPING, LONG_RECORDS, write_project

from ruxtrack.demo import demo_datasets
from ruxtrack.sources import read_folder
from ruxtrack.sources.redcap import write_redcap
from ruxtrack.timeline import Timeline


@pytest.fixture
def longitudinal(tmp_path: Path) -> Path:
    return write_project(tmp_path / "site", LONG_DICTIONARY, LONG_RECORDS, LONG_MAPPING)


@pytest.fixture(scope="session")
def demo_timelines() -> list[Timeline]:
    out: list[Timeline] = []
    for folder in demo_datasets().values():
        out += read_folder(folder)
    return sorted(out, key=lambda tl: tl.patient.patient_id)


@pytest.fixture
def registry_export(tmp_path: Path, demo_timelines: list[Timeline]) -> Path:
    folder = tmp_path / "registry"
    write_redcap(demo_timelines, folder)
    return folder
