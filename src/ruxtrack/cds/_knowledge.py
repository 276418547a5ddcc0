"""The typed shape of ``knowledge/cds.yaml`` and its loader."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ruxtrack.knowledge import Citation, SourceRef, knowledge_path, load_yaml, validate_knowledge

__all__ = ["CdsKnowledge", "ServiceDef", "load_cds_knowledge"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
Hook = Literal["order-select", "order-sign", "patient-view"]


class ServiceDef(BaseModel):
    """One CDS service: id, the hooks it answers, what it says about itself."""

    model_config = _FROZEN

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")]
    hooks: tuple[Hook, ...]
    title: str
    description: str
    usage_requirements: str | None = None
    prefetch: tuple[str, ...]
    source: SourceRef


class Indication(BaseModel):
    model_config = _FROZEN

    regimen: str
    conditions: tuple[str, ...]


class DrugRecognition(BaseModel):
    model_config = _FROZEN

    names: tuple[str, ...]
    source: SourceRef


class OverrideCode(BaseModel):
    model_config = _FROZEN

    code: str
    display: str


class OverrideReasons(BaseModel):
    model_config = _FROZEN

    system: str
    codes: tuple[OverrideCode, ...]
    source: SourceRef


class Limits(BaseModel):
    model_config = _FROZEN

    max_body_bytes: int = Field(gt=0)
    replay_window_s: int = Field(gt=0)
    clock_skew_s: int = Field(ge=0)
    max_token_lifetime_s: int = Field(gt=0)
    jwks_cache_s: int = Field(ge=0)
    fhir_timeout_s: float = Field(gt=0)
    timeline_cache_s: float = Field(ge=0)
    timeline_cache_entries: int = Field(ge=0)
    source: SourceRef


class CdsKnowledge(BaseModel):
    """Everything in ``knowledge/cds.yaml``."""

    model_config = _FROZEN

    id: str
    version: str
    sources: dict[str, Citation]
    services: tuple[ServiceDef, ...]
    prefetch_templates: dict[str, str]
    observation_categories: tuple[str, ...]
    prefetch_source: SourceRef
    indications: tuple[Indication, ...]
    indications_source: SourceRef
    ruxolitinib: DrugRecognition
    monitoring_criteria: tuple[str, ...]
    monitoring_criteria_source: SourceRef
    override_reasons: OverrideReasons
    source_label: str
    limits: Limits

    @model_validator(mode="after")
    def _refs(self) -> CdsKnowledge:
        known = {*self.prefetch_templates, "observations"}
        for s in self.services:
            for key in s.prefetch:
                if key not in known:
                    raise ValueError(f"service {s.id}: prefetch key {key!r} has no template")
        return self

    def service(self, service_id: str) -> ServiceDef | None:
        """The service with this id, or None."""
        return next((s for s in self.services if s.id == service_id), None)


@cache
def load_cds_knowledge() -> CdsKnowledge:
    """The packaged ``knowledge/cds.yaml`` (validated once, then cached).

    Examples
    --------
    >>> [s.id for s in load_cds_knowledge().services]
    ['ruxolitinib-order-check', 'ruxolitinib-monitoring']
    """
    path = knowledge_path("cds.yaml")
    result: CdsKnowledge = validate_knowledge(CdsKnowledge, load_yaml(path), path)
    return result
