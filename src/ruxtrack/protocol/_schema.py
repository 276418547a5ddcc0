"""Regimen and interaction files: their typed shape and the loaders that only read them.

A regimen file declares everything the engine applies: the population, the starting dose, the
schedule or the dose levels, the modification rules (a condition on labs / facts / concomitant
drugs and an effect), the labs required with their freshness window, the monitoring, and a source
with a verification status on every entry. The engine has no regimen-specific code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from ruxtrack.errors import KnowledgeFileError
from ruxtrack.knowledge import Citation, SourceRef, knowledge_path, load_yaml, validate_knowledge

__all__ = [
    "Administration",
    "Condition",
    "DoseLevel",
    "DrugClass",
    "EligibilityCriterion",
    "InteractionDrug",
    "Interactions",
    "MonitoringItem",
    "Phase",
    "Population",
    "Range",
    "Recovery",
    "Regimen",
    "RequiredLab",
    "Rule",
    "Schedule",
    "StartBand",
    "list_regimens",
    "load_interactions",
    "load_regimen",
    "parse_age",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: Labs a rule can test; ``bili_xuln`` is total bilirubin as a multiple of the upper limit of normal
LabCode = Literal["plt", "anc", "bili_xuln", "crcl"]
LAB_CODES: tuple[str, ...] = ("plt", "anc", "bili_xuln", "crcl")
#: Labs whose fall from the first day of dosing a rule can test.
FALL_CODES: tuple[str, ...] = ("plt", "anc")


class TimelineSource(BaseModel):
    """Where the timeline supplies an input: the latest of these assessment kinds."""

    model_config = _FROZEN

    assessments: tuple[str, ...] = Field(min_length=1)
    at: Literal["decision", "course_start"] = "decision"


class InputSpec(BaseModel):
    """One input a rule can test (``knowledge/inputs.yaml``)."""

    model_config = _FROZEN

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    kind: Literal["lab", "fact", "score"]
    label: str
    unit: str | None = None
    range: tuple[float, float] | None = None
    cli: str | None = None
    timeline: TimelineSource | None = None
    derived: str | None = None
    adhoc: bool = Field(default=True, description="may be typed at the bedside (--fact/--score)")
    source: SourceRef


class _DataFile(BaseModel):
    """What every protocol data file starts with: its id, version and citations by key."""

    model_config = _FROZEN

    id: str
    version: str
    sources: dict[str, Citation]


class InputCatalogue(_DataFile):
    """The inputs rules can test, declared once (read by the schema, builders and CLI)."""

    inputs: tuple[InputSpec, ...]

    @model_validator(mode="after")
    def _consistent(self) -> InputCatalogue:
        names = [i.name for i in self.inputs]
        if len(set(names)) != len(names):
            raise ValueError("an input is declared twice")
        for i in self.inputs:
            if i.source.key not in self.sources:
                raise ValueError(f"input {i.name}: source key {i.source.key!r} not in sources")
            if i.kind != "lab" and (i.timeline is None) == (i.derived is None):
                raise ValueError(f"input {i.name}: give timeline (assessments) or derived")
        return self

    def of_kind(self, kind: str) -> tuple[str, ...]:
        return tuple(i.name for i in self.inputs if i.kind == kind)

    def get(self, name: str) -> InputSpec | None:
        return next((i for i in self.inputs if i.name == name), None)


@cache
def load_inputs() -> InputCatalogue:
    """The packaged ``inputs.yaml`` catalogue."""
    path = knowledge_path("inputs.yaml")
    result: InputCatalogue = validate_knowledge(InputCatalogue, load_yaml(path), path)
    return result


#: Yes/no facts a rule or an eligibility criterion can test (``kind: fact`` in inputs.yaml).
FACT_CODES: tuple[str, ...] = load_inputs().of_kind("fact")
#: Graded findings a rule can test (``kind: score``).
SCORE_CODES: tuple[str, ...] = load_inputs().of_kind("score")
Slot = Literal["morning", "evening", "once_daily", "after_dialysis", "daily_split_not_stated"]

_AGE = re.compile(r"^\s*(?P<n>[0-9]+(?:\.[0-9]+)?)\s*(?P<u>d|mo|y)\s*$")
_DAYS_PER_YEAR = 365.25  # the Julian year used for ages everywhere in ruxtrack (timeline.age_at)


def parse_age(text: str) -> float:
    """Age written ``28d``, ``6mo`` or ``12y`` as years (months are twelfths of a year).

    Examples
    --------
    >>> parse_age("12y"), parse_age("6mo")
    (12.0, 0.5)
    >>> round(parse_age("28d"), 5)
    0.07666
    """
    m = _AGE.match(text)
    if m is None:
        raise ValueError(f'age "{text}" is not written as <number>d, <number>mo or <number>y')
    n = float(m["n"])
    return {"d": n / _DAYS_PER_YEAR, "mo": n / 12.0, "y": n}[m["u"]]


class Range(BaseModel):
    """An interval written with the source's comparators (``lt`` is strict, ``le`` is not)."""

    model_config = _FROZEN

    lt: float | None = None
    le: float | None = None
    gt: float | None = None
    ge: float | None = None

    @model_validator(mode="after")
    def _one_side_each(self) -> Range:
        if self.lt is not None and self.le is not None:
            raise ValueError("give lt or le, not both")
        if self.gt is not None and self.ge is not None:
            raise ValueError("give gt or ge, not both")
        if all(v is None for v in (self.lt, self.le, self.gt, self.ge)):
            raise ValueError("a range needs at least one of lt, le, gt, ge")
        return self

    def text(self, name: str) -> str:
        """``15 <= plt < 20`` style text."""
        lo = (
            ""
            if self.ge is None and self.gt is None
            else (f"{self.ge:g} <= " if self.ge is not None else f"{self.gt:g} < ")
        )
        hi = (
            ""
            if self.lt is None and self.le is None
            else (f" < {self.lt:g}" if self.lt is not None else f" <= {self.le:g}")
        )
        return f"{lo}{name}{hi}"


