"""Regimen files are validated on load; a bad file names the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import ruxtrack.protocol as protocol
from ruxtrack.errors import KnowledgeFileError
from ruxtrack.knowledge import knowledge_path
from ruxtrack.protocol import list_regimens, load_interactions, load_regimen


def test_public_surface() -> None:
    assert set(protocol.__all__) == {n for n in dir(protocol) if not n.startswith("_")} - {
        n for n in dir(protocol) if n in ("annotations",)
    }


def test_every_rule_of_every_regimen_has_a_known_source() -> None:
    for rid in list_regimens():
        r = load_regimen(rid)
        for rule in r.rules:
            assert rule.source.key in r.sources


def _write(tmp_path: Path, mutate: object) -> Path:
    data = yaml.safe_load(knowledge_path("regimens/sarmiento-2021-covid.yaml").read_text())
    mutate(data)  # type: ignore[operator]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: d["rules"][0].update(effect="explode"), "rules.0.effect"),
        (lambda d: d["rules"][1].pop("percent"), "needs `percent`"),
        (lambda d: d["rules"][0]["source"].update(key="NOPE"), "NOPE"),
        (lambda d: d.update(max_daily_mg=10), "above max_daily_mg"),
        (lambda d: d["rules"][0].update(colour="red"), "colour"),
    ],
)
def test_bad_regimen_file_names_file_and_field(
    tmp_path: Path, mutate: object, fragment: str
) -> None:
    path = _write(tmp_path, mutate)
    with pytest.raises(KnowledgeFileError) as exc:
        load_regimen(path)
    assert str(path) in str(exc.value) and fragment in str(exc.value)


def test_interactions_match_aliases() -> None:
    table = load_interactions()
    assert table.classes_of("Lopinavir/Ritonavir") == ("strong_cyp3a4",)
    assert table.classes_of("fluconazole") == ("fluconazole",)
    assert table.classes_of("paracetamol") == ()
