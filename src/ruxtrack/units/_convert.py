"""Normalise lab values to their canonical unit: one value, or a numpy array of them.

Order of checks for a value: the quantity code (or LOINC) → FEU/DDU basis → unit spelling
(ambiguous spellings, synonyms, allow-list) → conversion (ucumvert, checked against the
catalogue's printed factor) → rules on the value as given (FiO₂ 1–21) → plausible range.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ruxtrack.errors import ImplausibleValueError, KnowledgeFileError, UnitError
from ruxtrack.units._catalogue import (
    AcceptedUnit,
    LabCatalogue,
    LabEntry,
    PlausibleRange,
    load_catalogue,
)
from ruxtrack.units._errors import ImplausibleValuesError
from ruxtrack.units._ucum import (
    UcumConversionError,
    UcumSyntaxError,
    clean_unit_text,
    dimensionality,
    linear_map,
)

_EXACT = 1e-9  # printed factors within this relative distance of UCUM's are taken as exact
_MAX_LISTED = 5  # implausible values quoted in a bulk error message


@dataclass(frozen=True, slots=True)
class Normalized:
    """A value in its quantity's canonical unit, with what it was converted from.

    ``value = source_value × factor + offset``; ``flags`` name any reading the catalogue
    applied (a mislabelled unit, a unit inferred from a unit-less FiO₂).
    """

    code: str
    value: float
    unit: str
    source_value: float
    source_unit: str | None
    factor: float
    offset: float = 0.0
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Conversion:
    """How values of one quantity given in one unit reach the canonical unit.

    ``canonical = value × factor + offset``; ``plausible`` is the range that applies to
    values given in this unit (in the canonical unit).
    """

    code: str
    source_unit: str | None
    ucum_unit: str
    canonical_unit: str
    factor: float
    offset: float
    plausible: PlausibleRange
    basis: str | None = None
    flags: tuple[str, ...] = ()

    def apply(self, value: float) -> float:
        """Convert one value to the canonical unit (no plausibility check)."""
        return value * self.factor + self.offset

    def apply_array(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Convert an array to the canonical unit (no plausibility check)."""
        out: npt.NDArray[np.float64] = values * self.factor + self.offset
        return out

    def inverse(self, canonical: float) -> float:
        """Convert a canonical value back into this unit."""
        return (canonical - self.offset) / self.factor


# ---------------------------------------------------------------------------------------------
# formatting for messages


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return str(x)
    text = np.format_float_positional(x, precision=6, fractional=False, trim="-")
    return text


def _shown_unit(unit: str | None) -> str:
    return "(no unit)" if unit is None else unit


def _label(entry: LabEntry, given: str) -> str:
    return entry.code if given.strip() == entry.code else f"{entry.code} (given as {given.strip()})"


def _accepted_text(entry: LabEntry) -> str:
    return "accepted units for " + entry.name + ": " + ", ".join(entry.accepted_units)


def _value_in(value: float, unit: str) -> str:
    if unit == "1":
        return f"{_fmt(value)} (a fraction, UCUM unit 1)"
    return f"{_fmt(value)} {unit}"


# ---------------------------------------------------------------------------------------------
# unit resolution


def _resolve(cat: LabCatalogue, entry: LabEntry, label: str, raw: str, text: str) -> AcceptedUnit:
    """Map a cleaned unit text to one of the entry's accepted units, or raise UnitError."""
    if text in cat.ambiguous:
        raise UnitError(
            label, raw, f"ambiguous unit: {cat.ambiguous[text]}; {_accepted_text(entry)}"
        )
    ucum = cat.synonyms.get(text, text)
    found = entry.accepted(ucum)
    if found is not None:
        return found
    folded = text.casefold()
    spellings = {**{u.unit: u.unit for u in entry.units}, **cat.synonyms}
    # Letter case is meaningful in UCUM (g/L grams, G/L giga): only a text in one case
    # throughout, as legacy systems emit ("MG/DL", "umol/l"), is matched case-insensitively.
    uniform = text.isupper() or text.islower()
    targets = {
        target
        for spelling, target in spellings.items()
        if uniform and spelling.casefold() == folded and entry.accepted(target) is not None
    }
    if len(targets) == 1:
        found = entry.accepted(targets.pop())
        assert found is not None
        return found
    if len(targets) > 1:
        raise UnitError(
            label,
            raw,
            f"ambiguous unit: differs only in letter case from {sorted(targets)}; "
            f"UCUM is case-sensitive; {_accepted_text(entry)}",
        )
    for rejected in entry.rejected_units:
        if rejected.unit in (text, ucum) or rejected.unit.casefold() == folded:
            pointer = f" Record it as {rejected.use_code}." if rejected.use_code else ""
            raise UnitError(
                label,
                raw,
                f"not accepted for {entry.name}: {rejected.reason}.{pointer} "
                f"({_accepted_text(entry)})",
            )
    raise UnitError(label, raw, _unlisted_reason(entry, ucum))