class _ConditionBase(BaseModel):
    """All clauses must hold (AND). An empty condition always holds.

    A clause whose input is unknown makes the condition unknown unless another clause is false.
    The yes/no facts and graded scores of ``knowledge/inputs.yaml`` are added as fields by
    :data:`Condition` (one per catalogue entry).
    """

    FACTS: ClassVar[tuple[str, ...]] = ()
    SCORES: ClassVar[tuple[str, ...]] = ()

    model_config = _FROZEN

    plt: Range | None = None
    anc: Range | None = None
    bili_xuln: Range | None = None
    crcl: Range | None = None
    plt_fall_pct: Range | None = Field(
        default=None, description="fall of platelets from the first day of dosing, in %"
    )
    anc_fall_pct: Range | None = None
    age_years: Range | None = None
    days_on_drug: Range | None = Field(default=None, description="day of treatment (first day = 1)")
    state_days: Range | None = Field(
        default=None, description="days since the current dose (or the interruption) began"
    )
    level: str | None = Field(default=None, description="current dose level is this level id")
    at_lowest_level: bool | None = None
    drug_class: str | None = Field(default=None, description="a class of interactions.yaml")
    drug_daily_mg: Range | None = Field(
        default=None, description="daily dose of the drug_class drug (needs drug_class)"
    )

    @model_validator(mode="after")
    def _drug_dose_needs_class(self) -> _ConditionBase:
        if self.drug_daily_mg is not None and self.drug_class is None:
            raise ValueError("drug_daily_mg needs drug_class")
        return self

    def numeric_clauses(self) -> list[tuple[str, Range]]:
        """(column, range) for every numeric clause, in a fixed order."""
        out: list[tuple[str, Range]] = []
        for name in (
            *LAB_CODES,
            "plt_fall_pct",
            "anc_fall_pct",
            "age_years",
            "days_on_drug",
            "state_days",
            *type(self).SCORES,
        ):
            rng = getattr(self, name)
            if rng is not None:
                out.append((name, rng))
        return out

    def fact_clauses(self) -> list[tuple[str, bool]]:
        """(fact, expected value) for every yes/no clause."""
        facts = type(self).FACTS
        return [(f, getattr(self, f)) for f in facts if getattr(self, f) is not None]

    def describe(self) -> str:
        """The condition as a readable expression."""
        parts = [rng.text(name) for name, rng in self.numeric_clauses()]
        parts += [f"{f} is {'yes' if v else 'no'}" for f, v in self.fact_clauses()]
        if self.level is not None:
            parts.append(f"current level is {self.level}")
        if self.at_lowest_level is not None:
            parts.append(
                "at the lowest level" if self.at_lowest_level else "above the lowest level"
            )
        if self.drug_class is not None:
            drug = f"taking a {self.drug_class} drug"
            if self.drug_daily_mg is not None:
                drug += f" ({self.drug_daily_mg.text('daily mg')})"
            parts.append(drug)
        return " and ".join(parts) if parts else "always"


