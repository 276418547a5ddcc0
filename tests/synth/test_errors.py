"""Bad requests and bad targets files fail with messages that say what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ruxtrack.errors import KnowledgeFileError
from ruxtrack.knowledge import knowledge_path
from ruxtrack.synth import SynthError, generate, load_targets


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_patients": 0}, "at least 1"),
        ({"n_patients": 2.5}, "whole number"),
        ({"seed": -1}, "seed must be"),
        ({"format": "xlsx"}, 'unknown format "xlsx"'),
        ({"chunk_size": 0}, "chunk_size"),
        ({"structure": "exact"}, "exact reproduces the paper's 18 patients; got 10"),
        ({"structure": "quota"}, 'unknown structure "quota"'),
        ({"id_prefix": "bad id"}, "id prefix"),
    ],
)
def test_bad_requests_raise_synth_error(tmp_path: Path, kwargs: dict, message: str) -> None:
    args = {"n_patients": 10, "seed": 1, "out_dir": tmp_path} | kwargs
    with pytest.raises(SynthError, match=message):
        generate(**args)
    assert not any(tmp_path.glob("*.csv")) and not any(tmp_path.glob("*.parquet"))


def _broken_targets(tmp_path: Path, edit: dict) -> Path:
    data = yaml.safe_load(knowledge_path("synth/sarmiento-2021.yaml").read_text(encoding="utf-8"))
    for dotted, value in edit.items():
        node = data
        *parents, last = dotted.split(".")
        for p in parents:
            node = node[int(p)] if p.isdigit() else node[p]
        node[last] = value
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_group_sizes_must_add_up(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeFileError, match="group sizes do not add up"):
        load_targets(_broken_targets(tmp_path, {"groups.0.n": 11}))


def test_a_printed_range_below_its_median_needs_a_sourced_replacement(tmp_path: Path) -> None:
    path = _broken_targets(
        tmp_path, {"markers.2.at.d8": {"median": 2471, "low": 800, "high": 2338}}
    )
    with pytest.raises(KnowledgeFileError, match="below the median"):
        load_targets(path)


def test_unknown_source_key_is_reported(tmp_path: Path) -> None:
    path = _broken_targets(tmp_path, {"age.source": {"key": "Nowhere2020", "status": "confirmed"}})
    with pytest.raises(KnowledgeFileError, match="Nowhere2020"):
        load_targets(path)


def test_packaged_targets_cite_the_paper_for_every_printed_median() -> None:
    t = load_targets()
    assert t.sources["Sarmiento2021"].citation.startswith("Sarmiento M")
    for m in t.markers:
        assert m.source.key == "Sarmiento2021" and m.source.locator.startswith("Table 2")
        assert m.source.quote is not None
    judgement = t.marker("ferritin").at["d8"].high_source
    assert judgement is not None and judgement.status.value == "project_judgement"
