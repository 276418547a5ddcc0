"""Helpers of the FHIR tests: data files and a problem matcher."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ruxtrack.errors import ImportProblem

DATA = Path(__file__).parents[1] / "data" / "fhir"
HL7 = DATA / "hl7"
COVID_DAY3 = DATA / "covid-day3-platelets45.json"


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def hl7(*names: str) -> list[dict[str, Any]]:
    return [load(HL7 / n) for n in names]


def located(p: ImportProblem) -> dict[str, str]:
    return dict(p.location)


def has_problem(
    problems: list[ImportProblem], *, resource: str | None = None, element: str | None = None,
    reason: str = "",
) -> bool:  # fmt: skip
    for p in problems:
        loc = located(p)
        if resource is not None and loc.get("resource") != resource:
            continue
        if element is not None and loc.get("element") != element:
            continue
        if reason in p.reason:
            return True
    return False