def _unlisted_reason(entry: LabEntry, ucum: str) -> str:
    try:
        dim = dimensionality(ucum)
    except UcumSyntaxError:
        return (
            f"unknown unit: neither valid UCUM nor a known local spelling; {_accepted_text(entry)}"
        )
    if not entry.convertible:
        return (
            f"{entry.name} is reported in assay-defined arbitrary units; conversion between "
            f"arbitrary units (or to any other unit) is not defined, so only identity is "
            f"allowed; {_accepted_text(entry)}"
        )
    if dim == dimensionality(entry.canonical_unit):
        return (
            f"valid UCUM of the right kind, but not on the allow-list for {entry.name} "
            f"(the catalogue converts only listed units); {_accepted_text(entry)}"
        )
    return (
        f"not a unit of {entry.name}: {ucum} has dimension {dim}, the canonical "
        f"{entry.canonical_unit} has {dimensionality(entry.canonical_unit)}; "
        f"{_accepted_text(entry)}"
    )


def _check_basis(
    cat: LabCatalogue, entry: LabEntry, label: str, raw: str | None, bases: frozenset[str]
) -> str | None:
    if not bases:
        return entry.basis
    if len(bases) > 1:
        raise UnitError(label, raw, "ambiguous unit: it names both FEU and DDU")
    (basis,) = bases
    if entry.basis_family is None:
        raise UnitError(
            label,
            raw,
            f"the {basis} annotation applies only to D-dimer; {entry.name} has no FEU/DDU basis",
        )
    if entry.basis == basis:
        return basis
    target = next(
        (e.code for e in cat.entries if e.basis_family == entry.basis_family and e.basis == basis),
        None,
    )
    names = {"FEU": "fibrinogen-equivalent units (FEU)", "DDU": "D-dimer units (DDU)"}
    held = names[entry.basis] if entry.basis else "D-dimer with no stated basis"
    pointer = f" Record it as {target}." if target else ""
    raise UnitError(
        label,
        raw,
        f"the value is reported in {names[basis]}, but {entry.code} holds {held}; "
        f"FEU and DDU are never converted into each other (no fixed factor across assays, "
        f"labs.md §2.2).{pointer}",
    )


@lru_cache(maxsize=256)
def _unit_factor(cat: LabCatalogue, code: str, unit: str) -> tuple[float, float]:
    """Factor and offset for an accepted unit, computed by ucumvert and checked against the file."""
    entry = cat.get(code)
    accepted = entry.accepted(unit)
    assert accepted is not None
    if accepted.convention:
        return accepted.factor, accepted.offset
    target = accepted.compute_to or entry.canonical_unit
    if accepted.unit == target and accepted.factor == 1 and accepted.offset == 0:
        return 1.0, 0.0  # a unit into itself: no UCUM registry needed (keeps the CLI fast)
    known = verified_factors(cat.path).get(f"{code}|{unit}")
    if known is not None:  # checked against UCUM when generated; see verified_factors
        return known[0], known[1]
    return ucum_factor(cat, code, unit)


#: Factors of the packaged catalogue, computed by UCUM and checked against the printed ones,
#: so that a command converting a unit needs no UCUM registry (seconds to build). Regenerate
#: with ``python -m ruxtrack.units._convert``; a test checks that it is current.
VERIFIED_FACTORS = Path(__file__).with_name("ucum_factors.json")


