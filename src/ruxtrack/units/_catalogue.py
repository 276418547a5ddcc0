"""The lab catalogue: typed shape of ``knowledge/labs.yaml`` and its cached loader.

The loader only reads and validates; no factor or range is written in this module.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ruxtrack.errors import KnowledgeFileError
from ruxtrack.knowledge import Citation, SourceRef, knowledge_path, load_yaml
from ruxtrack.units._errors import UnknownLabCodeError

CATALOGUE_FILE = "labs.yaml"

Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
LoincNumber = Annotated[str, Field(pattern=r"^[0-9]{1,7}-[0-9]$")]
Basis = Literal["FEU", "DDU"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PlausibleRange(_Frozen):
    """Closed range (canonical unit) outside which a value is rejected as a probable unit error.

    ``allow_zero`` accepts an exact 0 below ``low`` (a count of zero is a count in any unit).
    """

    low: float
    high: float
    allow_zero: bool = False
    note: str | None = None
    source: SourceRef

    @model_validator(mode="after")
    def _ordered(self) -> PlausibleRange:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self

    def contains(self, value: float) -> bool:
        """Whether ``value`` (canonical unit) is plausible."""
        return (self.low <= value <= self.high) or (self.allow_zero and value == 0)


class AcceptedUnit(_Frozen):
    """One allow-listed input unit: ``input × factor + offset = canonical``.

    ``factor`` (and ``offset``) are the values printed in the reference (labs.md). Unless
    ``convention`` is set, ucumvert computes the factor itself (through pint's ``chemistry``
    context when ``molar_mass`` is given) and the printed factor must agree with it within
    ``factor_rel_tol`` (the printed precision); the computed factor is then used.
    """

    unit: str
    factor: float
    offset: float = 0.0
    factor_rel_tol: float = Field(default=1e-9, gt=0, le=1e-2)
    molar_mass: float | None = Field(default=None, gt=0)
    convention: bool = False
    compute_to: str | None = None
    plausible: PlausibleRange | None = None
    flag: str | None = None
    note: str | None = None
    source: SourceRef

    @model_validator(mode="after")
    def _consistent(self) -> AcceptedUnit:
        if self.factor <= 0:
            raise ValueError("factor must be positive")
        if self.convention and (self.molar_mass is not None or self.compute_to is not None):
            raise ValueError("a convention factor takes no molar_mass or compute_to")
        return self


class RejectedUnit(_Frozen):
    """A unit seen in practice for this quantity that is refused, with the reason and a pointer."""

    unit: str
    reason: str
    use_code: Code | None = None
    source: SourceRef


class MissingUnitRule(_Frozen):
    """How a value given without a unit is read (closed bounds on the value as given)."""

    unit: str
    min: float | None = None
    max: float | None = None
    flag: str
    source: SourceRef

    def matches(self, value: float) -> bool:
        """Whether a unit-less ``value`` falls under this rule."""
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


class SourceValueRejection(_Frozen):
    """Values strictly between ``above`` and ``below`` (as given, any unit) are refused."""

    above: float
    below: float
    reason: str
    source: SourceRef


class LoincCode(_Frozen):
    """A LOINC code mapped to the quantity."""

    code: LoincNumber
    name: str | None = None
    preferred: bool = False
    deprecated: bool = False
    note: str | None = None
    source: SourceRef


class ReferenceRange(_Frozen):
    """A reference range as printed by its source (``unit`` is the printed unit, in UCUM).

    ``flag`` says why a printed range looks wrong; the numbers stay as printed.
    """

    low: float | None = None
    high: float | None = None
    unit: str
    text: str
    population: Literal["adult", "paediatric", "all"] = "adult"
    sex: Literal["female", "male"] | None = None
    age_min_years: float | None = None
    age_max_years: float | None = None
    kind: Literal["reference_interval", "upper_limit", "cutoff", "example"] = "reference_interval"
    flag: str | None = None
    source: SourceRef

    @model_validator(mode="after")
    def _bounded(self) -> ReferenceRange:
        if self.low is None and self.high is None:
            raise ValueError("a reference range needs low, high or both")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low ({self.low}) is above high ({self.high})")
        return self


class LabEntry(_Frozen):
    """One quantity: one measurable thing with one canonical UCUM unit."""

    code: Code
    name: str
    category: Literal["inflammation", "haematology", "chemistry", "respiratory", "vital", "derived"]
    loinc: tuple[LoincCode, ...] = ()
    loinc_note: str | None = None
    canonical_unit: str
    display_unit: str
    scale: Literal["ratio", "interval"] = "ratio"
    convertible: bool = True
    basis: Basis | None = None
    basis_family: str | None = None
    derivation: str | None = None
    units: tuple[AcceptedUnit, ...]
    rejected_units: tuple[RejectedUnit, ...] = ()
    missing_unit: tuple[MissingUnitRule, ...] = ()
    source_value_rejections: tuple[SourceValueRejection, ...] = ()
    reference_ranges: tuple[ReferenceRange, ...] = ()
    reference_note: str | None = None
    plausible: PlausibleRange
    notes: str | None = None
    source: SourceRef

    @model_validator(mode="after")
    def _consistent(self) -> LabEntry:
        spellings = [u.unit for u in self.units]
        if len(set(spellings)) != len(spellings):
            raise ValueError(f"duplicate accepted unit in {spellings}")
        canonical = [u for u in self.units if u.unit == self.canonical_unit]
        if not canonical or canonical[0].factor != 1 or canonical[0].offset != 0:
            raise ValueError(
                f"the canonical unit {self.canonical_unit!r} must be accepted with factor 1"
            )
        if not self.convertible:
            bad = [u.unit for u in self.units if not (u.convention and u.factor == 1)]
            if bad:
                raise ValueError(
                    f"a non-convertible quantity accepts only identity units (convention, "
                    f"factor 1); not so: {bad}"
                )
        if self.scale == "ratio" and any(u.offset for u in self.units):
            raise ValueError("an offset is allowed only on an interval scale (temperature)")
        if (self.basis is None) != (self.basis_family is None) and self.basis is not None:
            raise ValueError("a quantity with a basis needs a basis_family")
        rejected = {r.unit for r in self.rejected_units}
        if rejected & set(spellings):
            raise ValueError(
                f"units both accepted and rejected: {sorted(rejected & set(spellings))}"
            )
        if sum(1 for c in self.loinc if c.preferred) > 1:
            raise ValueError("at most one LOINC code may be preferred")
        for rule in self.missing_unit:
            if rule.unit not in spellings:
                raise ValueError(f"missing_unit rule reads values as {rule.unit!r}, not accepted")
        return self

    def accepted(self, unit: str) -> AcceptedUnit | None:
        """The accepted unit spelled ``unit`` (UCUM, after synonym mapping), or None."""
        for candidate in self.units:
            if candidate.unit == unit:
                return candidate
        return None

    @property
    def accepted_units(self) -> tuple[str, ...]:
        """Allow-listed UCUM units, canonical first."""
        rest = [u.unit for u in self.units if u.unit != self.canonical_unit]
        return (self.canonical_unit, *rest)

    @property
    def preferred_loinc(self) -> str | None:
        """The preferred LOINC code, if one is given."""
        for c in self.loinc:
            if c.preferred:
                return c.code
        return None


class Synonym(_Frozen):
    """A local spelling mapped to a UCUM unit before any UCUM parsing."""

    local: str
    ucum: str
    source: SourceRef


class AmbiguousSpelling(_Frozen):
    """A spelling that could mean different units; it is always refused."""

    spelling: str
    reason: str
    source: SourceRef


class _CatalogueFile(_Frozen):
    schema_version: Literal[1]
    title: str
    sources: dict[str, Citation]
    synonyms: tuple[Synonym, ...]
    ambiguous: tuple[AmbiguousSpelling, ...] = ()
    entries: tuple[LabEntry, ...]

    @model_validator(mode="after")
    def _cross_checks(self) -> _CatalogueFile:
        codes = [e.code for e in self.entries]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise ValueError(f"duplicate codes: {dupes}")
        loinc: dict[str, str] = {}
        for e in self.entries:
            for c in e.loinc:
                if c.code in loinc:
                    raise ValueError(f"LOINC {c.code} on both {loinc[c.code]} and {e.code}")
                loinc[c.code] = e.code
        locals_ = [s.local for s in self.synonyms]
        if len(set(locals_)) != len(locals_):
            raise ValueError("duplicate synonym spellings")
        for e in self.entries:
            for r in e.rejected_units:
                if r.use_code is not None and r.use_code not in codes:
                    raise ValueError(f"{e.code}: rejected unit points to unknown code {r.use_code}")
        missing = sorted(k for k in _source_keys(self) if k not in self.sources)
        if missing:
            raise ValueError(f"source keys used but not listed under sources: {missing}")
        return self


def _source_keys(model: Any) -> Iterator[str]:
    """Every SourceRef key reachable from ``model``."""
    if isinstance(model, SourceRef):
        yield model.key
    elif isinstance(model, BaseModel):
        for name in type(model).model_fields:
            yield from _source_keys(getattr(model, name))
    elif isinstance(model, tuple | list):
        for item in model:
            yield from _source_keys(item)


@dataclass(frozen=True, eq=False)
class LabCatalogue:
    """The loaded catalogue: look up a quantity by its code or by one of its LOINC codes."""

    path: str
    title: str
    entries: tuple[LabEntry, ...]
    sources: Mapping[str, Citation]
    synonyms: Mapping[str, str]
    ambiguous: Mapping[str, str]
    _by_code: Mapping[str, LabEntry] = field(repr=False)
    _by_loinc: Mapping[str, LabEntry] = field(repr=False)

    @property
    def codes(self) -> tuple[str, ...]:
        """All quantity codes, in file order."""
        return tuple(e.code for e in self.entries)

    def get(self, code: str) -> LabEntry:
        """The entry for a quantity code (``"plt"``) or a LOINC code (``"777-3"``).

        Raises
        ------
        UnknownLabCodeError
            When the code is neither; the message names close matches.
        """
        key = code.strip()
        entry = self._by_code.get(key) or self._by_loinc.get(key)
        if entry is None:
            # codes, LOINC codes and names ("platelets" -> plt through "platelet count")
            pool: dict[str, str] = {c: c for c in [*self._by_code, *self._by_loinc]}
            for e in self.entries:
                name = e.name.lower()
                pool.setdefault(name, e.code)
                pool.setdefault(name.split()[0], e.code)
            close = difflib.get_close_matches(key.lower(), pool, n=5, cutoff=0.6)
            raise UnknownLabCodeError(code, list(dict.fromkeys(pool[c] for c in close))[:3])
        return entry

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and (code in self._by_code or code in self._by_loinc)

    def __iter__(self) -> Iterator[LabEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


def _field_path(loc: tuple[int | str, ...], data: Any) -> str:
    """``entries[3] (ldh).units[0].factor`` from a pydantic error location."""
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            label = f"[{item}]"
            if isinstance(node, list) and item < len(node):
                node = node[item]
                if isinstance(node, dict) and isinstance(node.get("code"), str):
                    label += f" ({node['code']})"
            else:
                node = None
            parts.append(label)
        else:
            parts.append(f".{item}" if parts else item)
            node = node.get(item) if isinstance(node, dict) else None
    return "".join(parts)


def _build(path: Path) -> LabCatalogue:
    data = load_yaml(path)
    try:
        model = _CatalogueFile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_field_path(tuple(err['loc']), data) or '(top level)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise KnowledgeFileError(str(path), problems) from exc
    by_code = {e.code: e for e in model.entries}
    by_loinc = {c.code: e for e in model.entries for c in e.loinc}
    return LabCatalogue(
        path=str(path),
        title=model.title,
        entries=model.entries,
        sources=MappingProxyType(dict(model.sources)),
        synonyms=MappingProxyType({s.local: s.ucum for s in model.synonyms}),
        ambiguous=MappingProxyType({a.spelling: a.reason for a in model.ambiguous}),
        _by_code=MappingProxyType(by_code),
        _by_loinc=MappingProxyType(by_loinc),
    )


@cache
def _packaged() -> LabCatalogue:
    return _build(knowledge_path(CATALOGUE_FILE))


def load_catalogue(path: str | Path | None = None) -> LabCatalogue:
    """Load the lab catalogue (the packaged one by default, read once and cached).

    Parameters
    ----------
    path
        A catalogue file of the same shape to use instead of the packaged one (not cached).

    Returns
    -------
    LabCatalogue
        Entries with code, LOINC codes, canonical unit, accepted units, ranges and sources.

    Raises
    ------
    KnowledgeFileError
        When the file is missing, not YAML, or breaks the schema (the message names the field).

    Examples
    --------
    >>> cat = load_catalogue()
    >>> cat.get("777-3").code, cat.get("plt").canonical_unit
    ('plt', '10*9/L')
    """
    if path is None:
        return _packaged()
    return _build(Path(path))
