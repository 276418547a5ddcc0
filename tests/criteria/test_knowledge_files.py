"""The criteria knowledge files: shape, sources, and errors that name file and field."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest
import yaml

import ruxtrack.criteria
from ruxtrack.criteria import _hscore, _registry, list_criteria
from ruxtrack.criteria._knowledge import load_file
from ruxtrack.errors import KnowledgeFileError
from ruxtrack.knowledge import knowledge_path

FILES = sorted(Path(knowledge_path("criteria")).glob("*.yaml"))


def test_every_criterion_loads_with_sources() -> None:
    infos = list_criteria()
    assert len(infos) == 14
    for info in infos:
        assert info.sources and all(s.citation for s in info.sources), info.id
        assert info.inputs, info.id


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_entry_with_a_source_names_a_status(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "key" in node and "locator" in node:
                assert "status" in node, (path.name, node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(data)
    assert "sources" in data


def test_overlapping_bins_fail_naming_file_and_field(tmp_path: Path) -> None:
    src = Path(knowledge_path("criteria/hscore.yaml")).read_text(encoding="utf-8")
    bad = tmp_path / "hscore.yaml"
    bad.write_text(
        src.replace("{ge: 38.4, le: 39.4, points: 33}", "{ge: 38.3, le: 39.4, points: 33}")
    )
    with pytest.raises(KnowledgeFileError, match=r"hscore\.yaml: field `temp`.*overlap"):
        load_file("hscore", _hscore.HscoreFile, bad)


def test_unknown_source_key_fails(tmp_path: Path) -> None:
    src = Path(knowledge_path("criteria/hscore.yaml")).read_text(encoding="utf-8")
    bad = tmp_path / "hscore.yaml"
    bad.write_text(src.replace("table_source: {key: pmc7589537", "table_source: {key: nowhere"))
    with pytest.raises(KnowledgeFileError, match="nowhere"):
        load_file("hscore", _hscore.HscoreFile, bad)


def test_public_surface() -> None:
    assert set(ruxtrack.criteria.__all__) == {
        "Component",
        "Conclusion",
        "CriterionInfo",
        "CriterionInputError",
        "Evaluation",
        "InputSpec",
        "Probability",
        "SourceInfo",
        "Status",
        "UnknownCriterionError",
        "describe",
        "evaluate",
        "evaluate_days",
        "evaluate_timeline",
        "list_criteria",
    }


@pytest.mark.parametrize("module", [ruxtrack.criteria, _registry])
def test_docstring_examples_run(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0
