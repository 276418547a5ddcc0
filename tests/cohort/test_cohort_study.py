"""Study definitions: shipped studies load by name; a bad file names file and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ruxtrack.cohort import available_studies, load_study
from ruxtrack.errors import KnowledgeFileError


def test_shipped_studies_are_addressable_by_name() -> None:
    assert {"sarmiento-2021", "tomomasa-2021"} <= set(available_studies())
    assert load_study("tomomasa-2021").index == "rux_start"


def test_seed_table2_normal_ranges_are_kept_as_printed_with_flags(sarmiento) -> None:
    crp = sarmiento.marker("crp")
    assert crp.normal is not None and crp.normal.text == "0–5 mg/dL"
    assert crp.normal.flag and "ten times" in crp.normal.flag
    assert sarmiento.marker("ferritin").normal.high == 200  # type: ignore[union-attr]
    assert sarmiento.marker("ldh").normal.text == "160–224 U/L"  # type: ignore[union-attr]


def test_unknown_study_name_lists_the_shipped_ones() -> None:
    with pytest.raises(KnowledgeFileError, match="sarmiento-2021"):
        load_study("no-such-study")


def test_bad_field_is_named_with_the_file(tmp_path: Path) -> None:
    data = yaml.safe_load(Path(available_studies()["sarmiento-2021"]).read_text())
    data["time_points"][0]["window_days"] = [1, 2]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(KnowledgeFileError) as err:
        load_study(bad)
    assert str(bad) in str(err.value) and "time_points.0" in str(err.value)


def test_undeclared_marker_in_derived_is_rejected(tmp_path: Path) -> None:
    data = yaml.safe_load(Path(available_studies()["sarmiento-2021"]).read_text())
    data["derived"].append(
        {"name": "x", "label": "x", "kind": "marker_altered", "marker": "troponin", "at": "start"}
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(KnowledgeFileError, match="troponin"):
        load_study(bad)
