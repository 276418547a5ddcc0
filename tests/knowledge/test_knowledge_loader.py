"""Knowledge files: read-only loading and one validator for every file kind."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from ruxtrack.errors import KnowledgeFileError
from ruxtrack.knowledge import SourceRef, VerificationStatus, load_yaml, validate_knowledge


class _Dose(BaseModel):
    mg: float
    per_day: int


def test_invalid_field_names_file_field_and_further_problems() -> None:
    with pytest.raises(KnowledgeFileError) as info:
        validate_knowledge(_Dose, {"mg": "ten", "per_day": "x"}, "dose.yaml")
    assert str(info.value) == (
        "dose.yaml: field `mg`: Input should be a valid number, unable to parse string as a "
        "number (and 1 more)"
    )


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(KnowledgeFileError, match="mapping at its top level"):
        validate_knowledge(_Dose, ["mg", 10], "dose.yaml")


def test_valid_content_gives_the_model() -> None:
    assert validate_knowledge(_Dose, {"mg": 10, "per_day": 2}, "dose.yaml") == _Dose(
        mg=10, per_day=2
    )


def test_unreadable_and_malformed_yaml_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeFileError, match="cannot be read"):
        load_yaml(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n", encoding="utf-8")
    with pytest.raises(KnowledgeFileError, match="is not valid YAML"):
        load_yaml(bad)


def test_unverified_sources_say_so_in_their_label() -> None:
    ref = SourceRef(key="S4", locator="Table 7", status=VerificationStatus.unverified)
    assert ref.label() == "S4, Table 7 (unverified)"
    assert SourceRef(key="S1").label() == "S1"
