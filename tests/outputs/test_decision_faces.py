"""Every face of a decision (text, HTML, JSON, CDS Hooks card) against golden files.

Refresh after an intended change:
``RUXTRACK_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/outputs/test_decision_faces.py -q``
"""

from __future__ import annotations

import json
import os
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import pytest
from decision_cases import CASES, case_decision

from ruxtrack.outputs import (
    render_decision_card,
    render_decision_html,
    render_decision_json,
    render_decision_text,
)

SNAP = Path(__file__).parent / "snapshots" / "decisions"
UPDATE = os.environ.get("RUXTRACK_UPDATE_SNAPSHOTS") == "1"


def _faces(name: str) -> dict[str, str]:
    d = case_decision(name)
    return {
        "txt": render_decision_text(d, width=80),
        "html": render_decision_html(d) + "\n",
        "json": json.dumps(render_decision_json(d), indent=2, ensure_ascii=False) + "\n",
        "card.json": json.dumps(render_decision_card(d), indent=2, ensure_ascii=False) + "\n",
    }


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("face", ["txt", "html", "json", "card.json"])
def test_face_matches_snapshot(name: str, face: str) -> None:
    got = _faces(name)[face]
    path = SNAP / f"{name}.{face}"
    if UPDATE:
        SNAP.mkdir(parents=True, exist_ok=True)
        path.write_text(got, encoding="utf-8")
    assert path.exists(), f"no snapshot {path.name}: run with RUXTRACK_UPDATE_SNAPSHOTS=1"
    assert got == path.read_text(encoding="utf-8"), f"{path.name} differs (see module docstring)"


@pytest.mark.parametrize("name", sorted(CASES))
def test_text_fits_80_columns(name: str) -> None:
    text = render_decision_text(case_decision(name), width=80)
    too_long = [ln for ln in text.splitlines() if len(ln) > 80 and " " in ln.strip()]
    assert not too_long


class _Checker(HTMLParser):
    VOID: ClassVar[set[str]] = {"br", "hr", "img", "meta", "link", "input", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.bad: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for k, _ in attrs:
            if k == "style" or k.startswith("on"):
                self.bad.append(f"{tag}[{k}]")
        if tag in ("script", "style"):
            self.bad.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.bad.append(f"unbalanced </{tag}>")


@pytest.mark.parametrize("name", sorted(CASES))
def test_html_is_balanced_semantic_and_inert(name: str) -> None:
    c = _Checker()
    c.feed(render_decision_html(case_decision(name)))
    assert not c.bad and not c.stack
    assert c.tags[0] == "article" and "h2" in c.tags and "section" in c.tags


def test_html_escapes_what_it_is_given() -> None:
    d = case_decision("sarmiento_reduce").model_copy(
        update={"patient_id": '<script>alert("x")</script>&'}
    )
    out = render_decision_html(d)
    assert "<script>" not in out and "&lt;script&gt;" in out and "&amp;" in out
    assert "<script>" not in json.dumps(render_decision_card(d))  # markdown escapes < too


def _no_empty(node: Any, path: str = "card") -> list[str]:
    bad = []
    if node is None or node == "" or node == [] or node == {}:
        bad.append(path)
    elif isinstance(node, dict):
        for k, v in node.items():
            bad += _no_empty(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            bad += _no_empty(v, f"{path}[{i}]")
    return bad


@pytest.mark.parametrize("name", sorted(CASES))
def test_card_is_a_cds_hooks_card(name: str) -> None:
    d = case_decision(name)
    card = render_decision_card(d, source_url="https://ruxtrack.example/decision/1")
    assert len(card["summary"]) <= 140
    assert card["indicator"] in ("info", "warning", "critical")
    assert card["indicator"] == d.severity
    assert card["source"]["label"] and card["source"]["url"].startswith("https://")
    assert isinstance(card["detail"], str) and card["detail"]
    assert not _no_empty(card)
    assert not _no_empty(render_decision_card(d))


def test_severity_follows_the_action() -> None:
    assert case_decision("us_agvhd_hold").severity == "critical"
    assert case_decision("sarmiento_missing_labs").severity == "critical"
    assert case_decision("sarmiento_reduce").severity == "warning"


def test_cannot_recommend_never_reads_as_an_order() -> None:
    d = case_decision("sarmiento_missing_labs")
    for face in (render_decision_text(d), render_decision_card(d)["summary"]):
        head = face.splitlines()[0] if face.count("\n") == 0 else face.splitlines()[2]
        assert "CANNOT RECOMMEND" in head and "no ruxolitinib" not in head.lower()
        assert "hold" not in head.lower()


def test_off_day_is_named_as_such() -> None:
    text = render_decision_text(case_decision("sarmiento_off_day"))
    assert "OFF DAY of the alternate-day schedule" in text.splitlines()[2]


def test_source_keys_are_expanded() -> None:
    d = case_decision("us_agvhd_hold")
    keys = {s.key for s in d.sources}
    assert "S2" in keys
    faces = (render_decision_text(d), render_decision_html(d), render_decision_card(d)["detail"])
    for face in faces:
        assert "Jakafi (ruxolitinib) US Prescribing Information" in face


def test_faces_import_without_heavy_libraries() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import ruxtrack.outputs as o; o.render_decision_text; "
        "print(sorted(m for m in ('pandas', 'matplotlib', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
