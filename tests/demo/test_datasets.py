"""The packaged demo datasets are where demo_datasets() says and read as canonical folders."""

from __future__ import annotations

import pytest

from ruxtrack.demo import DATASETS, demo_dataset, demo_datasets
from ruxtrack.errors import RuxtrackError
from ruxtrack.sources import read_folder


def test_demo_datasets_names_both_folders() -> None:
    folders = demo_datasets()
    assert list(folders) == ["tomomasa-2021", "sarmiento-2021-synthetic"]
    for name, folder in folders.items():
        assert (folder / "patients.csv").is_file(), name


@pytest.mark.parametrize("dataset", DATASETS, ids=lambda d: d.name)
def test_each_dataset_reads_with_its_declared_size_and_label(dataset) -> None:  # type: ignore[no-untyped-def]
    timelines = read_folder(demo_dataset(dataset.name))
    assert len(timelines) == dataset.patients
    assert {t.patient.synthetic for t in timelines} == {dataset.synthetic}


def test_unknown_dataset_names_the_available_ones() -> None:
    with pytest.raises(RuxtrackError, match="available: tomomasa-2021, sarmiento-2021-synthetic"):
        demo_dataset("nope")
