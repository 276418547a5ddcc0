"""UCUM through ucumvert: the registry (built once, lazily), unit text clean-up, factors.

ucumvert is imported on first use, not at ``import ruxtrack.units``: importing it and building
its registry costs about a second, and most callers need only the cached conversions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

Basis = Literal["FEU", "DDU"]

# FEU/DDU written as a UCUM annotation ({FEU}), in brackets, or as a trailing word (mg/L FEU).
_BASIS = re.compile(r"\{\s*(FEU|DDU)\s*\}|\(\s*(FEU|DDU)\s*\)|\b(FEU|DDU)\b", re.IGNORECASE)
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_POWER_OF_TEN = re.compile(r"10([⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+)")
# micro sign U+00B5 and Greek mu U+03BC both stand for UCUM's "u"; "×" for "x"; minus signs.
# UCUM defines "l" and "L" as the same litre; fold the litre (with a prefix) to "L".
_LITRE = re.compile(r"(?<![A-Za-z])([munpfdc]?)l(?![A-Za-z])")
_CHARACTERS = str.maketrans({"\u00b5": "u", "\u03bc": "u", "×": "x", "−": "-", "\u2009": " "})


@dataclass(frozen=True)
class CleanUnit:
    """A unit text with FEU/DDU annotations lifted out, Unicode spellings folded, spaces removed."""

    text: str | None
    bases: frozenset[str]


def clean_unit_text(raw: str | None) -> CleanUnit:
    """Lift FEU/DDU out of ``raw`` and fold the spelling (``None`` when no unit is left)."""
    if raw is None:
        return CleanUnit(None, frozenset())
    bases = frozenset(
        next(g for g in m.groups() if g is not None).upper() for m in _BASIS.finditer(raw)
    )
    text = _BASIS.sub("", raw)
    text = _POWER_OF_TEN.sub(lambda m: "10*" + m.group(1).translate(_SUPERSCRIPTS), text)
    text = text.translate(_SUPERSCRIPTS).translate(_CHARACTERS)
    text = "".join(text.split())
    text = _LITRE.sub(r"\1L", text)
    return CleanUnit(text or None, bases)


@cache
def registry() -> Any:
    """The ucumvert registry (built once per process)."""
    from ucumvert import PintUcumRegistry

    return PintUcumRegistry()


class UcumSyntaxError(ValueError):
    """The text is not valid UCUM."""


class UcumConversionError(ValueError):
    """UCUM cannot convert between the two units (different dimensions)."""


def parse(unit: str) -> Any:
    """The pint quantity ucumvert makes of ``unit`` (magnitude 1 for most units)."""
    from lark.exceptions import LarkError

    try:
        return registry().from_ucum(unit)
    except (LarkError, ValueError, KeyError, AttributeError) as exc:
        raise UcumSyntaxError(str(exc).splitlines()[0] if str(exc) else repr(exc)) from exc


def dimensionality(unit: str) -> str:
    """pint's dimensionality of a UCUM unit, as text (for messages)."""
    return str(parse(unit).dimensionality)


def linear_map(source: str, target: str, molar_mass: float | None = None) -> tuple[float, float]:
    """``(factor, offset)`` with ``value_in_source × factor + offset = value_in_target``.

    Computed by ucumvert/pint at two points (0 and 1), so offset units (temperatures) work;
    ``molar_mass`` (g/mol) enables pint's ``chemistry`` context for mass ↔ substance.
    """
    from pint.errors import PintError

    src = parse(source)
    dst = parse(target)
    reg = src._REGISTRY
    contexts: tuple[str, ...] = ()
    kwargs: dict[str, Any] = {}
    if molar_mass is not None:
        contexts = ("chemistry",)
        kwargs["mw"] = molar_mass * parse("g/mol")

    def at(x: float) -> float:
        q = reg.Quantity(x * src.magnitude, src.units)
        return float(q.to(dst.units, *contexts, **kwargs).magnitude / dst.magnitude)

    try:
        offset = at(0.0)
        factor = at(1.0) - offset
        check = at(1000.0)
    except PintError as exc:
        raise UcumConversionError(str(exc)) from exc
    if abs(check - (1000.0 * factor + offset)) > 1e-9 * max(1.0, abs(check)):
        raise UcumConversionError(f"{source} -> {target} is not linear")
    return factor, offset