def condition_model(catalogue: InputCatalogue) -> type[_ConditionBase]:
    """The rule-condition model: fixed clauses plus one field per fact or score of the
    catalogue (a new catalogue entry is a new clause, nothing else)."""
    fields: dict[str, Any] = {}
    for spec in catalogue.inputs:
        if spec.kind == "fact":
            fields[spec.name] = (bool | None, Field(default=None, description=spec.label))
        elif spec.kind == "score":
            fields[spec.name] = (Range | None, Field(default=None, description=spec.label))
    model: type[_ConditionBase] = create_model(
        "Condition", __base__=_ConditionBase, __module__=__name__, **fields
    )
    model.FACTS = catalogue.of_kind("fact")
    model.SCORES = catalogue.of_kind("score")
    return model


if TYPE_CHECKING:
    Condition = _ConditionBase
else:
    Condition = condition_model(load_inputs())


class Administration(BaseModel):
    """One administration of the day: a time-of-day slot and its dose."""

    model_config = _FROZEN

    slot: Slot
    dose_mg: Annotated[float, Field(gt=0)]


def _daily(adms: tuple[Administration, ...]) -> float:
    return float(sum(a.dose_mg for a in adms))


class DoseLevel(BaseModel):
    """One row of the dose-level table (top first)."""

    model_config = _FROZEN

    id: str
    label: str
    administrations: tuple[Administration, ...]
    source: SourceRef

    @property
    def daily_mg(self) -> float:
        return _daily(self.administrations)


class Phase(BaseModel):
    """Days ``first_day``..``last_day`` (inclusive) of a fixed schedule."""

    model_config = _FROZEN

    first_day: int
    last_day: int
    label: str
    administrations: tuple[Administration, ...]
    source: SourceRef

    @property
    def daily_mg(self) -> float:
        return _daily(self.administrations)


class Schedule(BaseModel):
    """A fixed day-by-day schedule counted from an anchor event."""

    model_config = _FROZEN

    anchor: str = Field(description="timeline event the days count from (rux_start, hsct#2, ...)")
    day_one_is_anchor: bool = Field(
        description="true: the anchor's day is day 1 (a course); false: day 0 (post-transplant)"
    )
    phases: tuple[Phase, ...]

    @model_validator(mode="after")
    def _contiguous(self) -> Schedule:
        if not self.phases:
            raise ValueError("a schedule needs at least one phase")
        prev = None
        for p in self.phases:
            if p.last_day < p.first_day:
                raise ValueError(f"phase {p.label}: last_day before first_day")
            if prev is not None and p.first_day != prev + 1:
                raise ValueError(f"phase {p.label}: phases must be contiguous")
            prev = p.last_day
        return self

    @property
    def first_day(self) -> int:
        return self.phases[0].first_day

    @property
    def last_day(self) -> int:
        return self.phases[-1].last_day

    def anchor_key(self) -> tuple[str, int]:
        """(event, occurrence) of the anchor, ``hsct#2`` -> ("hsct", 2)."""
        name, _, occ = self.anchor.partition("#")
        return name, int(occ) if occ else 1


