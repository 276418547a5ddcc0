"""FHIR export -> import reproduces the timeline (demo data)."""

from __future__ import annotations

import json

from ruxtrack.demo import demo_datasets
from ruxtrack.sources import read_folder, resolved_rows
from ruxtrack.sources.fhir import bundle_from_timeline, timeline_from_fhir, timelines_from_fhir
from ruxtrack.timeline import Timeline


def _rows(tl: Timeline, drop: tuple[str, ...] = ()) -> dict[str, list[str]]:
    out = {}
    for table, rows in resolved_rows(tl).items():
        out[table] = sorted(
            json.dumps({k: str(v) for k, v in r.items() if k != "seq" and k not in drop})
            for r in rows
        )
    return out


def test_demo_bundles_read_back_unchanged_but_for_rxnorm_filled_in() -> None:
    tls = read_folder(demo_datasets()["sarmiento-2021-synthetic"])
    result = timelines_from_fhir([bundle_from_timeline(tl) for tl in tls], unmapped="problem")
    assert result.problems == []
    assert [t.patient.patient_id for t in result.timelines] == [t.patient.patient_id for t in tls]
    for a, b in zip(tls, result.timelines, strict=True):
        assert _rows(a, drop=("rxnorm",)) == _rows(b, drop=("rxnorm",))
    again = timelines_from_fhir([bundle_from_timeline(t) for t in result.timelines])
    for a, b in zip(result.timelines, again.timelines, strict=True):
        assert _rows(a) == _rows(b)


def test_one_patient_prefetch_gives_one_timeline() -> None:
    res = timeline_from_fhir([{"resourceType": "Patient", "id": "p1", "gender": "female"}])
    assert res.problems == []
    assert res.timelines[0].patient.patient_id == "p1"
