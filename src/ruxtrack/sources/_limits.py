"""The import limits of ``knowledge/sources/limits.yaml``, read once (docs/sources.md)."""

from __future__ import annotations

from datetime import date
from functools import cache

from pydantic import BaseModel, ConfigDict

from ruxtrack.knowledge import Citation, SourceRef, load_yaml, validate_knowledge

__all__ = ["DrugMaximum", "Limits", "load_limits"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DateWindow(_Frozen):
    earliest: date
    latest: date
    source: SourceRef


class DrugMaximum(_Frozen):
    """A label's maximum dose per administration for one drug in one unit."""

    drug: str
    unit: str
    max_per_administration: float
    source: SourceRef


class FileLimits(_Frozen):
    max_cell_chars: int
    max_structured_bytes: int
    max_depth: int
    max_yaml_aliases: int
    source: SourceRef


class Limits(_Frozen):
    """Fences every import passes: dates, doses, and the size of what is read."""

    sources: dict[str, Citation]
    dates: DateWindow
    generic_dose_ceiling: dict[str, float | SourceRef]
    drug_maximum: tuple[DrugMaximum, ...]
    files: FileLimits

    def ceiling(self, unit: str) -> float | None:
        """The generic largest dose per administration in ``unit`` (None: no fence)."""
        v = self.generic_dose_ceiling.get(unit)
        return v if isinstance(v, float | int) else None

    def drug_max(self, drug: str, unit: str) -> DrugMaximum | None:
        for m in self.drug_maximum:
            if m.drug == drug and m.unit == unit:
                return m
        return None


@cache
def load_limits() -> Limits:
    """The packaged limits (``knowledge/sources/limits.yaml``)."""
    path = "sources/limits.yaml"
    return validate_knowledge(Limits, load_yaml(path), path)