@lru_cache(maxsize=8)
def verified_factors(catalogue_path: str) -> dict[str, tuple[float, float]]:
    """The generated factors, when they were made from exactly this catalogue file."""
    try:
        data = json.loads(VERIFIED_FACTORS.read_text(encoding="utf-8"))
        digest = hashlib.sha256(Path(catalogue_path).read_bytes()).hexdigest()
    except (OSError, ValueError):
        return {}
    if data.get("catalogue_sha256") != digest:
        return {}
    return {k: (float(v[0]), float(v[1])) for k, v in data["factors"].items()}


def compute_verified_factors(cat: LabCatalogue) -> dict[str, object]:
    """Every accepted unit's factor through UCUM (the content of :data:`VERIFIED_FACTORS`)."""
    factors: dict[str, list[float]] = {}
    for entry in cat.entries:
        for accepted in entry.units:
            if accepted.convention:
                continue
            f, o = ucum_factor(cat, entry.code, accepted.unit)
            factors[f"{entry.code}|{accepted.unit}"] = [f, o]
    digest = hashlib.sha256(Path(cat.path).read_bytes()).hexdigest()
    return {"catalogue_sha256": digest, "factors": factors}


def ucum_factor(cat: LabCatalogue, code: str, unit: str) -> tuple[float, float]:
    """Factor and offset of an accepted unit through UCUM, checked against the printed one."""
    entry = cat.get(code)
    accepted = entry.accepted(unit)
    assert accepted is not None
    target = accepted.compute_to or entry.canonical_unit
    try:
        factor, offset = linear_map(unit, target, accepted.molar_mass)
    except (UcumSyntaxError, UcumConversionError) as exc:
        raise KnowledgeFileError(
            cat.path, f"{code}: accepted unit {unit!r}: UCUM cannot convert it to {target}: {exc}"
        ) from exc
    tol = accepted.factor_rel_tol
    if abs(factor - accepted.factor) > tol * abs(accepted.factor) or abs(
        offset - accepted.offset
    ) > tol * max(1.0, abs(accepted.offset)):
        raise KnowledgeFileError(
            cat.path,
            f"{code}: accepted unit {unit!r}: printed factor {accepted.factor} (offset "
            f"{accepted.offset}) disagrees with UCUM's {factor!r} (offset {offset!r}) beyond "
            f"the relative tolerance {tol}",
        )
    exact = abs(factor - accepted.factor) <= _EXACT * abs(accepted.factor) and abs(
        offset - accepted.offset
    ) <= _EXACT * max(1.0, abs(accepted.offset))
    return (accepted.factor, accepted.offset) if exact else (factor, offset)


def _conversion(
    cat: LabCatalogue, entry: LabEntry, label: str, unit: str | None, value: float | None
) -> Conversion:
    cleaned = clean_unit_text(unit)
    basis = _check_basis(cat, entry, label, unit, cleaned.bases)
    flags: list[str] = []
    if cleaned.text is None:
        rules = entry.missing_unit
        if not rules:
            raise UnitError(
                label,
                unit,
                f"a unit is required for {entry.name}; {_accepted_text(entry)}",
            )
        if value is None:
            if len(rules) == 1 and rules[0].min is None and rules[0].max is None:
                rule = rules[0]
            else:
                raise UnitError(
                    label,
                    unit,
                    f"without a unit, {entry.name} is read by value "
                    f"({'; '.join(r.flag for r in rules)}); convert value by value",
                )
        else:
            matching = [r for r in rules if r.matches(value)]
            if not matching:
                raise _source_rejection(entry, label, unit, value) or UnitError(
                    label,
                    unit,
                    f"value {_fmt(value)} given without a unit fits no rule for {entry.name}; "
                    f"{_accepted_text(entry)}",
                )
            rule = matching[0]
        flags.append(rule.flag)
        accepted = entry.accepted(rule.unit)
        assert accepted is not None
    else:
        accepted = _resolve(cat, entry, label, unit or "", cleaned.text)
    factor, offset = _unit_factor(cat, entry.code, accepted.unit)
    if accepted.flag:
        flags.append(accepted.flag)
    return Conversion(
        code=entry.code,
        source_unit=unit,
        ucum_unit=accepted.unit,
        canonical_unit=entry.canonical_unit,
        factor=factor,
        offset=offset,
        plausible=accepted.plausible or entry.plausible,
        basis=basis,
        flags=tuple(flags),
    )


