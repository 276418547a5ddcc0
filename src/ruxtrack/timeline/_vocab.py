"""Closed vocabularies of the timeline (definitions, not clinical thresholds)."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "KNOWN_EVENTS",
    "OUTCOME_EVENTS",
    "Comparator",
    "DoseUnit",
    "Frequency",
    "Route",
    "Sex",
    "SupportMode",
]


class Sex(StrEnum):
    female = "female"
    male = "male"
    other = "other"
    unknown = "unknown"


class Comparator(StrEnum):
    """A censored lab value: the true value is below/above the number recorded."""

    lt = "<"
    le = "<="
    gt = ">"
    ge = ">="


class SupportMode(StrEnum):
    """Respiratory support, least to most intensive (the order is used by the WHO scale)."""

    room_air = "room_air"
    nasal_cannula = "nasal_cannula"
    face_mask = "face_mask"
    hfnc = "hfnc"
    niv = "niv"
    imv = "imv"
    ecmo = "ecmo"

    @property
    def rank(self) -> int:
        return list(SupportMode).index(self)


class Route(StrEnum):
    oral = "oral"
    enteral_tube = "enteral_tube"
    iv = "iv"
    sc = "sc"
    im = "im"
    inhaled = "inhaled"
    topical = "topical"
    other = "other"


class DoseUnit(StrEnum):
    """Units a dose can be written in; body-size-based doses are per administration."""

    mg = "mg"
    g = "g"
    ug = "ug"
    mg_per_kg = "mg/kg"
    mg_per_m2 = "mg/m2"
    ug_per_kg = "ug/kg"
    g_per_kg = "g/kg"
    iu = "[IU]"
    iu_per_kg = "[IU]/kg"


class Frequency(StrEnum):
    """Dosing frequency; ``per_day`` is administrations per day (QOD = 0.5)."""

    once = "once"
    qd = "QD"
    bid = "BID"
    tid = "TID"
    qid = "QID"
    q4h = "q4h"
    q6h = "q6h"
    q8h = "q8h"
    q12h = "q12h"
    q24h = "q24h"
    q48h = "q48h"
    qod = "QOD"
    weekly = "weekly"
    continuous = "continuous"
    prn = "PRN"

    @property
    def per_day(self) -> float | None:
        """Administrations per day, or None where a count per day has no meaning."""
        return _PER_DAY[self]


_PER_DAY: dict[Frequency, float | None] = {
    Frequency.once: None,
    Frequency.qd: 1.0,
    Frequency.bid: 2.0,
    Frequency.tid: 3.0,
    Frequency.qid: 4.0,
    Frequency.q4h: 6.0,
    Frequency.q6h: 4.0,
    Frequency.q8h: 3.0,
    Frequency.q12h: 2.0,
    Frequency.q24h: 1.0,
    Frequency.q48h: 0.5,
    Frequency.qod: 0.5,
    Frequency.weekly: 1.0 / 7.0,
    Frequency.continuous: None,
    Frequency.prn: None,
}

#: Events with a documented meaning. Any other lower-case identifier is accepted as a custom event.
KNOWN_EVENTS: dict[str, str] = {
    "admission": "hospital admission",
    "covid_positive": "first positive SARS-CoV-2 test (RT-PCR unless stated)",
    "symptom_onset": "onset of symptoms",
    "hsct": "haematopoietic stem-cell transplant (infusion day); #2 is the second transplant",
    "engraftment": "neutrophil engraftment",
    "icu_admission": "admission to intensive care",
    "icu_discharge": "discharge from intensive care",
    "intubation": "start of invasive mechanical ventilation",
    "extubation": "end of invasive mechanical ventilation",
    "rux_start": "first dose of ruxolitinib",
    "rux_stop": "last dose of ruxolitinib",
    "diagnosis": "diagnosis of the condition treated (IPS, GVHD, HLH, ...)",
    "discharge": "discharge from hospital (outcome)",
    "death": "death (outcome)",
    "last_followup": "last follow-up alive (outcome, censoring)",
}

#: Events that are outcomes: at most one each per patient.
OUTCOME_EVENTS: frozenset[str] = frozenset({"discharge", "death", "last_followup"})