class StartBand(BaseModel):
    """Starting dose for an age band: a dose level, or mg/m2 per administration."""

    model_config = _FROZEN

    min_age: str | None = None
    below_age: str | None = None
    level: str | None = None
    max_level: str | None = Field(
        default=None, description="highest level allowed in this band (default: the start level)"
    )
    mg_per_m2: Annotated[float, Field(gt=0)] | None = None
    slots: tuple[Slot, ...] = ("morning", "evening")
    note: str | None = None
    source: SourceRef
    caution: str | None = Field(
        default=None, description="a warning shown with every start in this band (a discrepancy)"
    )
    caution_source: SourceRef | None = None

    @model_validator(mode="after")
    def _one_dose(self) -> StartBand:
        if (self.level is None) == (self.mg_per_m2 is None):
            raise ValueError("a start band gives a level or mg_per_m2, not both")
        if (self.caution is None) != (self.caution_source is None):
            raise ValueError("caution and caution_source go together")
        for a in (self.min_age, self.below_age):
            if a is not None:
                parse_age(a)
        return self

    @property
    def min_years(self) -> float | None:
        return None if self.min_age is None else parse_age(self.min_age)

    @property
    def below_years(self) -> float | None:
        return None if self.below_age is None else parse_age(self.below_age)


class RequiredLab(BaseModel):
    """A lab every dosing decision needs, and how old it may be (whole calendar days)."""

    model_config = _FROZEN

    code: Literal["plt", "anc", "bilirubin", "crcl"]
    max_age_days: Annotated[int, Field(ge=0)]
    source: SourceRef

    @property
    def column(self) -> str:
        return "bili_xuln" if self.code == "bilirubin" else self.code


class BodyMeasures(BaseModel):
    """How old a body weight may be for a decision (Cockcroft-Gault CrCl, BSA dosing)."""

    model_config = _FROZEN

    weight_max_age_days: Annotated[int, Field(ge=0)]
    source: SourceRef


class Recovery(BaseModel):
    """When a hold ends and at which level the drug resumes."""

    model_config = _FROZEN

    when: Condition
    resume: Literal["same_level", "one_level_lower", "initial_level"]
    max_days: Annotated[int, Field(ge=1)] | None = None
    on_max: Literal["alert", "resume_one_level_lower"] = "alert"
    source: SourceRef | None = None


Effect = Literal[
    "reduce_levels",
    "reduce_to_percent",
    "cap",
    "alternate_day",
    "return_to_previous",
    "hold",
    "discontinue",
    "avoid",
    "no_recommendation",
    "monitor",
    "option",
    "info",
]
#: Effects that can lower or stop the dose; an unknown condition on one of them blocks a dose.
LIMITING_EFFECTS: frozenset[str] = frozenset(
    {
        "reduce_levels",
        "reduce_to_percent",
        "cap",
        "alternate_day",
        "hold",
        "discontinue",
        "avoid",
        "no_recommendation",
    }
)


class Rule(BaseModel):
    """One declared modification: when the condition holds, the effect applies."""

    model_config = _FROZEN

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    text: str = Field(description="the rule as the source states it")
    when: Condition = Condition()
    effect: Effect
    levels: Annotated[int, Field(ge=1)] | None = None
    percent: Annotated[float, Field(gt=0, lt=100)] | None = None
    cap_level: str | None = None
    administrations: tuple[Administration, ...] = ()
    fraction_on_dosing_days: Annotated[float, Field(gt=0, le=1)] | None = None
    recovery: Recovery | None = None
    after_rules: tuple[str, ...] = ()
    within_days: Annotated[int, Field(ge=0)] | None = None
    optional: bool = False
    keep_slots: bool = Field(
        default=False,
        description="a reduce_to_percent that reduces each administration and keeps the slots "
        "(twice daily stays twice daily, sub-tablet doses flagged for the pharmacy)",
    )
    when_unknown: Literal["block", "alert"] = Field(
        default="block",
        description="an unknown input blocks any dose (default) or only raises an alert",
    )
    team_actions: tuple[str, ...] = ()
    alert: str | None = None
    monitoring: str | None = None
    alternative_reading: str | None = None
    alternative_fraction_on_dosing_days: Annotated[float, Field(gt=0, le=1)] | None = None
    note: str | None = None
    source: SourceRef

    @model_validator(mode="after")
    def _fields_for_effect(self) -> Rule:
        e = self.effect
        need: dict[str, tuple[str, ...]] = {
            "reduce_levels": ("levels",),
            "reduce_to_percent": ("percent",),
            "alternate_day": ("fraction_on_dosing_days",),
            "hold": ("recovery",),
            "return_to_previous": ("after_rules",),
        }
        for name in need.get(e, ()):
            if not getattr(self, name):
                raise ValueError(f"effect {e} needs `{name}`")
        if e == "cap" and (self.cap_level is None) == (not self.administrations):
            raise ValueError("effect cap needs cap_level or administrations (one of them)")
        if e == "option" and not self.team_actions:
            raise ValueError("effect option needs team_actions describing the option")
        return self


