"""Data flows one way: the core never imports the faces (STYLE.md §1)."""

from __future__ import annotations

import ast
from pathlib import Path

import ruxtrack

SRC = Path(ruxtrack.__file__).parent
FACES = ("ruxtrack.cli", "ruxtrack.web")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_never_imports_cli_or_web() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).parts
        if rel[0] in ("cli", "web", "__main__.py"):
            continue
        for name in _imports(path):
            if name.startswith(FACES):
                offenders.append(f"{path.relative_to(SRC)} imports {name}")
    assert offenders == []


def test_core_never_calls_sys_exit() -> None:
    offenders = [
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        if p.relative_to(SRC).parts[0] not in ("cli", "web")
        and "sys.exit(" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []
