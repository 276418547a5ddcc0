"""The FHIR R4 mapping (knowledge/fhir.yaml) as a typed, read-only object."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ruxtrack.knowledge import Citation, SourceRef, load_yaml, validate_knowledge

__all__ = ["FhirMapping", "load_fhir_mapping"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class _Code(BaseModel):
    model_config = _FROZEN

    system: str
    code: str
    display: str | None = None
    source: SourceRef


class DrugCodes(BaseModel):
    model_config = _FROZEN

    drug: str
    rxnorm: str | None = None
    atc: str | None = None
    display: str | None = None
    rxnorm_source: SourceRef | None = None
    atc_source: SourceRef | None = None
    note: str | None = None


class FrequencyMap(BaseModel):
    model_config = _FROZEN

    frequency: str
    gts: str | None = None
    repeat: dict[str, Any] | None = None
    as_needed: bool = False
    ruxtrack: bool = False


class RouteMap(BaseModel):
    model_config = _FROZEN

    route: str
    snomed: str | None = None
    display: str | None = None
    ruxtrack: bool = False
    source: SourceRef | None = None


class ConditionMap(BaseModel):
    model_config = _FROZEN

    name: str
    display: str
    codes: tuple[_Code, ...] = ()
    note: str | None = None


class EventProcedure(_Code):
    event: str


class SupportProcedure(_Code):
    mode: str


class Procedures(BaseModel):
    model_config = _FROZEN

    events: tuple[EventProcedure, ...]
    support: tuple[SupportProcedure, ...]


class CovidTest(BaseModel):
    model_config = _FROZEN

    loinc: str
    display: str
    source: SourceRef
    positive: _Code
    negative: _Code


class InpatientClasses(BaseModel):
    model_config = _FROZEN

    codes: tuple[str, ...]
    source: SourceRef


class StatusRule(BaseModel):
    model_config = _FROZEN

    use: tuple[str, ...]
    skip: tuple[str, ...]


class Limits(BaseModel):
    model_config = _FROZEN

    max_bytes: int = Field(gt=0)
    max_resources: int = Field(gt=0)
    max_depth: int = Field(gt=0)
    max_string: int = Field(gt=0)
    source: SourceRef


class FhirMapping(BaseModel):
    """knowledge/fhir.yaml: code systems, drug/condition/procedure codes, bindings, limits."""

    model_config = _FROZEN

    schema_version: int
    title: str
    sources: dict[str, Citation]
    systems: dict[str, str]
    comorbidity_systems: dict[str, str]
    drugs: tuple[DrugCodes, ...]
    frequencies: tuple[FrequencyMap, ...]
    frequency_source: SourceRef
    routes: tuple[RouteMap, ...]
    conditions: tuple[ConditionMap, ...]
    procedures: Procedures
    covid_test: CovidTest
    inpatient_classes: InpatientClasses
    statuses: dict[str, StatusRule]
    statuses_source: SourceRef
    gender: tuple[str, ...]
    comparators: tuple[str, ...]
    ignored_types: tuple[str, ...]
    limits: Limits

    def system(self, key: str) -> str:
        """The URI of a code system named in ``systems`` (or the text itself if not a key)."""
        return self.systems.get(key, key)

    def extension(self, name: str) -> str:
        return self.systems["ruxtrack_extension"] + name


@cache
def load_fhir_mapping() -> FhirMapping:
    """The packaged FHIR mapping (read once)."""
    path = "fhir.yaml"
    return validate_knowledge(FhirMapping, load_yaml(path), path)