class EligibilityCriterion(BaseModel):
    """An inclusion or exclusion criterion checked before the first dose."""

    model_config = _FROZEN

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    text: str
    when: Condition
    source: SourceRef


class MonitoringItem(BaseModel):
    """A monitoring instruction of the regimen (shown with every decision)."""

    model_config = _FROZEN

    what: str
    schedule: str
    on_days: tuple[int, ...] = Field(default=(), description="schedule days it is due on, if fixed")
    source: SourceRef


class Population(BaseModel):
    """The ages a regimen is for (checked on every decision)."""

    model_config = _FROZEN

    min_age: str | None = None
    below_age: str | None = None
    source: SourceRef

    @model_validator(mode="after")
    def _ages(self) -> Population:
        for a in (self.min_age, self.below_age):
            if a is not None:
                parse_age(a)
        return self

    @property
    def min_years(self) -> float | None:
        return None if self.min_age is None else parse_age(self.min_age)

    @property
    def below_years(self) -> float | None:
        return None if self.below_age is None else parse_age(self.below_age)

    def describe(self) -> str:
        parts = []
        if self.min_age:
            parts.append(f">= {self.min_age}")
        if self.below_age:
            parts.append(f"< {self.below_age}")
        return "age " + " and ".join(parts) if parts else "any age"


class Formulations(BaseModel):
    """Strengths available, used to flag doses that no tablet gives."""

    model_config = _FROZEN

    tablets_mg: tuple[float, ...]
    oral_solution_mg_per_ml: float | None = None
    source: SourceRef


