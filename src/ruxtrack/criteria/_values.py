"""Inputs of a criterion: parsing, exact comparison and three-valued logic.

A lab value becomes a :class:`Measured` in its canonical unit, held as an exact fraction; a
censored value ("<0.5") becomes the interval of values it allows. A comparison answers
``True``, ``False`` or ``None`` (the data cannot tell), so an unknown never turns negative.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any

from ruxtrack.criteria._knowledge import Band, Threshold, exact
from ruxtrack.criteria._model import InputSpec
from ruxtrack.errors import EvaluationError, RuxtrackError

__all__ = [
    "CriterionInputError",
    "Datum",
    "Inputs",
    "Interval",
    "Measured",
    "all_of",
    "any_of",
    "classify",
    "parse_inputs",
    "test",
]

Tri = bool | None


class CriterionInputError(EvaluationError):
    """An input cannot be used: the message names the key and the reason."""

    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(f"input `{key}`: {reason}")


@dataclass(frozen=True)
class Interval:
    """A set of real numbers between two bounds (None is unbounded)."""

    lo: Fraction | None
    lo_incl: bool
    hi: Fraction | None
    hi_incl: bool

    @classmethod
    def point(cls, x: Fraction) -> Interval:
        return cls(x, True, x, True)

    @classmethod
    def of_band(cls, band: Band) -> Interval:
        lo, hi = band.lower, band.upper
        return cls(
            None if lo is None else lo[0],
            False if lo is None else lo[1],
            None if hi is None else hi[0],
            False if hi is None else hi[1],
        )

    @classmethod
    def of_threshold(cls, op: str, t: Fraction) -> Interval:
        return {
            "lt": cls(None, False, t, False),
            "le": cls(None, False, t, True),
            "gt": cls(t, False, None, False),
            "ge": cls(t, True, None, False),
        }[op]

    def empty(self) -> bool:
        if self.lo is None or self.hi is None:
            return False
        return self.lo > self.hi or (self.lo == self.hi and not (self.lo_incl and self.hi_incl))

    def intersect(self, other: Interval) -> Interval:
        lo, lo_incl = self.lo, self.lo_incl
        if other.lo is not None:
            if lo is None or other.lo > lo:
                lo, lo_incl = other.lo, other.lo_incl
            elif other.lo == lo:
                lo_incl = lo_incl and other.lo_incl
        hi, hi_incl = self.hi, self.hi_incl
        if other.hi is not None:
            if hi is None or other.hi < hi:
                hi, hi_incl = other.hi, other.hi_incl
            elif other.hi == hi:
                hi_incl = hi_incl and other.hi_incl
        return Interval(lo, lo_incl, hi, hi_incl)

    def within(self, other: Interval) -> bool:
        return self.intersect(other) == self

    def meets(self, other: Interval) -> bool:
        return not self.intersect(other).empty()

    def scaled(self, k: Fraction) -> Interval:
        """The interval divided by a positive ``k``."""
        return Interval(
            None if self.lo is None else self.lo / k,
            self.lo_incl,
            None if self.hi is None else self.hi / k,
            self.hi_incl,
        )


@dataclass(frozen=True)
class Measured:
    """A lab value in its canonical unit, exact, possibly censored (``comparator``)."""

    code: str
    value: Fraction
    unit: str
    comparator: str | None = None
    shown: str | None = None
    source_value: Fraction | None = None
    source_unit: str | None = None

    @property
    def number(self) -> float:
        return float(self.value)

    def interval(self) -> Interval:
        v = self.value
        return {
            None: Interval.point(v),
            "<": Interval(None, False, v, False),
            "<=": Interval(None, False, v, True),
            ">": Interval(v, False, None, False),
            ">=": Interval(v, True, None, False),
        }[self.comparator]

    def text(self) -> str:
        if self.shown:
            return self.shown
        return f"{self.comparator or ''}{float(self.value):g} {self.unit}"

    def in_unit(self, unit: str) -> Measured:
        """The same value in another accepted unit of its quantity (exact to 12 digits)."""
        if unit == self.unit:
            return self
        if unit == self.source_unit and self.source_value is not None:
            # the value as written: no conversion error at a threshold's edge
            return Measured(self.code, self.source_value, unit, self.comparator, self.shown)
        from ruxtrack.units import convert

        v = convert(self.code, float(self.value), self.unit, unit)
        return Measured(self.code, exact(v), unit, self.comparator, self.shown)

    def over(self, ref: Measured) -> Interval:
        """The values ``self`` allows divided by ``ref`` (exact; in the units both were written in
        when they were written in the same unit)."""
        if (
            self.source_unit is not None
            and self.source_unit == ref.source_unit
            and self.source_value is not None
            and ref.source_value is not None
        ):
            mine = Measured(self.code, self.source_value, self.source_unit, self.comparator)
            return mine.interval().scaled(ref.source_value)
        return self.interval().scaled(ref.value)


def test(m: Measured, thr: Threshold) -> Tri:
    """``m op threshold``: True, False, or None when a censored value straddles it."""
    iv = m.in_unit(thr.unit).interval()
    region = Interval.of_threshold(thr.op, exact(thr.value))
    if iv.within(region):
        return True
    if not iv.meets(region):
        return False
    return None


def classify(iv: Interval, bands: Sequence[Band]) -> list[Band]:
    """The bands the values in ``iv`` can fall into, in the order given."""
    return [b for b in bands if iv.meets(Interval.of_band(b))]


def any_of(values: Iterable[Tri]) -> Tri:
    """Three-valued OR."""
    vals = list(values)
    if any(v is True for v in vals):
        return True
    if all(v is False for v in vals):
        return False
    return None


def all_of(values: Iterable[Tri]) -> Tri:
    """Three-valued AND."""
    vals = list(values)
    if any(v is False for v in vals):
        return False
    if all(v is True for v in vals):
        return True
    return None


@dataclass(frozen=True)
class Datum:
    """One input value with where and when it comes from."""

    key: str
    value: Any
    time: str | None = None
    instant: datetime | None = None
    basis: str = "input"
    note: str | None = None


@dataclass(frozen=True)
class Inputs:
    """Parsed inputs of one evaluation; an absent key is unknown."""

    data: Mapping[str, Datum] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def datum(self, key: str) -> Datum | None:
        return self.data.get(key)

    def lab(self, key: str) -> Measured | None:
        d = self.data.get(key)
        if d is None:
            return None
        m: Measured = d.value
        return m

    def flag(self, key: str) -> Tri:
        d = self.data.get(key)
        return None if d is None else bool(d.value)

    def number(self, key: str) -> float | None:
        d = self.data.get(key)
        return None if d is None else float(d.value)

    def choice(self, key: str) -> str | None:
        d = self.data.get(key)
        return None if d is None else str(d.value)

    def time_of(self, *keys: str) -> str | None:
        """Time label of the most recent of the inputs named (None for plain inputs)."""
        found = [self.data[k] for k in keys if k in self.data and self.data[k].time]
        if not found:
            return None
        latest = max(found, key=lambda d: d.instant or datetime.min)
        return latest.time

    def basis_of(self, *keys: str) -> str | None:
        bases = sorted({self.data[k].basis for k in keys if k in self.data})
        return ", ".join(bases) if bases else None

    def with_data(self, **extra: Datum) -> Inputs:
        return Inputs({**self.data, **extra}, self.extra)


_BOOL_TEXT = {
    "true": True,
    "yes": True,
    "present": True,
    "positive": True,
    "false": False,
    "no": False,
    "absent": False,
    "negative": False,
}


def _parse_lab(spec: InputSpec, raw: Any) -> Measured:
    from ruxtrack.units import normalize, parse_quantity

    code = spec.code or spec.key
    comparator: str | None = None
    if isinstance(raw, bool):
        raise CriterionInputError(spec.key, "a lab value cannot be true/false")
    if isinstance(raw, int | float):
        value: float = float(raw)
        unit: str | None = spec.unit
        shown = f"{raw:g} {spec.unit}" if spec.unit else f"{raw:g}"
    elif isinstance(raw, str):
        try:
            parsed = parse_quantity(raw)
        except RuxtrackError as exc:
            raise CriterionInputError(spec.key, str(exc)) from exc
        comparator, value, unit = parsed.comparator, parsed.value, parsed.unit
        shown = raw.strip()
    elif isinstance(raw, Mapping):
        unknown = set(raw) - {"value", "unit", "comparator"}
        if unknown or "value" not in raw:
            raise CriterionInputError(
                spec.key, 'write {"value": number, "unit": "UCUM unit"} (optionally "comparator")'
            )
        v = raw["value"]
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise CriterionInputError(spec.key, f"value {v!r} is not a number")
        value = float(v)
        unit = raw.get("unit")
        comparator = raw.get("comparator")
        if comparator not in (None, "<", "<=", ">", ">="):
            raise CriterionInputError(spec.key, f"comparator {comparator!r} is not <, <=, > or >=")
        shown = f"{comparator or ''}{value:g} {unit or ''}".strip()
    else:
        raise CriterionInputError(spec.key, f"{type(raw).__name__} is not a lab value")
    try:
        norm = normalize(code, value, unit)
    except RuxtrackError as exc:
        raise CriterionInputError(spec.key, str(exc)) from exc
    return Measured(
        code,
        exact(norm.value),
        norm.unit,
        comparator,
        shown,
        exact(norm.source_value),
        norm.source_unit,
    )


def _parse_one(spec: InputSpec, raw: Any) -> Any:
    if spec.kind == "lab":
        return _parse_lab(spec, raw)
    if spec.kind == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in _BOOL_TEXT:
            return _BOOL_TEXT[raw.strip().lower()]
        raise CriterionInputError(spec.key, f"{raw!r} is not true or false")
    if spec.kind == "number":
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise CriterionInputError(spec.key, f"{raw!r} is not a number")
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise CriterionInputError(spec.key, "the number is not finite")
        return float(raw)
    if spec.kind == "enum":
        text = str(raw).strip().lower() if isinstance(raw, str | int) else None
        if text is None or text not in spec.choices:
            raise CriterionInputError(spec.key, f"{raw!r} is not one of {', '.join(spec.choices)}")
        return text
    if spec.kind == "text":
        if not isinstance(raw, str) or not raw.strip():
            raise CriterionInputError(spec.key, f"{raw!r} is not a text")
        return raw.strip()
    if not isinstance(raw, list):
        raise CriterionInputError(spec.key, f"{raw!r} is not a list")
    return raw


def parse_inputs(raw: Mapping[str, Any], specs: Sequence[InputSpec]) -> Inputs:
    """Check keys against the criterion's vocabulary and parse every value.

    ``None`` (JSON null) is the same as an absent key: unknown.
    """
    if not isinstance(raw, Mapping):
        raise CriterionInputError("(input)", "the input must be a JSON object / mapping")
    by_key = {s.key: s for s in specs}
    data: dict[str, Datum] = {}
    for key, value in raw.items():
        spec = by_key.get(key)
        if spec is None:
            close = difflib.get_close_matches(str(key), list(by_key), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise CriterionInputError(
                str(key), f"not an input of this criterion{hint} (see --describe)"
            )
        if value is None:
            continue
        data[key] = Datum(key, _parse_one(spec, value))
    return Inputs(data)
