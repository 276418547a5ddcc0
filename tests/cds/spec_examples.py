"""The specification's example requests (extracted copies in tests/data/cds, see its README)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SPEC = Path(__file__).parents[1] / "data" / "cds"


def patient_view_request() -> dict[str, Any]:
    """CDS Hooks 2.0.1 "Calling a CDS Service", Example."""
    body: dict[str, Any] = json.loads((SPEC / "spec-patient-view-request.json").read_text())
    return body


def hook_context(hook: str) -> dict[str, Any]:
    """The R4 example context of a hook definition (order-select, order-sign)."""
    ctx: dict[str, Any] = json.loads((SPEC / f"spec-{hook}-context.json").read_text())
    return ctx


def example_jwt() -> dict[str, Any]:
    """The specification's example JWT with its key set."""
    data: dict[str, Any] = json.loads((SPEC / "cds-hooks-example-jwt.json").read_text())
    return data