@lru_cache(maxsize=4096)
def _cached_conversion(cat: LabCatalogue, code: str, unit: str | None) -> Conversion:
    entry = cat.get(code)
    return _conversion(cat, entry, _label(entry, code), unit, None)


def conversion(code: str, unit: str | None, *, catalogue: LabCatalogue | None = None) -> Conversion:
    """The cached conversion of quantity ``code`` from ``unit`` to its canonical unit.

    Parameters
    ----------
    code
        Catalogue code (``"plt"``) or LOINC code (``"777-3"``).
    unit
        The unit as written by the source: UCUM, a listed local spelling (``"K/uL"``), with an
        optional FEU/DDU annotation for D-dimer.
    catalogue
        Another catalogue than the packaged one.

    Returns
    -------
    Conversion
        Factor, offset, canonical unit and the plausible range for values in this unit.

    Raises
    ------
    UnitError
        Unknown, ambiguous or not allow-listed unit, FEU/DDU mismatch, or a missing unit whose
        reading depends on the value (use :func:`normalize` or :func:`normalize_array`).
    UnknownLabCodeError
        The code is not in the catalogue.

    Examples
    --------
    >>> c = conversion("creat", "mg/dL")
    >>> round(c.factor, 4), c.canonical_unit
    (88.4017, 'umol/L')
    """
    return _cached_conversion(catalogue or load_catalogue(), code, unit)


def _source_rejection(
    entry: LabEntry, label: str, unit: str | None, value: float
) -> ImplausibleValueError | None:
    for rule in entry.source_value_rejections:
        if rule.above < value < rule.below:
            return ImplausibleValueError(
                label,
                unit,
                f"value {_fmt(value)} {_shown_unit(unit)} lies between {_fmt(rule.above)} and "
                f"{_fmt(rule.below)}: {rule.reason}",
            )
    return None


def _suggestions(
    cat: LabCatalogue, entry: LabEntry, value: float, conv: Conversion
) -> list[tuple[str, float]]:
    """Other accepted units in which ``value`` would be plausible, one per distinct factor."""
    seen = {(conv.factor, conv.offset)}
    found: list[tuple[str, float]] = []
    for accepted in entry.units:
        if accepted.flag is not None:
            continue
        alt = _cached_conversion(cat, entry.code, accepted.unit)
        key = (alt.factor, alt.offset)
        if key in seen:
            continue
        seen.add(key)
        converted = alt.apply(value)
        if alt.plausible.contains(converted):
            found.append((accepted.unit, converted))
    return found


def _implausible_reason(
    cat: LabCatalogue, entry: LabEntry, value: float, conv: Conversion
) -> tuple[str, str | None]:
    converted = conv.apply(value)
    rng = conv.plausible
    shown = _shown_unit(conv.source_unit)
    if not math.isfinite(value):
        return f"value {value} is not a finite number", None
    side = "below" if converted < rng.low else "above"
    identity = conv.factor == 1 and conv.offset == 0 and conv.ucum_unit == entry.canonical_unit
    where = (
        f"{_fmt(value)} {shown}"
        if identity
        else f"{_fmt(value)} {shown} is {_fmt(converted)} {entry.display_unit}"
    )
    scope = "" if rng is entry.plausible else f" for values given in {conv.ucum_unit}"
    reason = (
        f"{where}, {side} the plausible range {_fmt(rng.low)}–{_fmt(rng.high)} "
        f"{entry.display_unit}{scope} (a range chosen to catch unit errors)"
    )
    options = _suggestions(cat, entry, value, conv)
    if not options:
        return reason + f"; check the value and its unit ({_accepted_text(entry)})", None
    parts = []
    for unit, canon in options:
        text = _value_in(value, unit)
        if unit != entry.canonical_unit:
            text += f" (= {_fmt(canon)} {entry.display_unit})"
        parts.append(text)
    return reason + "; did you mean " + " or ".join(parts) + "?", options[0][0]