class Regimen(BaseModel):
    """A ruxolitinib regimen as declared in its knowledge file."""

    model_config = _FROZEN

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    version: str
    title: str
    kind: Literal["protocol", "label", "recorded_course"]
    indication: str
    evidence: str
    region: str | None = None
    sources: dict[str, Citation]
    source: SourceRef
    population: Population | None = None
    max_daily_mg: Annotated[float, Field(gt=0)]
    max_daily_source: SourceRef
    formulations: Formulations
    combine_reductions: Literal["most_restrictive"]
    combine_source: SourceRef
    modification_note: str | None = None
    modification_note_source: SourceRef | None = None
    schedule: Schedule | None = None
    dose_levels: tuple[DoseLevel, ...] = ()
    start: tuple[StartBand, ...] = ()
    required_labs: tuple[RequiredLab, ...] = ()
    body_measures: BodyMeasures | None = None
    eligibility: tuple[EligibilityCriterion, ...] = ()
    rules: tuple[Rule, ...] = ()
    monitoring: tuple[MonitoringItem, ...] = ()
    notes: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Regimen:
        keys = set(self.sources)
        refs: list[SourceRef] = [
            self.source,
            self.max_daily_source,
            self.combine_source,
            self.formulations.source,
        ]
        refs += [x for x in (self.modification_note_source,) if x]
        if self.population is not None:
            refs.append(self.population.source)
        refs += [lv.source for lv in self.dose_levels] + [b.source for b in self.start]
        refs += [b.caution_source for b in self.start if b.caution_source is not None]
        refs += [r.source for r in self.required_labs] + [e.source for e in self.eligibility]
        refs += [self.body_measures.source] if self.body_measures else []
        refs += [r.source for r in self.rules] + [m.source for m in self.monitoring]
        refs += [r.recovery.source for r in self.rules if r.recovery and r.recovery.source]
        if self.schedule:
            refs += [p.source for p in self.schedule.phases]
        for ref in refs:
            if ref.key not in keys:
                raise ValueError(f"source key {ref.key!r} is not in `sources`")
        if (self.schedule is None) == (not self.dose_levels):
            raise ValueError("a regimen has a schedule or dose levels (one of them)")
        if self.dose_levels and not self.start:
            raise ValueError("a regimen with dose levels needs `start` bands")
        level_ids = [lv.id for lv in self.dose_levels]
        if len(set(level_ids)) != len(level_ids):
            raise ValueError("dose level ids must be unique")
        dailies = [lv.daily_mg for lv in self.dose_levels]
        if dailies != sorted(dailies, reverse=True) or len(set(dailies)) != len(dailies):
            raise ValueError(
                "dose levels must be listed top first with strictly falling daily doses"
            )
        rule_ids = [r.id for r in self.rules]
        if len(set(rule_ids)) != len(rule_ids):
            raise ValueError("rule ids must be unique")
        for r in self.rules:
            for lid in (r.cap_level, r.when.level):
                if lid is not None and lid not in level_ids:
                    raise ValueError(f"rule {r.id}: unknown level {lid!r}")
            for a in r.after_rules:
                if a not in rule_ids:
                    raise ValueError(f"rule {r.id}: after_rules names unknown rule {a!r}")
            if r.effect in ("reduce_levels", "return_to_previous", "hold") and not self.dose_levels:
                raise ValueError(f"rule {r.id}: effect {r.effect} needs dose levels")
            if r.effect == "alternate_day" and self.schedule is None:
                raise ValueError(f"rule {r.id}: alternate_day needs a schedule")
            if r.administrations and _daily(r.administrations) > self.max_daily_mg:
                raise ValueError(f"rule {r.id}: dose above max_daily_mg")
        for b in self.start:
            for lid in (b.level, b.max_level):
                if lid is not None and lid not in level_ids:
                    raise ValueError(f"start band: unknown level {lid!r}")
        top = max(
            [*dailies, *(p.daily_mg for p in (self.schedule.phases if self.schedule else ()))]
        )
        if top > self.max_daily_mg:
            raise ValueError(
                f"a dose ({top:g} mg/day) is above max_daily_mg ({self.max_daily_mg:g})"
            )
        return self

    # -- lookups ---------------------------------------------------------------------------
    def level_index(self, level_id: str) -> int:
        return [lv.id for lv in self.dose_levels].index(level_id)

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def drug_classes(self) -> tuple[str, ...]:
        """Interaction classes any rule of this regimen tests, in first-use order."""
        out: list[str] = []
        for r in self.rules:
            c = r.when.drug_class
            if c is not None and c not in out:
                out.append(c)
        return tuple(out)

    def cite(self, ref: SourceRef) -> str:
        """``label`` of a source reference with its citation key resolved to the short citation."""
        return ref.label()


# -- interactions -------------------------------------------------------------------------------


class DrugClass(BaseModel):
    model_config = _FROZEN

    label: str
    source: SourceRef


class LabelClasses(BaseModel):
    """A label's own classification of a drug, where it differs from the default."""

    model_config = _FROZEN

    classes: tuple[str, ...]
    source: SourceRef


class InteractionDrug(BaseModel):
    model_config = _FROZEN

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    aliases: tuple[str, ...] = ()
    classes: tuple[str, ...]
    source: SourceRef
    by_region: dict[str, LabelClasses] = Field(
        default_factory=dict,
        description="region of the regimen (US, EU) -> that label's classification of the drug",
    )

    def classes_for(self, region: str | None) -> tuple[str, ...]:
        """The classes under the label of ``region`` (the default where it says nothing)."""
        own = self.by_region.get(region or "")
        return self.classes if own is None else own.classes


class Combination(BaseModel):
    """Drugs that together act as another class (letermovir with ciclosporin: strong CYP3A)."""

    model_config = _FROZEN

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_+]*$")]
    drugs: tuple[str, ...] = Field(min_length=2)
    classes: tuple[str, ...]
    source: SourceRef


