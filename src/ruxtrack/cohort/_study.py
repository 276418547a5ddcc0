"""The study definition: a YAML file validated by pydantic (documented in docs/cohort.md).

A study names its population, its index anchor, the time points at which markers are read, the
markers with their reference limits, the variables derived per patient, the groups, and the
tables, analyses and figures to produce. Every fact a study encodes (a normal range, a cut-off, a
group rule) carries a ``source`` like every other knowledge file.
"""

from __future__ import annotations

import math
import re
import string
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ruxtrack.cohort._omop_spec import OmopStudySpec
from ruxtrack.errors import KnowledgeFileError
from ruxtrack.knowledge import Citation, SourceRef, knowledge_path, load_yaml, validate_knowledge

__all__ = [
    "AnalysisSpec",
    "Condition",
    "DerivedVar",
    "FigureSpec",
    "GroupSpec",
    "MarkerSpec",
    "Study",
    "TableRow",
    "TableSpec",
    "TimePoint",
    "available_studies",
    "load_study",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
Ident = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
_EVENT_REF = re.compile(r"^(index|[a-z][a-z0-9_]*)(#[1-9][0-9]*)?$")


def _check_event_ref(value: str) -> str:
    if not _EVENT_REF.match(value):
        raise ValueError(f'"{value}" is not an event reference (event, event#N or index)')
    return value


class _M(BaseModel):
    model_config = _FROZEN


class Criterion(_M):
    """One inclusion or exclusion rule, evaluated per patient on the extracted features."""

    label: str
    when: Condition
    source: SourceRef | None = None


class Population(_M):
    """Who is in the cohort: every ``include`` holds and no ``exclude`` holds.

    A rule whose inputs are missing for a patient is counted under ``unknown`` in the flow: an
    inclusion rule that cannot be shown to hold leaves the patient out; an exclusion rule that
    cannot be shown to hold does not remove them.
    """

    include: tuple[Criterion, ...] = ()
    exclude: tuple[Criterion, ...] = ()


class TimePoint(_M):
    """A named time point: ``anchor`` + ``offset_days``, read within ``window_days`` around it.

    The value used is the one nearest the target instant inside the window; on a tie the earlier
    one (``tie: earlier``) or the later one (``tie: later``).
    """

    name: Ident
    label: str
    anchor: str
    offset_days: float = 0.0
    window_days: tuple[float, float] = Field(
        description="(before, after) in days around the target; before is <= 0, after is >= 0"
    )
    tie: Literal["earlier", "later"] = "earlier"
    source: SourceRef | None = None

    @model_validator(mode="after")
    def _window(self) -> TimePoint:
        _check_event_ref(self.anchor)
        lo, hi = self.window_days
        if not (math.isfinite(lo) and math.isfinite(hi) and math.isfinite(self.offset_days)):
            raise ValueError("window_days and offset_days must be finite numbers of days")
        if lo > 0 or hi < 0:
            raise ValueError("window_days is (before <= 0, after >= 0) around the target")
        return self


class NormalRange(_M):
    """A reference range as printed in the source (``text``) with its numbers in ``unit``."""

    low: float | None = None
    high: float | None = None
    text: str
    flag: str | None = Field(
        default=None, description="why the printed range looks wrong, if it does"
    )


class MarkerSpec(_M):
    """A lab marker read at the time points: catalogue code, unit used, display and normal range."""

    code: Ident
    label: str
    unit: str = Field(description="canonical unit of the data (the lab catalogue's unit)")
    display_unit: str | None = Field(default=None, description="unit as the source prints it")
    display_factor: float = Field(default=1.0, gt=0, description="display value = value × factor")
    normal: NormalRange | None = None
    source: SourceRef | None = None


class Condition(_M):
    """A boolean rule over feature columns.

    Exactly one of: a comparison (``var`` + ``op`` [+ ``value``]), ``all``, ``any`` or ``not_``.
    A comparison on a missing value is missing (three-valued logic): missing is never "false".
    """

    var: str | None = None
    op: (
        Literal["eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "is_null", "not_null"] | None
    ) = None
    value: float | int | str | bool | tuple[float | int | str | bool, ...] | None = None
    all: tuple[Condition, ...] | None = None
    any: tuple[Condition, ...] | None = None
    not_: Condition | None = Field(default=None, alias="not")

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _one_form(self) -> Condition:
        forms = sum(x is not None for x in (self.var, self.all, self.any, self.not_))
        if forms != 1:
            raise ValueError("a condition is exactly one of: var/op/value, all, any, not")
        if self.var is not None:
            if self.op is None:
                raise ValueError(f"condition on {self.var} needs an op")
            needs_value = self.op not in ("is_null", "not_null")
            if needs_value and self.value is None:
                raise ValueError(f"op {self.op} on {self.var} needs a value")
            if self.op in ("in", "not_in") and not isinstance(self.value, tuple):
                raise ValueError(f"op {self.op} on {self.var} needs a list value")
        return self

    def variables(self) -> set[str]:
        """Every feature column the condition reads."""
        out: set[str] = set()
        if self.var is not None:
            out.add(self.var)
        for sub in (*(self.all or ()), *(self.any or ()), *((self.not_,) if self.not_ else ())):
            out |= sub.variables()
        return out


class CaseRule(_M):
    """One branch of a ``cases`` variable."""

    value: str
    when: Condition


class DerivedVar(_M):
    """One per-patient variable computed from the extracted features (see docs/cohort.md).

    ``kind`` selects the rule; the other fields are its parameters:

    * ``days_between``: days from event ``start`` to event ``end`` (``index`` is the anchor);
    * ``condition``: a boolean ``when`` (missing stays missing);
    * ``bins``: a category from ``var`` by right-open ``edges`` with ``labels``;
    * ``marker_altered``: ``marker`` at ``at`` above its normal ``high``;
    * ``relative_change``: (``marker`` at ``to`` − at ``start``) / at ``start``;
    * ``ratio``: ``marker`` / ``denominator`` at ``at``, times ``factor`` (SpO2/FiO2 with FiO2
      in % has factor 100); missing when the denominator is missing or 0. ``denominator: fio2``
      with ``at`` in ``extract.support_at`` reads the FiO2 of that day's support;
    * ``marker_fall``: relative fall from ``start`` to ``to`` greater than ``fraction``;
    * ``marker_response``: every ``markers`` entry altered at ``start`` (with data at ``to``) fell
      by more than ``fraction`` or is within its normal range at ``to``; missing when no marker was
      altered with data;
    * ``category_map``: ``var`` mapped through ``mapping`` (unmapped values stay as they are);
    * ``cases``: the ``value`` of the first of ``cases`` whose ``when`` holds, else ``var``'s value.
    """

    name: Ident
    label: str
    kind: Literal[
        "days_between",
        "condition",
        "bins",
        "marker_altered",
        "relative_change",
        "ratio",
        "marker_fall",
        "marker_response",
        "category_map",
        "cases",
    ]
    start: str | None = None
    end: str | None = None
    when: Condition | None = None
    var: str | None = None
    edges: tuple[float, ...] | None = None
    labels: tuple[str, ...] | None = None
    marker: str | None = None
    denominator: str | None = None
    factor: float = 1.0
    markers: tuple[str, ...] | None = None
    at: str | None = None
    to: str | None = None
    fraction: float | None = Field(default=None, gt=0, lt=1)
    mapping: dict[str, str] | None = None
    cases: tuple[CaseRule, ...] | None = None
    source: SourceRef | None = None

    @model_validator(mode="after")
    def _params(self) -> DerivedVar:
        need: dict[str, tuple[str, ...]] = {
            "days_between": ("start", "end"),
            "condition": ("when",),
            "bins": ("var", "edges", "labels"),
            "marker_altered": ("marker", "at"),
            "relative_change": ("marker", "start", "to"),
            "ratio": ("marker", "denominator", "at"),
            "marker_fall": ("marker", "start", "to", "fraction"),
            "marker_response": ("markers", "start", "to", "fraction"),
            "category_map": ("var", "mapping"),
            "cases": ("cases",),
        }
        missing = [f for f in need[self.kind] if getattr(self, f) is None]
        if missing:
            raise ValueError(f"derived {self.name} ({self.kind}) needs: {', '.join(missing)}")
        if self.kind == "days_between":
            _check_event_ref(str(self.start))
            _check_event_ref(str(self.end))
        if self.kind == "bins":
            assert self.edges is not None and self.labels is not None
            if len(self.labels) != len(self.edges) + 1:
                raise ValueError(f"bins {self.name}: n edges needs n + 1 labels")
            if list(self.edges) != sorted(set(self.edges)):
                raise ValueError(f"bins {self.name}: edges must increase strictly")
        return self


class ExtractSpec(_M):
    """What to read per patient from the long tables besides markers."""

    events: tuple[str, ...] = Field(
        default=(), description="events whose day from the index is extracted (day_<event>)"
    )
    support_at: tuple[str, ...] = Field(
        default=(),
        description="time points at which the most intensive respiratory support is read",
    )
    assessments: tuple[AssessmentRead, ...] = ()
    drugs_before_index: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="flag name -> drug names: any of them started before the index",
    )
    worst_grade: tuple[WorstGrade, ...] = ()
    comorbidities: tuple[str, ...] = Field(
        default=(), description="comorbidity names turned into yes/no columns (comorb_<name>)"
    )
    follow_up_days: float = Field(
        default=120, gt=0, description="administrative censoring of time-to-event from the index"
    )
    drugs_lookback_days: float | None = Field(
        default=None,
        gt=0,
        description="drugs_before_index counts only drugs started within this many days before "
        "the index (None: any time before)",
    )
    follow_up_source: SourceRef | None = None


class AssessmentRead(_M):
    """An assessment value read at a time point (nearest in window, tie rule of the time point)."""

    name: Ident
    label: str
    kind: Ident
    at: str
    code: str | None = None


class WorstGrade(_M):
    """The highest numeric grade of ``kind`` assessments (e.g. ``ctcae_grade``) over a window."""

    name: Ident
    label: str
    kind: Ident = "ctcae_grade"
    code: str | None = Field(default=None, description="CTCAE term; None: any term")
    from_days: float = 0
    to_days: float


class GroupLevel(_M):
    value: str
    label: str


class GroupRule(_M):
    level: str
    when: Condition


class GroupSpec(_M):
    """Outcome groups, given in the data (``response_group`` assessments) or derived by rules."""

    source: Literal["assessment", "rules"]
    kind: Ident = "response_group"
    levels: tuple[GroupLevel, ...]
    rules: tuple[GroupRule, ...] = ()
    otherwise: str | None = None
    ref: SourceRef | None = Field(default=None, alias="source_ref")

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _levels(self) -> GroupSpec:
        values = [lv.value for lv in self.levels]
        if len(set(values)) != len(values):
            raise ValueError("group levels must be unique")
        if self.source == "rules":
            if not self.rules:
                raise ValueError("groups from rules need rules")
            for r in self.rules:
                if r.level not in values:
                    raise ValueError(f"rule level {r.level} is not a declared level")
            if self.otherwise is not None and self.otherwise not in values:
                raise ValueError(f"otherwise {self.otherwise} is not a declared level")
        return self


class TableRow(_M):
    """One row block of a table.

    ``stat``: ``median_range`` (median with range and IQR), ``counts`` (n per level),
    ``flags`` (n of each yes/no column in ``vars``), ``percent`` (percent per level),
    ``percent_true`` (percent yes), ``distribution`` (levels with percent in one cell).
    """

    var: str | None = None
    vars: tuple[str, ...] | None = None
    label: str
    stat: Literal["median_range", "counts", "flags", "percent", "percent_true", "distribution"]
    level_labels: dict[str, str] = Field(default_factory=dict)
    missing_label: str | None = Field(
        default=None, description="show missing values as this level (else: left out, n shown)"
    )
    display_factor: float = 1.0
    unit: str | None = None
    test: Literal["auto", "none", "fisher", "kruskal", "mann_whitney"] = "auto"
    header: str | None = Field(default=None, description="a spanning column header (Table 4)")

    @model_validator(mode="after")
    def _var(self) -> TableRow:
        if (self.var is None) == (self.vars is None):
            raise ValueError(f"row {self.label!r}: give var or vars")
        if self.stat == "flags" and self.vars is None:
            raise ValueError(f"row {self.label!r}: flags needs vars")
        return self


class TableSpec(_M):
    """A table to produce: ``summary`` (one column), ``markers_over_time`` or ``by_group``."""

    id: Ident
    title: str
    kind: Literal["summary", "markers_over_time", "by_group"]
    rows: tuple[TableRow, ...] = ()
    markers: tuple[str, ...] = ()
    time_points: tuple[str, ...] = ()
    footnote: str | None = None
    source: SourceRef | None = None


class AnalysisSpec(_M):
    """A further analysis.

    ``kind``: ``cumulative_incidence`` (Aalen–Johansen of ``event`` with ``competing``),
    ``kaplan_meier`` (time to ``event``), ``logistic_firth`` (``outcome`` on ``predictors``),
    ``kruskal_wallis`` (``var`` across groups; the Wilcoxon rank-sum test when only two groups
    have data), ``proportion`` (``var`` yes, with its interval). ``by_group`` (the study's
    groups) or ``by`` (a feature): time-to-event curves per group instead of one for the
    cohort, compared by Gray's test or the log-rank test.
    """

    id: Ident
    title: str
    kind: Literal[
        "cumulative_incidence", "kaplan_meier", "logistic_firth", "kruskal_wallis", "proportion"
    ]
    event: str | None = None
    competing: tuple[str, ...] = ()
    outcome: Condition | None = None
    outcome_label: str | None = None
    predictors: tuple[str, ...] = ()
    var: str | None = None
    by_group: bool = False
    by: str | None = Field(
        default=None,
        description="time-to-event curves per value of this feature (e.g. early_start), "
        "compared by Gray's test (cumulative incidence) or the log-rank test (Kaplan-Meier)",
    )
    horizon_days: float | None = None
    time_resolution_days: Annotated[float, Field(gt=0)] | None = Field(
        default=None,
        description="round event and censoring times up to this resolution (1: whole days from "
        "the index, as discharge and death are recorded per day); bounds the number of distinct "
        "times, and so the size of the curves, in large cohorts",
    )
    source: SourceRef | None = None

    @model_validator(mode="after")
    def _params(self) -> AnalysisSpec:
        if self.kind in ("cumulative_incidence", "kaplan_meier") and self.event is None:
            raise ValueError(f"analysis {self.id} needs event")
        if self.kind == "logistic_firth" and (self.outcome is None or not self.predictors):
            raise ValueError(f"analysis {self.id} needs outcome and predictors")
        if self.kind in ("kruskal_wallis", "proportion") and self.var is None:
            raise ValueError(f"analysis {self.id} needs var")
        if self.by is not None and self.by_group:
            raise ValueError(f"analysis {self.id}: by_group and by exclude each other")
        return self


#: Patients drawn one by one when a figure does not say (``draw_limit``): a swimmer plot of more
#: than about 60 lanes is unreadable on a page, a spaghetti plot of more than a few hundred lines
#: is a smear (project judgement, docs/cohort.md).
DEFAULT_DRAW_LIMIT: dict[str, int] = {"swimmer": 60, "trajectories": 200}


class FigureSpec(_M):
    """A figure: ``course`` (per patient, seed 000 Figure 2 style), ``trajectories``, ``swimmer``,
    ``cumulative_incidence`` (of an analysis) or ``criteria_timeline``."""

    id: Ident
    title: str
    kind: Literal["course", "trajectories", "swimmer", "cumulative_incidence", "criteria_timeline"]
    markers: tuple[str, ...] = ()
    panels: tuple[tuple[str, ...], ...] = ()
    drugs: tuple[str, ...] = ()
    patients: tuple[str, ...] = Field(default=(), description="patient ids; empty: every patient")
    anchor: str = "index"
    anchor_label: str | None = None
    days: tuple[float, float] | None = None
    log_scale: bool = True
    analysis: str | None = None
    criteria: tuple[str, ...] = ()
    max_patients: int = Field(default=30, ge=1)
    draw_limit: int | None = Field(
        default=None,
        ge=1,
        description=(
            "swimmer / trajectories: most patients drawn individually; larger cohorts show a "
            "seeded random sample (the study's sample_seed). None: DEFAULT_DRAW_LIMIT of the kind"
        ),
    )

    def patients_drawn(self) -> int | None:
        """The most patients this figure draws one by one (None: no limit for its kind)."""
        return self.draw_limit if self.draw_limit is not None else DEFAULT_DRAW_LIMIT.get(self.kind)


class WideMapping(_M):
    """How a wide spreadsheet (one row per patient) maps to features.

    ``columns`` maps a feature name to a column; marker cells default to ``pattern`` with
    ``{marker}`` and ``{time_point}`` (``ferritin_start``).
    """

    patient_id: str = "patient_id"
    pattern: str = "{marker}_{time_point}"
    columns: dict[str, str] = Field(default_factory=dict)
    sheet: str | int = 0

    @model_validator(mode="after")
    def _pattern(self) -> WideMapping:
        try:
            parsed = string.Formatter().parse(self.pattern)
            fields = [f for _, f, _, _ in parsed if f is not None]
        except ValueError as exc:
            raise ValueError(f"pattern {self.pattern!r} is not a column pattern: {exc}") from exc
        unknown = [f for f in fields if f not in ("marker", "time_point")]
        if unknown or "marker" not in fields or "time_point" not in fields:
            raise ValueError(
                f"pattern {self.pattern!r} must use {{marker}} and {{time_point}} and nothing "
                "else (e.g. {marker}_{time_point})"
            )
        return self


class Study(_M):
    """A study definition (see docs/cohort.md for every field)."""

    study: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")]
    title: str
    description: str | None = None
    sources: dict[str, Citation]
    source: SourceRef
    population: Population = Population()
    index: str = Field(default="rux_start", description="the index anchor event (day 0)")
    time_points: tuple[TimePoint, ...]
    baseline: str = Field(description="the time point used as baseline")
    markers: tuple[MarkerSpec, ...]
    extract: ExtractSpec = ExtractSpec()
    derived: tuple[DerivedVar, ...] = ()
    groups: GroupSpec | None = None
    tables: tuple[TableSpec, ...] = ()
    analyses: tuple[AnalysisSpec, ...] = ()
    figures: tuple[FigureSpec, ...] = ()
    wide: WideMapping = WideMapping()
    omop: OmopStudySpec | None = Field(
        default=None, description="concept ids read when the study runs on an OMOP CDM"
    )
    alpha: float = Field(default=0.05, gt=0, lt=1)
    alpha_source: SourceRef | None = None
    proportion_ci: Literal["wilson", "clopper-pearson"] = Field(
        default="wilson",
        description="95 % interval of every n (%) cell: Wilson score or Clopper-Pearson exact",
    )
    exact_test_max_n: int = Field(
        default=200,
        ge=0,
        description=(
            "largest number of patients in a groups x levels table tested with Fisher's exact "
            "test (2x2 or r x c); larger tables get Pearson's chi-squared test"
        ),
    )
    exact_test_source: SourceRef | None = None
    sample_seed: int = Field(
        default=1,
        ge=0,
        description="seed of the random sample of patients drawn in swimmer / trajectory figures",
    )

    @model_validator(mode="after")
    def _refs(self) -> Study:
        _check_event_ref(self.index)
        tps = {tp.name for tp in self.time_points}
        if len(tps) != len(self.time_points):
            raise ValueError("time point names must be unique")
        if self.baseline not in tps:
            raise ValueError(f"baseline {self.baseline} is not a time point")
        markers = {m.code for m in self.markers}
        if len(markers) != len(self.markers):
            raise ValueError("marker codes must be unique")
        for key_holder in self._source_refs():
            if key_holder.key not in self.sources:
                raise ValueError(f"source key {key_holder.key} is not in sources")
        for d in self.derived:
            support_fio2 = d.denominator == "fio2" and d.at in self.extract.support_at
            for m in (d.marker, None if support_fio2 else d.denominator, *(d.markers or ())):
                if m is not None and m not in markers:
                    raise ValueError(f"derived {d.name}: marker {m} is not declared")
            for tp in (d.at, d.to) if d.kind != "days_between" else ():
                if tp is not None and tp not in tps:
                    raise ValueError(f"derived {d.name}: time point {tp} is not declared")
            if (
                d.kind in ("relative_change", "marker_fall", "marker_response")
                and d.start not in tps
            ):
                raise ValueError(f"derived {d.name}: time point {d.start} is not declared")
        for tp_name in self.extract.support_at:
            if tp_name not in tps:
                raise ValueError(f"extract.support_at: {tp_name} is not a time point")
        for a in self.extract.assessments:
            if a.at not in tps:
                raise ValueError(f"extract.assessments {a.name}: {a.at} is not a time point")
        for t in self.tables:
            for m in t.markers:
                if m not in markers:
                    raise ValueError(f"table {t.id}: marker {m} is not declared")
            for tp_name in t.time_points:
                if tp_name not in tps:
                    raise ValueError(f"table {t.id}: time point {tp_name} is not declared")
        ids = [t.id for t in self.tables] + [a.id for a in self.analyses]
        ids += [f.id for f in self.figures]
        if len(set(ids)) != len(ids):
            raise ValueError("table, analysis and figure ids must be unique")
        analyses = {a.id for a in self.analyses}
        for f in self.figures:
            if f.kind == "cumulative_incidence" and f.analysis not in analyses:
                raise ValueError(f"figure {f.id}: analysis {f.analysis} is not declared")
        return self

    def _source_refs(self) -> list[SourceRef]:
        refs: list[SourceRef] = [self.source]
        refs += [
            r
            for r in (self.alpha_source, self.exact_test_source, self.extract.follow_up_source)
            if r is not None
        ]
        for group in (self.time_points, self.markers, self.derived, self.tables, self.analyses):
            refs += [x.source for x in group if x.source is not None]
        refs += [c.source for c in (*self.population.include, *self.population.exclude) if c.source]
        if self.groups is not None and self.groups.ref is not None:
            refs.append(self.groups.ref)
        return refs

    def marker(self, code: str) -> MarkerSpec:
        """The marker spec for ``code``."""
        for m in self.markers:
            if m.code == code:
                return m
        raise KeyError(code)

    def time_point(self, name: str) -> TimePoint:
        """The time point named ``name``."""
        for tp in self.time_points:
            if tp.name == name:
                return tp
        raise KeyError(name)


Criterion.model_rebuild()
CaseRule.model_rebuild()
DerivedVar.model_rebuild()
Condition.model_rebuild()
ExtractSpec.model_rebuild()
Study.model_rebuild()

_STUDIES_DIR = "studies"


def available_studies() -> dict[str, Path]:
    """Shipped studies, by name (the file stem)."""
    root = knowledge_path(_STUDIES_DIR)
    return {p.stem: p for p in sorted(root.glob("*.yaml"))}


def load_study(name_or_path: str | Path) -> Study:
    """Load a shipped study by name (``sarmiento-2021``) or a study YAML by path.

    Raises
    ------
    KnowledgeFileError
        Naming the file and the field when the study is missing or invalid.

    Examples
    --------
    >>> load_study("sarmiento-2021").index
    'rux_start'
    """
    path = Path(name_or_path)
    if not path.exists():
        shipped = available_studies()
        if str(name_or_path) not in shipped:
            names = ", ".join(shipped) or "none"
            raise KnowledgeFileError(
                str(name_or_path), f"no such study file or shipped study (shipped: {names})"
            )
        path = shipped[str(name_or_path)]
    return validate_knowledge(Study, load_yaml(path), path)
