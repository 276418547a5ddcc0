"""Canonical units of the generated observations, taken from the lab catalogue."""

from __future__ import annotations

from functools import cache

from ruxtrack.units import load_catalogue

__all__ = ["canonical_unit", "plausible_range"]


@cache
def canonical_unit(code: str) -> str:
    """The catalogue's canonical UCUM unit for ``code`` (``ferritin`` -> ``ug/L``)."""
    return load_catalogue().get(code).canonical_unit


def plausible_range(code: str) -> tuple[float, float]:
    """The catalogue's plausible range (canonical unit) for ``code``."""
    p = load_catalogue().get(code).plausible
    return p.low, p.high
