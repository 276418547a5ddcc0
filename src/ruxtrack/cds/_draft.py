"""Read draft MedicationRequests: is it ruxolitinib, what dose, how often; other drugs ordered."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from ruxtrack.cds._knowledge import load_cds_knowledge
from ruxtrack.cds._models import json_list as _list

__all__ = ["DraftOrder", "coded_drugs", "draft_orders", "is_ruxolitinib", "medication_names"]

# Administrations per day for the timing codes of HL7 v3 GTSAbbreviation that fix a frequency.
_TIMING_CODES = {
    "QD": 1.0,
    "BID": 2.0,
    "TID": 3.0,
    "QID": 4.0,
    "QOD": 0.5,
    "Q4H": 6.0,
    "Q6H": 4.0,
    "Q8H": 3.0,
    "Q12H": 2.0,
    "Q24H": 1.0,
    "AM": 1.0,
    "PM": 1.0,
}
_PER_DAY = {
    "s": 86400.0,
    "min": 1440.0,
    "h": 24.0,
    "d": 1.0,
    "wk": 1 / 7,
    "mo": 1 / 30,
    "a": 1 / 365,
}
_MG = {"mg": 1.0, "g": 1000.0, "ug": 0.001}


@dataclass(frozen=True)
class DraftOrder:
    """One draft MedicationRequest, read as far as its content allows.

    ``dose_mg`` and ``per_day`` are None when the order does not state them (order-select
    allows incomplete drafts); ``problems`` says what could not be read.
    """

    reference: str
    resource: dict[str, Any]
    names: tuple[str, ...]
    ruxolitinib: bool
    dose_mg: float | None
    per_day: float | None
    problems: tuple[str, ...]

    @property
    def daily_mg(self) -> float | None:
        """Dose per administration x administrations per day, when both are known."""
        if self.dose_mg is None or self.per_day is None:
            return None
        return self.dose_mg * self.per_day


def _codings(resource: dict[str, Any]) -> list[dict[str, Any]]:
    concept = resource.get("medicationCodeableConcept")
    if not isinstance(concept, dict):
        return []
    return [c for c in _list(concept.get("coding")) if isinstance(c, dict)]


def medication_names(resource: dict[str, Any]) -> tuple[str, ...]:
    """Lower-case texts that name the medication (concept text, coding displays)."""
    concept = resource.get("medicationCodeableConcept")
    texts: list[str] = []
    if isinstance(concept, dict) and isinstance(concept.get("text"), str):
        texts.append(concept["text"])
    texts.extend(c["display"] for c in _codings(resource) if isinstance(c.get("display"), str))
    ref = resource.get("medicationReference")
    if isinstance(ref, dict) and isinstance(ref.get("display"), str):
        texts.append(ref["display"])
    return tuple(t.lower() for t in texts)


@cache
def _drug_codes() -> dict[tuple[str, str], str]:
    """(system, code) -> timeline drug name, from the FHIR mapping (RxNorm incl. product codes,
    and ATC)."""
    from ruxtrack.sources.fhir import load_fhir_mapping

    return load_fhir_mapping().drug_codes()


def coded_drugs(resource: dict[str, Any]) -> tuple[str, ...]:
    """Timeline names of the drugs a MedicationRequest's codings name (FHIR mapping)."""
    table = _drug_codes()
    found = (table.get((str(c.get("system")), str(c.get("code")))) for c in _codings(resource))
    return tuple(dict.fromkeys(n for n in found if n is not None))


def is_ruxolitinib(resource: dict[str, Any]) -> bool:
    """True when a coding is ruxolitinib's in the FHIR mapping, or (no known coding) the
    medication's text names it."""
    coded = coded_drugs(resource)
    if coded:
        return "ruxolitinib" in coded
    names = load_cds_knowledge().ruxolitinib.names
    return any(n in text for text in medication_names(resource) for n in names)


def _dose(dosage: dict[str, Any], problems: list[str]) -> float | None:
    for dr in _list(dosage.get("doseAndRate")):
        q = dr.get("doseQuantity") if isinstance(dr, dict) else None
        if isinstance(q, dict):
            unit = q.get("code") or q.get("unit")
            value = q.get("value")
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                problems.append("doseQuantity.value is not a non-negative number")
                return None
            if not isinstance(unit, str) or unit not in _MG:
                problems.append(f"dose unit {unit!r} is not a mass (mg)")
                return None
            return float(value) * _MG[str(unit)]
    problems.append("no doseQuantity")
    return None


def _frequency(dosage: dict[str, Any], problems: list[str]) -> float | None:
    timing = dosage.get("timing")
    if not isinstance(timing, dict):
        problems.append("no timing")
        return None
    repeat = timing.get("repeat")
    if isinstance(repeat, dict) and repeat.get("period") is not None:
        freq = repeat.get("frequency", 1)
        period = repeat.get("period")
        unit = repeat.get("periodUnit")
        if (
            isinstance(freq, int)
            and isinstance(period, int | float)
            and period > 0
            and isinstance(unit, str)
            and unit in _PER_DAY
        ):
            return freq / period * _PER_DAY[str(unit)]
        problems.append("timing.repeat is not a frequency per period")
        return None
    code = timing.get("code")
    for c in _list(code.get("coding")) if isinstance(code, dict) else []:
        if isinstance(c, dict) and str(c.get("code", "")).upper() in _TIMING_CODES:
            return _TIMING_CODES[str(c["code"]).upper()]
    problems.append("no frequency in timing")
    return None


def _read(resource: dict[str, Any]) -> DraftOrder:
    problems: list[str] = []
    dose = per_day = None
    dosages = [d for d in _list(resource.get("dosageInstruction")) if isinstance(d, dict)]
    if not dosages:
        problems.append("no dosageInstruction")
    else:
        if len(dosages) > 1:
            problems.append("more than one dosageInstruction: the first is compared")
        dose = _dose(dosages[0], problems)
        per_day = _frequency(dosages[0], problems)
    return DraftOrder(
        reference=f"MedicationRequest/{resource.get('id')}",
        resource=resource,
        names=(*coded_drugs(resource), *medication_names(resource)),
        ruxolitinib=is_ruxolitinib(resource),
        dose_mg=dose,
        per_day=per_day,
        problems=tuple(problems),
    )


def draft_orders(
    bundle: dict[str, Any], selections: Sequence[str] | None = None
) -> tuple[list[DraftOrder], list[DraftOrder]]:
    """(the orders to check, the other draft MedicationRequests of the session).

    With ``selections`` (order-select) the selected MedicationRequests are checked; without
    (order-sign) every draft MedicationRequest is.
    """
    meds = [
        r
        for e in _list(bundle.get("entry"))
        if isinstance(e, dict)
        and isinstance(r := e.get("resource"), dict)
        and r.get("resourceType") == "MedicationRequest"
    ]
    chosen = set(selections) if selections is not None else None
    checked: list[DraftOrder] = []
    others: list[DraftOrder] = []
    for r in meds:
        order = _read(r)
        if chosen is None or order.reference in chosen:
            checked.append(order)
        else:
            others.append(order)
    return checked, others


def names_in(orders: Iterable[DraftOrder]) -> list[str]:
    """All names of a list of orders (used for interaction look-ups)."""
    return [n for o in orders for n in o.names]
