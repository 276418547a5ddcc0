"""Typed shape of ``knowledge/synth/sarmiento-2021.yaml``: the generator's calibration targets.

The loader only reads and validates; every number the generator uses comes from this file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ruxtrack.errors import KnowledgeFileError
from ruxtrack.knowledge import Citation, SourceRef, knowledge_path, load_yaml

__all__ = ["GROUPS", "TIME_POINTS", "CalibrationTargets", "GroupName", "TimePoint", "load_targets"]

TARGETS_FILE = "synth/sarmiento-2021.yaml"

GroupName = Literal["complete_response", "late_responder", "progression"]
#: The paper's three outcome groups, in its order (Results; Table 3).
GROUPS: tuple[GroupName, ...] = ("complete_response", "late_responder", "progression")
TimePoint = Literal["admission", "start", "d8", "d15"]
#: The time points of Table 2, in order.
TIME_POINTS: tuple[TimePoint, ...] = ("admission", "start", "d8", "d15")

Fraction = Annotated[float, Field(ge=0, le=1)]
Days = tuple[float, float]


class _F(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_fractions(name: str, fractions: Mapping[str, float]) -> None:
    total = sum(fractions.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"{name}: fractions sum to {total:g}, not 1")


class Summary(_F):
    """A printed median (low-high); ``high_used`` replaces a printed maximum that cannot be."""

    median: float = Field(gt=0)
    low: float = Field(gt=0)
    high: float = Field(gt=0)
    high_used: float | None = Field(default=None, gt=0)
    high_source: SourceRef | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Summary:
        if not self.low <= self.median:
            raise ValueError(f"low {self.low} is above the median {self.median}")
        if self.high_used is None:
            if not self.median <= self.high:
                raise ValueError(
                    f"high {self.high} is below the median {self.median}: "
                    "give high_used with a source"
                )
        elif self.high_source is None or not self.median < self.high_used:
            raise ValueError("high_used needs a high_source and must lie above the median")
        return self

    @property
    def upper(self) -> float:
        """The upper end used for fitting (``high_used`` where the printed one is unusable)."""
        return self.high if self.high_used is None else self.high_used


class RangeZ(_F):
    method: Literal["blom_expected_extreme"]
    note: str
    source: SourceRef


class Dates(_F):
    first: date
    last: date
    source: SourceRef


class Cohort(_F):
    n: int = Field(gt=0)
    source: SourceRef
    dates: Dates
    follow_up_days: int = Field(gt=0)
    follow_up_source: SourceRef
    range_z: RangeZ


class Group(_F):
    name: GroupName
    n: int = Field(gt=0)
    label: str
    source: SourceRef


class SexCounts(_F):
    male: int = Field(ge=0)
    female: int = Field(ge=0)


class Sex(_F):
    male: int = Field(ge=0)
    female: int = Field(ge=0)
    source: SourceRef
    note: str
    by_group_exact: dict[GroupName, SexCounts]
    by_group_source: SourceRef


class AgeBin(_F):
    name: str
    low: float
    high: float
    shape: Literal["uniform", "descending"]


class Age(_F):
    median: float
    low: float = Field(ge=18)
    high: float
    source: SourceRef
    bins: tuple[AgeBin, ...]
    bins_source: SourceRef
    by_group: dict[GroupName, dict[str, Fraction]]
    by_group_source: SourceRef

    @model_validator(mode="after")
    def _consistent(self) -> Age:
        names = {b.name for b in self.bins}
        for g, fr in self.by_group.items():
            if set(fr) != names:
                raise ValueError(f"age.by_group.{g}: bins {sorted(fr)} differ from {sorted(names)}")
            _check_fractions(f"age.by_group.{g}", fr)
        return self


class BloodGroup(_F):
    counts: dict[Literal["A", "B", "AB", "O"], int]
    not_available: int = Field(ge=0)
    source: SourceRef
    note: str


class Condition(_F):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    n: int = Field(ge=0)
    source: SourceRef
    note: str | None = None


class CountWithSource(_F):
    n: int = Field(ge=0)
    source: SourceRef
    note: str | None = None


class DrugSpec(_F):
    drug: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    dose: float = Field(gt=0)
    unit: str
    frequency: str
    route: str
    days: int = Field(ge=1)


PriorKind = Literal[
    "corticosteroids", "tocilizumab", "hydroxychloroquine", "antibiotics", "lopinavir_ritonavir"
]


class PriorTreatment(_F):
    corticosteroids: int
    tocilizumab: int
    both: int
    hydroxychloroquine: int
    antibiotics: int
    lopinavir_ritonavir: int
    source: SourceRef
    table1_quote: str
    regimens: dict[PriorKind, DrugSpec]
    regimens_source: SourceRef


class AdmissionToStart(_F):
    median: float
    low: float
    high: float
    n: int
    source: SourceRef


class EarlyStart(_F):
    max_days_from_positive: int = Field(gt=0)
    source: SourceRef
    by_group: dict[GroupName, Fraction]
    by_group_source: SourceRef
    note: str
    late_extra_days: tuple[int, int]
    late_extra_source: SourceRef


class TimePointSpec(_F):
    anchor: Literal["admission", "rux_start"]
    offset_hours: float


class Availability(_F):
    patients: int
    of: int
    source: SourceRef


class Table1Value(_F):
    median: float
    low: float
    high: float
    quote: str


class Marker(_F):
    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    printed_unit: str
    factor: float = Field(gt=0)
    decimals: int = Field(ge=0, le=4)
    inflammation: bool
    unit_note: str | None = None
    unit_source: SourceRef | None = None
    n: int = Field(gt=1)
    source: SourceRef
    at: dict[TimePoint, Summary]
    table1: Table1Value | None = None
    table1_note: str | None = None
    availability: Availability | None = None

    @model_validator(mode="after")
    def _all_times(self) -> Marker:
        missing = [t for t in TIME_POINTS if t not in self.at]
        if missing:
            raise ValueError(f"{self.code}: no values for time points {missing}")
        return self


class CountMarginal(_F):
    median: float = Field(gt=0)
    low: float = Field(gt=0)
    high: float = Field(gt=0)
    decimals: int = Field(ge=0, le=4)
    source: SourceRef


class Growth(_F):
    mean: float
    sd: float = Field(ge=0)


class CountDynamics(_F):
    wbc_floor_other: float = Field(ge=0)
    correlation_wbc_anc: float = Field(ge=0, le=1)
    plt_start_min: float = Field(gt=0)
    plt_start_correlation: float = Field(ge=0, le=1)
    plt_daily_growth: Growth
    anc_daily_growth: Growth
    lymph_daily_growth: dict[GroupName, Growth]
    monitoring_days: tuple[int, ...]
    source: SourceRef


class Counts(_F):
    wbc: CountMarginal
    anc: CountMarginal
    lymph: CountMarginal
    plt: CountMarginal
    dynamics: CountDynamics


class OtherLab(_F):
    median: float = Field(gt=0)
    low: float = Field(gt=0)
    high: float = Field(gt=0)
    decimals: int = Field(ge=0, le=4)
    daily_change: float


class OtherLabs(_F):
    hb: OtherLab
    creat: OtherLab
    source: SourceRef


class SfRatio(_F):
    median: float
    low: float
    high: float
    n: int
    source: SourceRef
    unit_note: str
    spo2_target: tuple[float, float]
    spo2_bounds: tuple[float, float]
    multipliers: dict[GroupName, dict[Literal["start", "d8", "d15"], float]]
    multipliers_source: SourceRef


class Loadings(_F):
    latent: float = Field(ge=0, le=1)
    persistent: float = Field(ge=0, le=1)
    noise: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _unit_variance(self) -> Loadings:
        total = self.latent**2 + self.persistent**2 + self.noise**2
        if abs(total - 1.0) > 0.01:
            raise ValueError(f"squared loadings sum to {total:.3f}, not 1")
        return self


class InflammationModel(_F):
    loadings: Loadings
    latent_autocorrelation: float = Field(ge=0, lt=1)
    group_shift: dict[TimePoint, dict[GroupName, float]]
    missing: dict[TimePoint, Fraction]
    source: SourceRef


class Timing(_F):
    pre_start_switch_days: tuple[int, int]
    home_oxygen_flow: Days
    complete_response_oxygen_days: tuple[int, int]
    complete_response_discharge_days: tuple[int, int]
    late_imv_intubation_days: tuple[int, int]
    late_imv_extubation_days: tuple[int, int]
    late_discharge_after_extubation_days: tuple[int, int]
    late_hfnc_days: tuple[int, int]
    late_home_discharge_days: tuple[int, int]
    late_home_oxygen_end_days: tuple[int, int]
    late_hospital_oxygen_end_days: tuple[int, int]
    late_hospital_discharge_after_days: tuple[int, int]
    progression_interrupt_hours: Days
    progression_late_intubation_days: tuple[int, int]
    progression_death_days: tuple[int, int]


class Support(_F):
    at_start: dict[GroupName, dict[Literal["hfnc", "face_mask"], Fraction]]
    at_start_source: SourceRef
    at_start_note: str
    face_mask_fio2_complete_response: float = Field(ge=21, le=100)
    face_mask_fio2_source: SourceRef
    hospital_fio2_late: float = Field(ge=21, le=100)
    hospital_fio2_source: SourceRef
    imv_late_responder: Fraction
    imv_source: SourceRef
    late_state_at_8_weeks: dict[Literal["imv", "home_oxygen", "hospital_fio2_40"], Fraction]
    late_state_source: SourceRef
    timing: Timing
    timing_source: SourceRef

    @model_validator(mode="after")
    def _sums(self) -> Support:
        for g, fr in self.at_start.items():
            _check_fractions(f"support.at_start.{g}", {str(k): v for k, v in fr.items()})
        late = {str(k): v for k, v in self.late_state_at_8_weeks.items()}
        _check_fractions("support.late_state_at_8_weeks", late)
        if abs(self.late_state_at_8_weeks["imv"] - self.imv_late_responder) > 1e-9:
            raise ValueError("late responders on IMV at 8 weeks must equal those intubated")
        return self


class DemoLinks(_F):
    progression_comorbidities: tuple[str, ...]
    source: SourceRef


class Outcomes(_F):
    death_group: GroupName
    death_source: SourceRef
    progression_interrupted: Fraction
    progression_interrupted_n: int
    progression_interrupted_source: SourceRef
    demo_links: DemoLinks


class Imaging(_F):
    at_diagnosis: dict[GroupName, dict[str, Fraction]]
    at_8_weeks: dict[GroupName, dict[str, Fraction]]
    source: SourceRef
    note: str

    @model_validator(mode="after")
    def _sums(self) -> Imaging:
        for name, table in (("at_diagnosis", self.at_diagnosis), ("at_8_weeks", self.at_8_weeks)):
            for g, fr in table.items():
                _check_fractions(f"imaging.{name}.{g}", fr)
        return self


class SwabNegative(_F):
    complete_response: Fraction
    late_responder: Fraction
    progression: Fraction
    source: SourceRef
    note: str


class Toxicity(_F):
    suspended_thrombocytopenia: int = Field(ge=0)
    suspended_groups: tuple[GroupName, ...]
    demo_link_comorbidity: str
    source: SourceRef
    completed_quote: str
    nadir_day_choices: tuple[int, ...]
    nadir_value: Days
    nadir_width_days: float = Field(gt=0)
    model_source: SourceRef


class Phase(_F):
    first_day: int = Field(ge=1)
    last_day: int = Field(ge=1)
    dose_mg: float = Field(gt=0)
    frequency: Literal["QD", "BID"]


class Rule(_F):
    id: str
    code: Literal["plt", "anc"]
    below: float = Field(gt=0)
    action: Literal["stop", "halve"]
    reason: str
    source: SourceRef


class Regimen(_F):
    phases: tuple[Phase, ...]
    source: SourceRef
    rules: tuple[Rule, ...]
    semantics_source: SourceRef

    @model_validator(mode="after")
    def _contiguous(self) -> Regimen:
        day = 1
        for p in self.phases:
            if p.first_day != day or p.last_day < p.first_day:
                raise ValueError(f"phases must be contiguous from day 1 (phase at {p.first_day})")
            day = p.last_day + 1
        return self

    @property
    def days(self) -> int:
        return self.phases[-1].last_day


class GradeBand(_F):
    grade: int = Field(ge=1, le=5)
    below: float = Field(gt=0)


class CtcaeTerm(_F):
    code: Literal["plt", "anc"]
    grades: tuple[GradeBand, ...]


class Ctcae(_F):
    platelet_count_decreased: CtcaeTerm
    neutrophil_count_decreased: CtcaeTerm
    source: SourceRef
    stated_when: str


class TruncNormal(_F):
    """A normal distribution truncated to [low, high]."""

    mean: float
    sd: float = Field(gt=0)
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> TruncNormal:
        if not self.low < self.mean < self.high:
            raise ValueError("needs low < mean < high")
        return self


class BodyMarginals(_F):
    height_cm: dict[Literal["male", "female"], TruncNormal]
    bmi_kg_m2: dict[Literal["obese", "not_obese"], TruncNormal]
    weight_decimals: int = Field(ge=0, le=3)
    height_decimals: int = Field(ge=0, le=3)
    source: SourceRef


class CreatinineMonitoring(_F):
    cv: float = Field(gt=0, lt=1)
    decimals: int = Field(ge=0, le=3)
    source: SourceRef


class EligibilityFact(_F):
    value: Literal["true", "false"]
    at: Literal["covid_positive", "admission"]


class EligibilityFacts(_F):
    covid_pcr: EligibilityFact
    who_viral_pneumonia: EligibilityFact
    interventional_trial: EligibilityFact
    source: SourceRef


class Resolution(_F):
    """Resolution of hyperinflammation: the paper's count and how the generator meets it.

    ``study`` and ``derived`` name the study file and its ``marker_response`` variable whose
    definition (markers, time points, fraction, normal upper limits) the generator reads, so the
    demo is calibrated to the very definition the report computes. Exactly the patients of
    ``group`` meet it, among those with at least one marker altered at the start and measured
    at the end (``calibration_source``).
    """

    count: int = Field(ge=0)
    of: int = Field(gt=0)
    source: SourceRef
    study: str
    derived: str
    group: GroupName
    calibration_source: SourceRef


class Supplement(_F):
    """Variables drawn from a second random stream per block (added rows only)."""

    stream: int = Field(ge=1)
    body: BodyMarginals
    creatinine_monitoring: CreatinineMonitoring
    eligibility: EligibilityFacts
    mean_arterial_pressure: CountMarginal | None = None


class CalibrationTargets(_F):
    """Everything the generator is calibrated to, each fact with its source."""

    schema_version: Literal[1]
    id: str
    title: str
    sources: dict[str, Citation]
    cohort: Cohort
    groups: tuple[Group, ...]
    sex: Sex
    age: Age
    blood_group: BloodGroup
    comorbidities: tuple[Condition, ...]
    comorbidity_free: CountWithSource
    prior_treatment: PriorTreatment
    admission_to_start: AdmissionToStart
    early_start: EarlyStart
    time_points: dict[TimePoint, TimePointSpec]
    time_points_source: SourceRef
    markers: tuple[Marker, ...]
    counts: Counts
    other_labs: OtherLabs
    sf_ratio: SfRatio
    resolution: Resolution | None = None
    inflammation_model: InflammationModel
    support: Support
    outcomes: Outcomes
    imaging: Imaging
    swab_negative: SwabNegative
    toxicity: Toxicity
    regimen: Regimen
    ctcae: Ctcae
    supplement: Supplement

    @model_validator(mode="after")
    def _cross_checks(self) -> CalibrationTargets:
        if tuple(g.name for g in self.groups) != GROUPS:
            raise ValueError(f"groups must be {list(GROUPS)} in that order")
        if sum(g.n for g in self.groups) != self.cohort.n:
            raise ValueError("group sizes do not add up to cohort.n")
        if self.sex.male + self.sex.female != self.cohort.n:
            raise ValueError("sex counts do not add up to cohort.n")
        by_group = self.sex.by_group_exact
        for g in self.groups:
            c = by_group[g.name]
            if c.male + c.female != g.n:
                raise ValueError(f"sex.by_group_exact.{g.name} does not add up to {g.n}")
        if sum(c.male for c in by_group.values()) != self.sex.male:
            raise ValueError("sex.by_group_exact does not add up to sex.male")
        bg = sum(self.blood_group.counts.values()) + self.blood_group.not_available
        if bg != self.cohort.n:
            raise ValueError("blood group counts do not add up to cohort.n")
        if set(self.time_points) != set(TIME_POINTS):
            raise ValueError(f"time_points must be {list(TIME_POINTS)}")
        names = [c.name for c in self.comorbidities]
        for link in self.outcomes.demo_links.progression_comorbidities:
            if link not in names:
                raise ValueError(f"demo link names unknown comorbidity {link}")
        if self.resolution is not None:
            r = self.resolution
            if self.group(r.group).n != r.count or r.of != self.cohort.n:
                raise ValueError(
                    f"resolution: {r.count} of {r.of} is not group {r.group} "
                    f"({self.group(r.group).n} of {self.cohort.n})"
                )
        missing = sorted(k for k in _source_keys(self) if k not in self.sources)
        if missing:
            raise ValueError(f"source keys used but not listed under sources: {missing}")
        return self

    def group(self, name: GroupName) -> Group:
        """The group called ``name``."""
        for g in self.groups:
            if g.name == name:
                return g
        raise KeyError(name)

    def marker(self, code: str) -> Marker:
        """The Table 2 marker with catalogue code ``code``."""
        for m in self.markers:
            if m.code == code:
                return m
        raise KeyError(code)


def _source_keys(model: object) -> list[str]:
    out: list[str] = []
    if isinstance(model, SourceRef):
        out.append(model.key)
    elif isinstance(model, BaseModel):
        for name in type(model).model_fields:
            out.extend(_source_keys(getattr(model, name)))
    elif isinstance(model, tuple | list):
        for item in model:
            out.extend(_source_keys(item))
    elif isinstance(model, dict):
        for item in model.values():
            out.extend(_source_keys(item))
    return out


def _build(path: Path) -> tuple[CalibrationTargets, str]:
    data = load_yaml(path)
    try:
        model = CalibrationTargets.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise KnowledgeFileError(str(path), problems) from exc
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return model, digest


@cache
def _packaged() -> tuple[CalibrationTargets, str]:
    return _build(knowledge_path(TARGETS_FILE))


def load_targets(path: str | Path | None = None) -> CalibrationTargets:
    """Load the generator's calibration targets (the packaged file by default, cached).

    Parameters
    ----------
    path
        A targets file of the same shape to use instead of the packaged one (not cached).

    Returns
    -------
    CalibrationTargets
        Group sizes, Table 1 and Table 2 marginals, Table 3 and 4 proportions, the regimen and
        every modelling choice, each with its source.

    Raises
    ------
    KnowledgeFileError
        When the file is missing, not YAML, or breaks the schema (the message names the field).

    Examples
    --------
    >>> t = load_targets()
    >>> [g.n for g in t.groups]
    [10, 5, 3]
    >>> t.marker("ferritin").at["admission"].median
    2557.0
    """
    if path is None:
        return _packaged()[0]
    return _build(Path(path))[0]


def targets_digest(path: str | Path | None = None) -> str:
    """SHA-256 of the targets file (recorded in every generated folder's manifest)."""
    if path is None:
        return _packaged()[1]
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
