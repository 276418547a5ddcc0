"""The OMOP concept mapping (knowledge/omop.yaml): a typed shape and look-ups both ways."""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel, ConfigDict, model_validator

from ruxtrack.knowledge import Citation, SourceRef, knowledge_path, load_yaml, validate_knowledge

__all__ = ["OmopMapping", "load_omop_mapping"]

_F = ConfigDict(frozen=True, extra="forbid")


class _Entry(BaseModel):
    model_config = _F
    concept_id: int
    vocabulary: str | None = None
    code: str | None = None
    name: str | None = None
    source: SourceRef


class GenderEntry(_Entry):
    value: str


class VisitEntry(_Entry):
    pass


class MeasurementEntry(_Entry):
    code: str  # the lab catalogue code
    loinc: str | None = None
    preferred: bool = False


class SupportValue(_Entry):
    loinc: str | None = None
    unit: str | None = None


class UnitEntry(_Entry):
    ucum: str


class OperatorEntry(_Entry):
    comparator: str


class DrugEntry(_Entry):
    drug: str
    rxnorm: str | None = None


class RouteEntry(_Entry):
    route: str


class ConditionEntry(_Entry):
    name: str  # the ruxtrack condition name
    name_text: str | None = None


class ModeEntry(_Entry):
    mode: str


class EventEntry(_Entry):
    event: str
    table: str


class OmopMapping(BaseModel):
    """The whole mapping file."""

    model_config = _F
    schema_version: int
    cdm_version: str
    sources: dict[str, Citation]
    type_concept: _Entry
    gender: tuple[GenderEntry, ...]
    visit: dict[str, VisitEntry]
    measurements: tuple[MeasurementEntry, ...]
    support_values: dict[str, SupportValue]
    units: tuple[UnitEntry, ...]
    operators: tuple[OperatorEntry, ...]
    drugs: tuple[DrugEntry, ...]
    routes: tuple[RouteEntry, ...]
    conditions: tuple[ConditionEntry, ...]
    support_modes: tuple[ModeEntry, ...]
    events: tuple[EventEntry, ...]
    patient_values: dict[str, _Entry]

    @model_validator(mode="after")
    def _check(self) -> OmopMapping:
        for group in (
            self.gender, self.measurements, self.units, self.operators, self.drugs,
            self.routes, self.conditions, self.support_modes, self.events,
        ):  # fmt: skip
            for e in group:
                if e.source.key not in self.sources:
                    raise ValueError(f"source key {e.source.key} is not in sources")
        codes = [m.code for m in self.measurements]
        if len(set(codes)) != len(codes):
            raise ValueError("measurement codes must be unique")
        return self

    # -- ruxtrack -> concept ------------------------------------------------------------------
    def gender_concept(self, sex: str) -> int:
        return next((g.concept_id for g in self.gender if g.value == sex), 0)

    def measurement_concept(self, code: str) -> int:
        return next((m.concept_id for m in self.measurements if m.code == code), 0)

    def unit_concept(self, ucum: str) -> int:
        return next((u.concept_id for u in self.units if u.ucum == ucum), 0)

    def operator_concept(self, comparator: str | None) -> int | None:
        if comparator is None:
            return None
        return next((o.concept_id for o in self.operators if o.comparator == comparator), 0)

    def drug_concept(self, drug: str) -> int:
        return next((d.concept_id for d in self.drugs if d.drug == drug), 0)

    def route_concept(self, route: str) -> int:
        return next((r.concept_id for r in self.routes if r.route == route), 0)

    def condition_concept(self, name: str) -> int:
        return next((c.concept_id for c in self.conditions if c.name == name), 0)

    def mode_concept(self, mode: str) -> int:
        return next((m.concept_id for m in self.support_modes if m.mode == mode), 0)

    def event_table(self, event: str) -> tuple[str, int]:
        """The CDM table holding an event, and its concept id (observation, 0 by default)."""
        for e in self.events:
            if e.event == event:
                return e.table, e.concept_id
        return "observation", 0

    # -- concept -> ruxtrack ------------------------------------------------------------------
    def sex_of(self, concept_id: int) -> str:
        for g in self.gender:
            if g.concept_id == concept_id and concept_id != 0:
                return g.value
        return "unknown"

    def code_of_measurement(self, concept_id: int) -> str | None:
        hits = [m for m in self.measurements if m.concept_id == concept_id and concept_id != 0]
        if not hits:
            return None
        return next((m.code for m in hits if m.preferred), hits[0].code)

    def ucum_of(self, concept_id: int) -> str | None:
        return next((u.ucum for u in self.units if u.concept_id == concept_id), None)

    def comparator_of(self, concept_id: int) -> str | None:
        return next((o.comparator for o in self.operators if o.concept_id == concept_id), None)

    def drug_of(self, concept_id: int) -> str | None:
        if concept_id == 0:
            return None
        return next((d.drug for d in self.drugs if d.concept_id == concept_id), None)

    def route_of(self, concept_id: int) -> str | None:
        if concept_id == 0:
            return None
        return next((r.route for r in self.routes if r.concept_id == concept_id), None)

    def condition_of(self, concept_id: int) -> str | None:
        if concept_id == 0:
            return None
        return next((c.name for c in self.conditions if c.concept_id == concept_id), None)

    def mode_of(self, concept_id: int) -> str | None:
        if concept_id == 0:
            return None
        return next((m.mode for m in self.support_modes if m.concept_id == concept_id), None)

    def procedure_event_of(self, concept_id: int) -> str | None:
        for e in self.events:
            if e.table == "procedure_occurrence" and e.concept_id == concept_id != 0:
                return e.event
        return None


@cache
def load_omop_mapping() -> OmopMapping:
    """The shipped mapping (validated once per process)."""
    path = knowledge_path("omop.yaml")
    return validate_knowledge(OmopMapping, load_yaml(path), path)
