"""The public surface of ruxtrack.cds is what it means to be (STYLE.md 3)."""

from __future__ import annotations

import ruxtrack.cds as cds
import ruxtrack.web.cds as web_cds
import ruxtrack.web.smart as web_smart


def test_cds_exports_are_importable_sorted_and_public() -> None:
    for module in (cds, web_cds, web_smart):
        names = module.__all__
        assert names == sorted(names)
        assert all(not n.startswith("_") and hasattr(module, n) for n in names)
    assert {"CdsEngine", "JwtVerifier", "check_response", "discovery_document"} <= set(cds.__all__)


def test_core_cds_imports_no_web_framework() -> None:
    import ast
    from pathlib import Path

    for path in Path(cds.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names] if isinstance(node, ast.Import)
                else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            )  # fmt: skip
            for name in names:
                assert not name.startswith(("litestar", "ruxtrack.web", "ruxtrack.cli")), path
