"""The patient timeline (see docs/data-model.md)."""

from ruxtrack.timeline._model import (
    Assessment,
    Comorbidity,
    ConditioningAgent,
    DrugExposure,
    Event,
    Observation,
    Patient,
    SupportEpisode,
    Timeline,
    TransplantDetails,
    resolve_anchors,
)
from ruxtrack.timeline._time import NOMINAL_EPOCH, TimeRef, format_offset, parse_time
from ruxtrack.timeline._vocab import (
    KNOWN_EVENTS,
    OUTCOME_EVENTS,
    Comparator,
    DoseUnit,
    Frequency,
    Route,
    Sex,
    SupportMode,
)

__all__ = [
    "KNOWN_EVENTS",
    "NOMINAL_EPOCH",
    "OUTCOME_EVENTS",
    "Assessment",
    "Comorbidity",
    "Comparator",
    "ConditioningAgent",
    "DoseUnit",
    "DrugExposure",
    "Event",
    "Frequency",
    "Observation",
    "Patient",
    "Route",
    "Sex",
    "SupportEpisode",
    "SupportMode",
    "TimeRef",
    "Timeline",
    "TransplantDetails",
    "format_offset",
    "parse_time",
    "resolve_anchors",
]