def normalize(
    code: str, value: float, unit: str | None, *, catalogue: LabCatalogue | None = None
) -> Normalized:
    """Convert one value to its quantity's canonical unit, refusing anything doubtful.

    Parameters
    ----------
    code
        Catalogue code (``"plt"``) or LOINC code (``"777-3"``).
    value
        The number as reported.
    unit
        The unit as reported (UCUM or a listed local spelling; FEU/DDU annotations for D-dimer).
        ``None`` or ``""`` only where the catalogue says how a unit-less value is read (FiO₂).
    catalogue
        Another catalogue than the packaged one.

    Returns
    -------
    Normalized
        The canonical value with its source value, source unit and factor.

    Raises
    ------
    UnitError
        Unknown, ambiguous or not allow-listed unit; missing unit; FEU given where DDU is held
        (or the reverse); a unit of another kind; conversion between arbitrary units.
    ImplausibleValueError
        The converted value is outside the plausible range; the message names the unit the
        value was probably meant in.
    UnknownLabCodeError
        The code is not in the catalogue.

    Examples
    --------
    >>> normalize("crp", 5, "mg/dL").value
    50.0
    >>> normalize("plt", 184000, "/uL").value
    184.0
    """
    cat = catalogue or load_catalogue()
    entry = cat.get(code)
    label = _label(entry, code)
    value = float(value)
    if isinstance(unit, str) and not unit.strip():
        unit = None
    if not math.isfinite(value):
        raise ImplausibleValueError(label, unit, f"value {value} is not a finite number")
    try:
        if clean_unit_text(unit).text is None:
            conv = _conversion(cat, entry, label, unit, value)
        else:
            conv = _cached_conversion(cat, code, unit)
    except ImplausibleValueError:
        raise
    except UnitError as exc:
        raise UnitError(label, unit, f"value {_fmt(value)}: {exc.reason}") from exc
    rejection = _source_rejection(entry, label, unit, value)
    if rejection is not None:
        raise rejection
    converted = conv.apply(value)
    if not conv.plausible.contains(converted):
        reason, probable = _implausible_reason(cat, entry, value, conv)
        raise ImplausibleValueError(label, unit, reason, probable)
    return Normalized(
        code=entry.code,
        value=converted,
        unit=entry.canonical_unit,
        source_value=value,
        source_unit=unit,
        factor=conv.factor,
        offset=conv.offset,
        flags=conv.flags,
    )


def normalize_array(
    code: str,
    values: npt.ArrayLike,
    unit: str | None,
    *,
    catalogue: LabCatalogue | None = None,
) -> npt.NDArray[np.float64]:
    """Convert many values of one quantity in one unit (vectorised; for bulk imports).

    Gives the same numbers and accepts and rejects the same values as :func:`normalize`.

    Parameters
    ----------
    code
        Catalogue code or LOINC code.
    values
        Numbers as reported (anything numpy turns into float64).
    unit
        The unit shared by all values (see :func:`normalize`).
    catalogue
        Another catalogue than the packaged one.

    Returns
    -------
    numpy.ndarray
        float64 values in the canonical unit (a new array).

    Raises
    ------
    ImplausibleValuesError
        Some values are implausible, not finite, or refused by a value rule (FiO₂ 1–21);
        ``indices`` lists every one of them, the message quotes the first few.
    UnitError
        As :func:`normalize`, for the unit.

    Examples
    --------
    >>> normalize_array("plt", [184, 35], "10*3/uL").tolist()
    [184.0, 35.0]
    """
    cat = catalogue or load_catalogue()
    entry = cat.get(code)
    label = _label(entry, code)
    if isinstance(unit, str) and not unit.strip():
        unit = None
    try:
        raw = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise UnitError(label, unit, f"values are not numbers: {exc}") from exc
    raw = raw.reshape(-1)
    out = np.full(raw.shape, np.nan, dtype=np.float64)
    bad = ~np.isfinite(raw)
    low = np.full(raw.shape, np.nan)
    high = np.full(raw.shape, np.nan)
    zero_ok = np.zeros(raw.shape, dtype=bool)
    convs: list[tuple[npt.NDArray[np.bool_], Conversion]] = []
    cleaned = clean_unit_text(unit)
    if cleaned.text is None and entry.missing_unit:
        _check_basis(cat, entry, label, unit, cleaned.bases)
        remaining = ~bad
        for rule in entry.missing_unit:
            mask = remaining & _rule_mask(raw, rule.min, rule.max)
            remaining &= ~mask
            if mask.any():
                convs.append((mask, _conversion(cat, entry, label, unit, float(raw[mask][0]))))
        bad |= remaining
    else:
        convs.append((~bad, _cached_conversion(cat, code, unit)))
    for mask, conv in convs:
        out[mask] = conv.apply_array(raw[mask])
        low[mask] = conv.plausible.low
        high[mask] = conv.plausible.high
        zero_ok[mask] = conv.plausible.allow_zero
    for rejection in entry.source_value_rejections:
        bad |= (raw > rejection.above) & (raw < rejection.below)
    with np.errstate(invalid="ignore"):
        inside = (out >= low) & (out <= high)
    bad |= ~(inside | (zero_ok & (out == 0)))
    if bad.any():
        indices = np.flatnonzero(bad)
        raise _bulk_error(cat, entry, label, unit, raw, indices)
    return out


