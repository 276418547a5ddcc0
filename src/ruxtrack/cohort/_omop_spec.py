"""The ``omop`` section of a study file: what to read from an OMOP CDM, by concept id.

Everything here is optional: without it a study reads a CDM through the shipped concept mapping
(knowledge/omop.yaml), which covers what ruxtrack itself exports. A study on a CDM that ruxtrack
did not write names its markers, drugs and events by concept id (docs/omop.md).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["OmopConceptSet", "OmopEventSpec", "OmopStudySpec"]

_F = ConfigDict(frozen=True, extra="forbid")
Ident = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]

#: CDM tables an event can be read from, with their (datetime, date) columns.
EVENT_TABLES: dict[str, tuple[str, str]] = {
    "condition_occurrence": ("condition_start_datetime", "condition_start_date"),
    "drug_exposure": ("drug_exposure_start_datetime", "drug_exposure_start_date"),
    "procedure_occurrence": ("procedure_datetime", "procedure_date"),
    "measurement": ("measurement_datetime", "measurement_date"),
    "observation": ("observation_datetime", "observation_date"),
    "visit_occurrence": ("visit_start_datetime", "visit_start_date"),
    "device_exposure": ("device_exposure_start_datetime", "device_exposure_start_date"),
}


class OmopConceptSet(BaseModel):
    """Concept ids, with their descendants (through concept_ancestor) when ``descendants``."""

    model_config = _F
    concept_ids: tuple[int, ...] = Field(min_length=1)
    descendants: bool = True


class OmopEventSpec(OmopConceptSet):
    """An event of the timeline read from a CDM table: every record of the concepts is one
    occurrence (the first in time is ``name``, the second ``name#2``, ...)."""

    table: Literal[
        "condition_occurrence", "drug_exposure", "procedure_occurrence", "measurement",
        "observation", "visit_occurrence", "device_exposure",
    ]  # fmt: skip


class OmopStudySpec(BaseModel):
    """Concept choices of a study run on an OMOP CDM (``ruxtrack report STUDY --omop``)."""

    model_config = _F
    events: dict[Ident, OmopEventSpec] = Field(default_factory=dict)
    drugs: dict[Ident, OmopConceptSet] = Field(
        default_factory=dict, description="drug name used by the study -> concepts"
    )
    markers: dict[Ident, OmopConceptSet] = Field(
        default_factory=dict,
        description="lab catalogue code -> measurement concepts (values in the catalogue's "
        "canonical unit are read; other units are left out)",
    )
    conditions: dict[Ident, OmopConceptSet] = Field(
        default_factory=dict, description="comorbidity name -> condition concepts"
    )
    cdm_version: Literal["5.3", "5.4"] = "5.4"
