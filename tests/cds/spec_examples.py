"""The specification's example requests, read from the reference copies (not retyped)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

INTEROP = Path("/work/shared/reference/interop")


def _json_after(text: str, marker: str) -> Any:
    at = text.index(marker)
    m = re.search(r"```json\n(.*?)```", text[at:], re.S)
    assert m is not None
    return json.loads(m.group(1))


def patient_view_request() -> dict[str, Any]:
    """CDS Hooks 2.0.1 "Calling a CDS Service", Example."""
    text = (INTEROP / "cds-hooks-2.0.1.md").read_text()
    at = text.index("### Calling a CDS Service")
    body: dict[str, Any] = _json_after(text[at:], "#### Example")
    return body


def hook_context(hook: str) -> dict[str, Any]:
    """The R4 example context of a hook definition (order-select, order-sign)."""
    text = (INTEROP / f"hook-{hook}.md").read_text()
    ctx: dict[str, Any] = _json_after(text, "##### Example (R4)")["context"]
    return ctx


def discovery_example() -> dict[str, Any]:
    text = (INTEROP / "cds-hooks-2.0.1.md").read_text()
    doc: dict[str, Any] = _json_after(text, "#### Discovery Example")
    return doc