def _rule_mask(
    raw: npt.NDArray[np.float64], lo: float | None, hi: float | None
) -> npt.NDArray[np.bool_]:
    mask = np.ones(raw.shape, dtype=bool)
    if lo is not None:
        mask &= raw >= lo
    if hi is not None:
        mask &= raw <= hi
    return mask


def _bulk_error(
    cat: LabCatalogue,
    entry: LabEntry,
    label: str,
    unit: str | None,
    raw: npt.NDArray[np.float64],
    indices: npt.NDArray[np.intp],
) -> ImplausibleValuesError:
    """One error for all rejected positions, quoting the first few with their reasons."""
    lines: list[str] = []
    probable: str | None = None
    for i in indices[:_MAX_LISTED]:
        try:
            normalize(entry.code, float(raw[i]), unit, catalogue=cat)
        except ImplausibleValueError as exc:
            lines.append(f"index {int(i)}: {exc.reason}")
            probable = probable or exc.probable_unit
        except UnitError as exc:
            lines.append(f"index {int(i)}: {exc.reason}")
    n = len(indices)
    more = f"; and {n - _MAX_LISTED} more" if n > _MAX_LISTED else ""
    reason = (
        f"{n} of {raw.size} value{'s' if raw.size != 1 else ''} rejected: "
        + "; ".join(lines)
        + more
    )
    return ImplausibleValuesError(label, unit, reason, indices, probable)


def convert(
    code: str,
    value: float,
    from_unit: str | None,
    to_unit: str,
    *,
    catalogue: LabCatalogue | None = None,
) -> float:
    """Convert a value between two accepted units of one quantity (for display).

    No plausibility check is made: this is for showing stored values in a user's units.

    Parameters
    ----------
    code
        Catalogue code or LOINC code.
    value
        The number in ``from_unit``.
    from_unit, to_unit
        Accepted units of the quantity (UCUM or a listed local spelling).
    catalogue
        Another catalogue than the packaged one.

    Returns
    -------
    float
        The value in ``to_unit``.

    Raises
    ------
    UnitError
        When either unit is not accepted for the quantity (FEU ↔ DDU never converts).

    Examples
    --------
    >>> round(convert("bili_total", 51, "umol/L", "mg/dL"), 3)
    2.982
    >>> convert("plt", 184, "10*9/L", "/uL")
    184000.0
    """
    cat = catalogue or load_catalogue()
    source = conversion(code, from_unit, catalogue=cat)
    target = conversion(code, to_unit, catalogue=cat)
    return target.inverse(source.apply(float(value)))


if __name__ == "__main__":  # regenerate VERIFIED_FACTORS
    from ruxtrack.units._catalogue import load_catalogue as _load

    VERIFIED_FACTORS.write_text(
        json.dumps(compute_verified_factors(_load()), indent=1, sort_keys=True) + "\n",
        encoding="utf-8",
    )
