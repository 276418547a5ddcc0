"""Malformed study YAML files: each refused with the file and the reason, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ruxtrack.cohort import load_study
from ruxtrack.errors import KnowledgeFileError
from ruxtrack.knowledge import knowledge_path

GOOD = Path(knowledge_path("studies/tomomasa-2021.yaml")).read_text(encoding="utf-8")
BOMB = "\n".join(
    ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    + [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
)


def _edit(fn: object) -> str:
    data = yaml.safe_load(GOOD)
    fn(data)  # type: ignore[operator]
    return yaml.safe_dump(data, sort_keys=False)


INF = float("inf")


def _wide(data: dict, pattern: str) -> None:  # type: ignore[type-arg]
    data.setdefault("wide", {}).update(pattern=pattern)


def _tp(data: dict, **kw: object) -> None:  # type: ignore[type-arg]
    data["time_points"][0].update(kw)


CASES: list[tuple[str, bytes | str, str]] = [
    ("alias_bomb", BOMB, "expands to more than"),
    ("deep_5000", "a: " + "[" * 5000 + "]" * 5000, "not valid YAML"),
    ("deep_mapping", "".join(f"{' ' * i}k:\n" for i in range(200)) + "  " * 100, "deeper than 64"),
    ("latin1", b"study: x\ntitle: caf\xe9\n", "not UTF-8"),
    ("utf16", GOOD.encode("utf-16"), "UTF-16"),
    ("empty", "", "mapping at its top level"),
    ("list_top", "- 1\n- 2\n", "mapping at its top level"),
    ("scalar_top", "just text\n", "mapping at its top level"),
    ("window_inf_nan", _edit(lambda d: _tp(d, window_days=[-INF, float("nan")])), "finite"),
    ("window_inverted", _edit(lambda d: _tp(d, window_days=[3, -3])), "before <= 0"),
    ("offset_inf", _edit(lambda d: _tp(d, offset_days=float("inf"))), "finite"),
    ("pattern_foo", _edit(lambda d: d.setdefault("wide", {}).update(pattern="{foo}")), "{marker}"),
    ("pattern_index", _edit(lambda d: d.setdefault("wide", {}).update(pattern="{0}")), "{marker}"),
    ("pattern_unclosed", _edit(lambda d: _wide(d, "{marker")), "pattern"),
    ("unknown_field", _edit(lambda d: d.update(bogus=1)), "bogus"),
    ("missing_title", _edit(lambda d: d.pop("title")), "title"),
    ("title_list", _edit(lambda d: d.update(title=[1, 2])), "title"),
    ("python_tag", "study: !!python/object/apply:os.system ['true']\n", "not valid YAML"),
    ("tab_indent", "study: x\n\ttitle: y\n", "not valid YAML"),
    ("unclosed_flow", "study: [x\n", "not valid YAML"),
    ("binary", bytes(range(256)), "UTF-16"),
    ("bad_study_id", _edit(lambda d: d.update(study="Bad Id!")), "study"),
]  # fmt: skip


@pytest.mark.parametrize(("defect", "content", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_malformed_study_is_refused(
    tmp_path: Path, defect: str, content: bytes | str, fragment: str
) -> None:
    path = tmp_path / f"{defect}.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(KnowledgeFileError) as info:
        load_study(path)
    assert info.value.path == str(path)
    assert fragment in str(info.value)


def test_folder_and_missing_study_are_refused(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeFileError, match="folder, not a file"):
        load_study(tmp_path)
    with pytest.raises(KnowledgeFileError, match="no such study file"):
        load_study(tmp_path / "nope.yaml")