class Interactions(_DataFile):
    """Drugs that change ruxolitinib exposure, grouped into the classes rules name."""

    classes: dict[str, DrugClass]
    drugs: tuple[InteractionDrug, ...]
    combinations: tuple[Combination, ...] = ()

    @model_validator(mode="after")
    def _refs(self) -> Interactions:
        names = {d.name for d in self.drugs}
        for d in self.drugs:
            refs = [(d.classes, d.source)] + [(o.classes, o.source) for o in d.by_region.values()]
            for classes, src in refs:
                for c in classes:
                    if c not in self.classes:
                        raise ValueError(f"drug {d.name}: unknown class {c!r}")
                if src.key not in self.sources:
                    raise ValueError(f"drug {d.name}: source key {src.key!r} not in sources")
        for combo in self.combinations:
            for n in combo.drugs:
                if n not in names:
                    raise ValueError(f"combination {combo.name}: drug {n!r} is not in drugs")
            for c in combo.classes:
                if c not in self.classes:
                    raise ValueError(f"combination {combo.name}: unknown class {c!r}")
            if combo.source.key not in self.sources:
                raise ValueError(f"combination {combo.name}: source key not in sources")
        return self

    def combined(self, names: Sequence[str]) -> tuple[Combination, ...]:
        """The combinations all of whose drugs are among ``names`` (canonical drug names)."""
        have = set(names)
        return tuple(c for c in self.combinations if set(c.drugs) <= have)

    def classes_of(self, drug: str) -> tuple[str, ...]:
        """Classes of a drug given by name or alias (lower-case, spaces and '/' as '_')."""
        key = re.sub(r"[\s/+-]+", "_", drug.strip().lower())
        for d in self.drugs:
            if key == d.name or key in d.aliases:
                return d.classes
        return ()

    def entry(self, drug: str) -> InteractionDrug | None:
        key = re.sub(r"[\s/+-]+", "_", drug.strip().lower())
        for d in self.drugs:
            if key == d.name or key in d.aliases:
                return d
        return None


# -- loaders ------------------------------------------------------------------------------------

_REGIMEN_DIR = "regimens"


@cache
def load_interactions() -> Interactions:
    """The packaged ``interactions.yaml``.

    Examples
    --------
    >>> load_interactions().classes_of("posaconazole")
    ('strong_cyp3a4',)
    """
    path = knowledge_path("interactions.yaml")
    result: Interactions = validate_knowledge(Interactions, load_yaml(path), path)
    return result


def list_regimens() -> tuple[str, ...]:
    """Ids of the packaged regimens, sorted.

    Examples
    --------
    >>> "sarmiento-2021-covid" in list_regimens()
    True
    """
    folder = knowledge_path(_REGIMEN_DIR)
    return tuple(sorted(p.stem for p in Path(folder).glob("*.yaml")))


@cache
def _load_packaged(regimen_id: str) -> Regimen:
    return _load_file(knowledge_path(f"{_REGIMEN_DIR}/{regimen_id}.yaml"))


def _load_file(path: Path) -> Regimen:
    regimen: Regimen = validate_knowledge(Regimen, load_yaml(path), path)
    classes = load_interactions().classes
    for cls in regimen.drug_classes():
        if cls not in classes:
            raise KnowledgeFileError(str(path), f"drug_class {cls!r} is not in interactions.yaml")
    if path.stem != regimen.id and path.parent == Path(knowledge_path(_REGIMEN_DIR)):
        raise KnowledgeFileError(str(path), f"id {regimen.id!r} does not match the file name")
    return regimen


def load_regimen(regimen: str | Path) -> Regimen:
    """Load a packaged regimen by id, or a user regimen file by path.

    Raises
    ------
    KnowledgeFileError
        When the id is unknown or the file fails validation (naming the file and the field).

    Examples
    --------
    >>> load_regimen("sarmiento-2021-covid").schedule.last_day
    15
    """
    if isinstance(regimen, Path) or str(regimen).endswith((".yaml", ".yml")):
        return _load_file(Path(regimen))
    if regimen not in list_regimens():
        raise KnowledgeFileError(
            str(regimen), f"unknown regimen; packaged regimens: {', '.join(list_regimens())}"
        )
    return _load_packaged(str(regimen))
