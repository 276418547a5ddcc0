"""The FHIR writer: valid R4 Bundles (R4B models, no null or empty element), stable ids."""

from __future__ import annotations

import pytest
from fhir.resources.R4B import get_fhir_model_class

from ruxtrack.demo import demo_datasets
from ruxtrack.errors import RuxtrackError
from ruxtrack.sources import read_folder
from ruxtrack.sources._fhir_files import documents_to_resources
from ruxtrack.sources.fhir import bundle_from_timeline, load_fhir_mapping

TIMELINES = read_folder(demo_datasets()["sarmiento-2021-synthetic"])


def test_every_exported_bundle_is_a_valid_r4_bundle_without_empty_elements() -> None:
    bundle_model = get_fhir_model_class("Bundle")
    for tl in TIMELINES[:6]:
        b = bundle_from_timeline(tl)
        bundle_model.model_validate(b)
        problems: list = []
        documents_to_resources([b], "export", load_fhir_mapping(), problems)
        assert problems == []
        assert b["type"] == "collection"
        assert all(e["fullUrl"] == f"urn:uuid:{e['resource']['id']}" for e in b["entry"])


def test_ids_are_stable_and_unique() -> None:
    a, b = bundle_from_timeline(TIMELINES[0]), bundle_from_timeline(TIMELINES[0])
    ids = [e["resource"]["id"] for e in a["entry"]]
    assert ids == [e["resource"]["id"] for e in b["entry"]]
    assert len(set(ids)) == len(ids)


def test_times_carry_the_offset_asked_for() -> None:
    b = bundle_from_timeline(TIMELINES[0], tz="-03:00")
    times = [e["resource"].get("effectiveDateTime") for e in b["entry"]]
    assert any(t and t.endswith("-03:00") for t in times)


@pytest.mark.parametrize("tz", ["UTC", "+3", "+25:00", ""])
def test_a_bad_offset_is_refused(tz: str) -> None:
    with pytest.raises(RuxtrackError, match="not a UTC offset"):
        bundle_from_timeline(TIMELINES[0], tz=tz)


def test_fhir_resources_is_imported_only_when_resources_are_checked() -> None:
    import subprocess
    import sys

    code = "import sys, ruxtrack.sources.fhir; print('fhir.resources' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
