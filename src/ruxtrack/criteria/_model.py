"""The result model shared by every criterion, score, grade and formula.

An :class:`Evaluation` holds each :class:`Component` with the value and time it used and its
status (``met`` / ``not_met`` / ``unknown``), the total or value, a conclusion
(``established`` / ``excluded`` / ``undecidable``), alerts and the sources. An unknown input
gives an ``unknown`` component, never a negative one.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "Component",
    "Conclusion",
    "CriterionInfo",
    "Evaluation",
    "InputSpec",
    "Probability",
    "SourceInfo",
    "Status",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

Scalar = int | float | str | bool


class Status(StrEnum):
    """Whether one component is satisfied by the data present."""

    met = "met"
    not_met = "not_met"
    unknown = "unknown"


class Conclusion(StrEnum):
    """The criterion's verdict with the data present."""

    established = "established"
    excluded = "excluded"
    undecidable = "undecidable"


class Component(BaseModel):
    """One criterion, score variable, organ stage, CTCAE term or formula input.

    ``points``, ``grade`` and ``stage`` are set where they apply; when the data leave them open,
    ``range`` gives the lowest and highest value the missing data allow. ``basis`` says how the
    value was obtained (``"observation"``, ``"stated by clinician"``, ``"stated finding"``,
    ``"input"``). ``counted`` is false for a component reported but not counted in the total
    (the HLH-2004 molecular route).
    """

    model_config = _FROZEN

    name: str
    label: str
    status: Status
    value: Scalar | None = None
    unit: str | None = None
    time: str | None = None
    points: int | None = None
    grade: int | None = None
    stage: int | None = None
    range: tuple[Scalar, Scalar] | None = None
    threshold: str | None = None
    source: str | None = None
    basis: str | None = None
    note: str | None = None
    counted: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping; keys that do not apply to this component are left out."""
        out: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "status": self.status.value,
            "value": self.value,
            "unit": self.unit,
            "time": self.time,
        }
        for key in ("points", "grade", "stage"):
            v = getattr(self, key)
            if v is not None:
                out[key] = v
        if self.range is not None:
            out["range"] = list(self.range)
        out["threshold"] = self.threshold
        out["source"] = self.source
        out["basis"] = self.basis
        if self.note is not None:
            out["note"] = self.note
        if not self.counted:
            out["counted"] = False
        return out


class Probability(BaseModel):
    """A probability band and the mapping that produced it (HScore)."""

    model_config = _FROZEN

    text: str
    low_pct: float | None
    high_pct: float | None
    mapping: str
    status: str

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()


class SourceInfo(BaseModel):
    """A bibliographic source of an evaluation."""

    model_config = _FROZEN

    key: str
    citation: str
    url: str | None = None


class Evaluation(BaseModel):
    """The frozen result of evaluating one criterion on one set of inputs or one timeline time.

    ``total`` is the score or the number of criteria met; ``total_min``/``total_max`` bound it
    when components are unknown. ``value`` is the result of a formula (with ``unit``), the WHO
    CPS level, the WHO severity category, the MAGIC grade or the worst CTCAE grade;
    ``value_range`` bounds it when the data leave it open.
    """

    model_config = _FROZEN

    id: str
    name: str
    total: int | float | None = None
    total_min: int | float | None = None
    total_max: int | float | None = None
    value: Scalar | None = None
    value_range: tuple[Scalar, Scalar] | None = None
    unit: str | None = None
    components: tuple[Component, ...] = ()
    conclusion: Conclusion
    probability: Probability | None = None
    alerts: tuple[str, ...] = ()
    sources: tuple[SourceInfo, ...] = ()
    at: str | None = None
    window: tuple[str, str] | None = None
    mode: Literal["input", "at", "worst", "first", "window"] = "input"

    def component(self, name: str) -> Component:
        """The component called ``name`` (KeyError when there is none)."""
        for c in self.components:
            if c.name == name:
                return c
        raise KeyError(name)

    def count(self, status: Status) -> int:
        """Number of counted components with this status."""
        return sum(1 for c in self.components if c.counted and c.status is status)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape documented in docs/criteria.md."""
        return {
            "id": self.id,
            "name": self.name,
            "total": _num(self.total),
            "total_min": _num(self.total_min),
            "total_max": _num(self.total_max),
            "value": self.value,
            "value_range": None if self.value_range is None else list(self.value_range),
            "unit": self.unit,
            "components": [c.to_dict() for c in self.components],
            "conclusion": self.conclusion.value,
            "probability": None if self.probability is None else self.probability.to_dict(),
            "alerts": list(self.alerts),
            "sources": [s.model_dump() for s in self.sources],
            "at": self.at,
            "window": None if self.window is None else list(self.window),
            "mode": self.mode,
        }


def _num(v: int | float | None) -> float | int | None:
    if v is None:
        return None
    return int(v) if float(v).is_integer() else v


class InputSpec(BaseModel):
    """One key a criterion accepts in its input mapping."""

    model_config = _FROZEN

    key: str
    kind: Literal["lab", "bool", "number", "enum", "text", "list"]
    description: str
    unit: str | None = None
    choices: tuple[str, ...] = ()
    code: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()


class CriterionInfo(BaseModel):
    """What a criterion is, where it comes from and which inputs it accepts."""

    model_config = _FROZEN

    id: str
    name: str
    source: str
    status: str
    description: str
    inputs: tuple[InputSpec, ...]
    sources: tuple[SourceInfo, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "source": self.source,
            "status": self.status,
            "description": self.description,
            "inputs": [i.to_dict() for i in self.inputs],
            "sources": [s.model_dump() for s in self.sources],
        }
