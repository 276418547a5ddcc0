"""One decision: the array evaluator on one row, explained (dose, why, sources, alerts, "
"monitoring)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ruxtrack.knowledge import SourceRef, VerificationStatus
from ruxtrack.protocol._engine import ACTIONS, ArrayDecisions, evaluate_columns
from ruxtrack.protocol._inputs import (
    DecisionInputs,
    LabReading,
    TimeLabels,
    human,
    inputs_from_timeline,
    to_columns,
)
from ruxtrack.protocol._schema import (
    LAB_CODES,
    SCORE_CODES,
    Administration,
    Regimen,
    Rule,
    load_regimen,
)
from ruxtrack.timeline import Timeline

__all__ = [
    "EXPLAINERS",
    "Action",
    "AlertCode",
    "AlertItem",
    "Decision",
    "DoseOut",
    "Explanation",
    "InputUsed",
    "IntervalOut",
    "MonitoringDue",
    "RationaleEntry",
    "Severity",
    "SourceOut",
    "TeamAction",
    "decide",
    "decide_inputs",
    "decide_many",
]


class Action(StrEnum):
    """What the regimen says about today's dose (stable codes; wording is in the renderers)."""

    start = "start"
    continue_ = "continue"
    reduce = "reduce"
    hold = "hold"
    resume = "resume"
    discontinue = "discontinue"
    complete = "complete"
    not_eligible = "not_eligible"
    no_recommendation = "no_recommendation"


_FROZEN = ConfigDict(frozen=True, extra="forbid")
_ALERT_ONLY = " (recorded as an alert only, as the regimen file declares)"
_MONITOR_ONLY = " (a monitoring rule: it never withholds the dose)"
_UNVERIFIED = (
    " [UNVERIFIED: this rule rests on a fact not confirmed against the label; check the "
    "current label before relying on it]"
)


class IntervalOut(BaseModel):
    """An interval input (a clinician-stated CTCAE grade): bounds (None = unbounded) and text."""

    model_config = _FROZEN

    low: float | None
    low_inclusive: bool
    high: float | None
    high_inclusive: bool
    text: str
    grade: int
    term: str


class InputUsed(BaseModel):
    """A value a rule read: canonical value and unit, when it was measured, what was received.

    ``time`` is an ISO date-time, or ``hsct#2+131d`` on a timeline recorded in relative days.
    An interval input has ``value`` None and ``interval`` set, with ``basis`` saying where it
    comes from.
    """

    model_config = _FROZEN

    name: str
    value: bool | int | float | str | None
    unit: str | None = None
    time: str | None = None
    received: str | None = None
    status: str = "ok"
    interval: IntervalOut | None = None
    basis: str | None = None

    def text(self) -> str:
        """``plt=85 10*9/L (2020-05-03T06:00)``, numbers rounded for people."""
        if self.interval is not None:
            shown = self.interval.text
        elif isinstance(self.value, float):
            shown = human(self.value)
        elif self.value is None:
            shown = "?"
        else:
            shown = str(self.value).lower() if isinstance(self.value, bool) else str(self.value)
        out = f"{self.name}={shown}{' ' + self.unit if self.unit else ''}"
        if self.basis:
            out += f" {self.basis}"
        elif self.time:
            out += f" ({self.time})"
        if self.status != "ok":
            out += f" [{self.status}]"
        return out


class RationaleEntry(BaseModel):
    """A rule (or engine step) that fired, the inputs it used and its source."""

    model_config = _FROZEN

    rule: str
    text: str
    effect: str
    inputs: tuple[InputUsed, ...] = ()
    source: str
    status: VerificationStatus
    citation: str | None = None
    fired: bool = False  # a rule of the regimen that fired (else an engine step or a statement)


class DoseOut(BaseModel):
    """One administration of the day."""

    model_config = _FROZEN

    slot: str
    dose_mg: float
    note: str | None = None


class TeamAction(BaseModel):
    """Something for the team to do (transfuse, no G-CSF) or an option the source allows."""

    model_config = _FROZEN

    kind: Literal["action", "option"]
    text: str
    rule: str
    source: str


class MonitoringCode(StrEnum):
    """Why a monitoring item is listed: stable codes for renderers, replay and the EHR card."""

    required_input_now = "required_input_now"  # a required lab is missing or stale: needed now
    required_input_next = "required_input_next"  # a required lab is fresh: needed again by a date
    required_input_window = "required_input_window"  # ad hoc value: its freshness window
    rule_monitoring = "rule_monitoring"  # a rule that fired asks for monitoring
    regimen_schedule = "regimen_schedule"  # the regimen's own monitoring schedule


class MonitoringDue(BaseModel):
    """A test due, and by when (``due`` is an ISO date, ``now``, or a schedule text).

    ``code`` says why it is listed; the typed parameters say what and when: ``input`` (the
    input catalogue's code, for required labs), ``due_date`` (a calendar date when one is
    known; never on a course recorded in relative days, whose dates are nominal),
    ``max_age_days`` (the freshness window) and ``rule`` (the rule that asks for it).
    """

    model_config = _FROZEN

    what: str
    due: str
    reason: str
    source: str
    code: MonitoringCode = MonitoringCode.regimen_schedule
    input: str | None = None
    due_date: date | None = None
    max_age_days: int | None = None
    rule: str | None = None


class AlertCode(StrEnum):
    """What an alert is about: stable codes that replay, audit and renderers test (never text)."""

    before_course = "before_course"
    schedule_day_unknown = "schedule_day_unknown"
    bsa_unknown = "bsa_unknown"
    dose_not_a_level = "dose_not_a_level"
    current_dose_unknown = "current_dose_unknown"
    population_outside = "population_outside"
    population_unknown = "population_unknown"
    eligibility_not_met = "eligibility_not_met"
    eligibility_unknown = "eligibility_unknown"
    required_input_unusable = "required_input_unusable"
    rule_alert = "rule_alert"
    rule_no_recommendation = "rule_no_recommendation"
    rule_input_unknown = "rule_input_unknown"
    interval_straddles_threshold = "interval_straddles_threshold"
    hold_max_exceeded = "hold_max_exceeded"
    stopped_no_restart = "stopped_no_restart"
    unexplained_interruption = "unexplained_interruption"
    bsa_modification = "bsa_modification"
    above_maximum = "above_maximum"
    not_whole_tablet = "not_whole_tablet"
    start_band_caution = "start_band_caution"
    discontinue_today = "discontinue_today"
    hold_today = "hold_today"
    not_eligible_today = "not_eligible_today"
    no_recommendation = "no_recommendation"
    note = "note"


class AlertItem(BaseModel):
    """Something the prescriber must see: a stable ``code``, the rule it concerns, and text.

    Typed parameters beside the code: ``input`` (the input catalogue's code the alert is about)
    and ``input_status`` (why that input cannot be used: missing, stale, unconvertible ...).
    """

    model_config = _FROZEN

    code: AlertCode
    severity: Literal["critical", "warning", "info"]
    text: str
    rule: str | None = None
    input: str | None = None
    input_status: str | None = None


class SourceOut(BaseModel):
    """A source key used by the decision, expanded: ``S2`` -> its citation and link."""

    model_config = _FROZEN

    key: str
    citation: str
    url: str | None = None


Severity = Literal["critical", "warning", "info"]


class Decision(BaseModel):
    """What to give today and why (the JSON form is documented in docs/protocol.md)."""

    model_config = _FROZEN

    regimen_id: str
    regimen_version: str
    patient_id: str | None
    date: str | None
    day: int | None
    action: Action
    administrations: tuple[DoseOut, ...]
    daily_total_mg: float
    scheduled_daily_mg: float | None
    current_daily_mg: float | None
    actions: tuple[TeamAction, ...]
    monitoring: tuple[MonitoringDue, ...]
    alerts: tuple[AlertItem, ...]
    rationale: tuple[RationaleEntry, ...]
    time: str | None = None
    time_basis: Literal["absolute", "relative"] = "absolute"
    regimen_title: str = ""
    severity: Severity = "info"
    checked_rules: tuple[str, ...] = ()
    sources: tuple[SourceOut, ...] = ()
    first_dose: bool = False  # nothing given yet: the starting dose is decided

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON object (plain types only)."""
        return self.model_dump(mode="json")


# -- helpers -----------------------------------------------------------------------------------


def _num(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat(timespec="minutes")


def _lab_input(r: LabReading, labels: TimeLabels | None = None) -> InputUsed:
    labels = labels or TimeLabels()
    interval = None
    if r.interval is not None:
        iv = r.interval
        interval = IntervalOut(
            low=None if math.isinf(iv.low) else iv.low,
            low_inclusive=iv.low_inclusive,
            high=None if math.isinf(iv.high) else iv.high,
            high_inclusive=iv.high_inclusive,
            text=iv.text(),
            grade=iv.grade,
            term=iv.term,
        )
    return InputUsed(
        name=r.code,
        value=r.value if r.status == "ok" else None,
        unit=r.unit or None,
        time=labels.instant(r.time),
        received=r.received,
        status=r.status if r.detail is None or r.status == "ok" else f"{r.status}: {r.detail}",
        interval=interval,
        basis=r.basis,
    )


def _rule_text(rule_text: str, ref: SourceRef) -> str:
    return rule_text + (_UNVERIFIED if ref.status is VerificationStatus.unverified else "")


def _citation(regimen: Regimen, ref: SourceRef) -> str | None:
    c = regimen.sources.get(ref.key)
    return None if c is None else c.citation


def _entry(
    regimen: Regimen,
    rule: str,
    text: str,
    effect: str,
    ref: SourceRef,
    inputs: Sequence[InputUsed] = (),
) -> RationaleEntry:
    return RationaleEntry(
        rule=rule,
        text=_rule_text(text, ref),
        effect=effect,
        inputs=tuple(inputs),
        source=ref.label(),
        status=ref.status,
        citation=_citation(regimen, ref),
    )


def _inputs_for(rule_when: Any, x: DecisionInputs) -> list[InputUsed]:
    out: list[InputUsed] = []
    for name, _ in rule_when.numeric_clauses():
        if name in LAB_CODES:
            r = x.labs.get(name)
            out.append(
                _lab_input(r, x.labels) if r else InputUsed(name=name, value=None, status="missing")
            )
        elif name.endswith("_fall_pct"):
            lab = name.removesuffix("_fall_pct")
            base = x.baseline.get(lab)
            r = x.labs.get(lab)
            now = r.value if r and r.status == "ok" else None
            fall = None if not base or now is None else (base - now) / base * 100
            out.append(
                InputUsed(
                    name=name,
                    value=_num(fall),
                    unit="%",
                    received=None if base is None else f"day-1 value {human(base)}",
                )
            )
        elif name in SCORE_CODES:
            out.append(InputUsed(name=name, value=_num(x.scores.get(name))))
        elif name == "age_years":
            out.append(InputUsed(name="age_years", value=_num(x.age_years), unit="a"))
        elif name == "days_on_drug":
            out.append(InputUsed(name="days_on_drug", value=x.days_on_drug, unit="d"))
        elif name == "state_days":
            out.append(
                InputUsed(
                    name="days_at_current_dose",
                    value=x.state.state_days,
                    unit="d",
                    time=None if x.state.since is None else x.labels.short(x.state.since),
                )
            )
    for fact, _ in rule_when.fact_clauses():
        value = x.state.taper_in_progress if fact == "taper_in_progress" else x.facts.get(fact)
        out.append(
            InputUsed(name=fact, value=value, status="ok" if value is not None else "unknown")
        )
    if rule_when.level is not None or rule_when.at_lowest_level is not None:
        out.append(InputUsed(name="current_daily", value=x.state.current_daily_mg, unit="mg/d"))
    if rule_when.drug_class is not None:
        hits = [d for d in x.drugs if rule_when.drug_class in d.classes]
        for d in hits:
            out.append(
                InputUsed(
                    name=d.name,
                    value=d.daily_mg,
                    unit="mg/d",
                    status="ok" if d.daily_mg is not None else "dose unknown",
                )
            )
        if not hits:
            out.append(InputUsed(name=rule_when.drug_class, value=False))
    return out


def _split(daily: float, slots: Sequence[str], smallest: float) -> list[DoseOut]:
    """Keep the slots when each share is a whole number of the smallest tablet, else once daily."""
    n = len(slots)
    if n > 1:
        share = daily / n
        if share >= smallest and abs(share / smallest - round(share / smallest)) < 1e-9:
            return [DoseOut(slot=s, dose_mg=share) for s in slots]
    return [DoseOut(slot="once_daily", dose_mg=daily)]


def _administrations(regimen: Regimen, x: DecisionInputs, res: ArrayDecisions) -> list[DoseOut]:
    total = float(res.daily_total_mg[0])
    if total <= 0:
        return []
    smallest = min(regimen.formulations.tablets_mg)
    alt = [r for j, r in enumerate(regimen.rules) if r.effect == "alternate_day" and res.met[0, j]]
    if alt:
        return [
            DoseOut(
                slot="once_daily",
                dose_mg=total,
                note="alternate-day dosing: doses on odd course days only",
            )
        ]
    w = int(res.winner[0])
    if w >= 0 and regimen.rules[w].keep_slots:
        # each administration reduced, the slots kept (EU strong CYP3A4 inhibitors)
        base = _base_slots(regimen, x, res)
        return [DoseOut(slot=s, dose_mg=total / len(base)) for s in base]
    if w >= 0 and regimen.rules[w].administrations:
        note = (
            "on dialysis days only"
            if any(a.slot == "after_dialysis" for a in regimen.rules[w].administrations)
            else None
        )
        return [
            DoseOut(slot=a.slot, dose_mg=a.dose_mg, note=note)
            for a in regimen.rules[w].administrations
        ]
    lvl = res.final_level[0]
    if regimen.dose_levels and not math.isnan(lvl):
        return [
            DoseOut(slot=a.slot, dose_mg=a.dose_mg)
            for a in regimen.dose_levels[int(lvl)].administrations
        ]
    base_adms: tuple[Administration, ...] = ()
    if regimen.schedule is not None and x.course_day is not None:
        for p in regimen.schedule.phases:
            if p.first_day <= x.course_day <= p.last_day:
                base_adms = p.administrations
        if abs(total - sum(a.dose_mg for a in base_adms)) < 1e-9:
            return [DoseOut(slot=a.slot, dose_mg=a.dose_mg) for a in base_adms]
    if not base_adms:
        band = _start_band(regimen, x)
        slots: Sequence[str] = band.slots if band is not None else ("once_daily",)
        if band is not None and band.mg_per_m2 is not None:
            return [DoseOut(slot=s, dose_mg=total / len(slots), note=band.note) for s in slots]
        return _split(total, slots, smallest)
    return _split(total, [a.slot for a in base_adms], smallest)


def _base_slots(regimen: Regimen, x: DecisionInputs, res: ArrayDecisions) -> tuple[str, ...]:
    """The slots of the day's base dose (before a modification)."""
    base = float(res.base_daily_mg[0])
    for lv in regimen.dose_levels:
        if abs(lv.daily_mg - base) < 1e-9:
            return tuple(a.slot for a in lv.administrations)
    if regimen.schedule is not None and x.course_day is not None:
        for p in regimen.schedule.phases:
            if p.first_day <= x.course_day <= p.last_day:
                return tuple(a.slot for a in p.administrations)
    band = _start_band(regimen, x)
    return tuple(band.slots) if band is not None else ("once_daily",)


def _start_band(regimen: Regimen, x: DecisionInputs) -> Any:
    if x.age_years is None:
        return None
    for band in regimen.start:
        lo = band.min_years if band.min_years is not None else -math.inf
        hi = band.below_years if band.below_years is not None else math.inf
        if lo <= x.age_years < hi:
            return band
    return None


def _before_course_text(reg: Regimen, x: DecisionInputs) -> str:
    """``60 days before day 1 of the course (day 1 = 2020-06-30, rux_start)``."""
    assert reg.schedule is not None and x.course_day is not None
    sched = reg.schedule
    first = sched.first_day
    if sched.day_one_is_anchor and x.course_day < 0:
        before = -x.course_day
    else:
        before = first - x.course_day
    text = f"{before} day{'s' if before != 1 else ''} before day {first} of the course"
    if x.on_date is not None:
        day1 = x.on_date + timedelta(days=before)
        text += f" (day {first} = {x.labels.day(day1)}, {sched.anchor})"
    return text + ": no dose of this regimen is due yet."


def _alt_reading(rule: Rule, x: DecisionInputs, res: ArrayDecisions) -> str:
    final = float(res.final_daily_mg[0])
    if rule.alternative_fraction_on_dosing_days is None or math.isnan(final):
        return ""
    odd = x.course_day is not None and x.course_day % 2 == 1
    alt_dose = final * rule.alternative_fraction_on_dosing_days if odd else 0.0
    return (
        f" Alternative reading -- {rule.alternative_reading} Under it today's dose would be "
        f"{alt_dose:g} mg."
    )


_SEVERE_ACTIONS = frozenset({"hold", "discontinue", "not_eligible", "no_recommendation"})


def _severity(action: str, alerts: Sequence[AlertItem]) -> Severity:
    """critical: no dose can or should be given as scheduled; warning: a change or a caution."""
    if action in _SEVERE_ACTIONS or any(a.severity == "critical" for a in alerts):
        return "critical"
    if action == "reduce" or any(a.severity == "warning" for a in alerts):
        return "warning"
    return "info"


def _label_key(label: str) -> str:
    return label.split(",", 1)[0].split(" (", 1)[0].strip()


def _sources_used(
    reg: Regimen,
    rationale: Sequence[RationaleEntry],
    actions: Sequence[TeamAction],
    monitoring: Sequence[MonitoringDue],
) -> tuple[SourceOut, ...]:
    """Every source key the decision shows, the regimen's own source first."""
    keys = [reg.source.key]
    labels = [r.source for r in rationale] + [a.source for a in actions]
    labels += [m.source for m in monitoring]
    keys += [_label_key(x) for x in labels]
    out: list[SourceOut] = []
    for k in dict.fromkeys(keys):
        c = reg.sources.get(k)
        if c is not None:
            out.append(SourceOut(key=k, citation=" ".join(c.citation.split()), url=c.url))
    return tuple(out)


# -- the decision --------------------------------------------------------------------------------


def decide_many(regimen: Regimen | str, rows: Sequence[DecisionInputs]) -> ArrayDecisions:
    """Decisions for many patient-days at once (the vectorised path).

    Examples
    --------
    >>> from ruxtrack.protocol import adhoc_inputs, load_regimen
    >>> reg = load_regimen("sarmiento-2021-covid")
    >>> rows = [adhoc_inputs(reg, day=d, platelets=150, anc=3, crcl=90) for d in (2, 9, 15)]
    >>> decide_many(reg, rows).daily_total_mg.tolist()
    [20.0, 10.0, 5.0]
    """
    reg = load_regimen(regimen) if isinstance(regimen, str | Path) else regimen
    return evaluate_columns(reg, to_columns(reg, rows))


def decide_inputs(regimen: Regimen | str, x: DecisionInputs) -> Decision:
    """One decision from gathered inputs: the array evaluator on one row, then explained.

    Examples
    --------
    >>> from ruxtrack.protocol import adhoc_inputs, load_regimen
    >>> reg = load_regimen("sarmiento-2021-covid")
    >>> d = decide_inputs(reg, adhoc_inputs(reg, day=3, platelets="85000/uL", anc=2.0, crcl=80))
    >>> d.action, d.daily_total_mg
    ('reduce', 10.0)
    """
    reg = load_regimen(regimen) if isinstance(regimen, str | Path) else regimen
    res = evaluate_columns(reg, to_columns(reg, [x]))
    return explain(reg, x, res)


def decide(
    timeline: Timeline,
    regimen: Regimen | str,
    on: date | datetime,
    *,
    bilirubin_uln_umol_l: float | None = None,
) -> Decision:
    """Today's decision for a patient: ``regimen + timeline + date -> Decision``.

    Parameters
    ----------
    timeline
        The patient's timeline (labs, drugs, facts; the dose state comes from the recorded
        ruxolitinib exposures before ``on``).
    regimen
        A regimen or its id (``ruxtrack regimens`` lists them).
    on
        The calendar day decided; labs reported that day count.
    bilirubin_uln_umol_l
        Upper limit of normal of total bilirubin (umol/L), needed by regimens with bilirubin rules.
    """
    reg = load_regimen(regimen) if isinstance(regimen, str | Path) else regimen
    x = inputs_from_timeline(timeline, reg, on, bilirubin_uln_umol_l=bilirubin_uln_umol_l)
    return decide_inputs(reg, x)


@dataclass
class Explanation:
    """What the explainers of one evaluated row share: the inputs, the engine's row, and the
    rationale, alerts, team actions and monitoring they add to, in order."""

    reg: Regimen
    x: DecisionInputs
    res: ArrayDecisions
    action: Action
    flags: dict[str, bool]
    rationale: list[RationaleEntry] = field(default_factory=list)
    alerts: list[AlertItem] = field(default_factory=list)
    actions: list[TeamAction] = field(default_factory=list)
    monitoring: list[MonitoringDue] = field(default_factory=list)

    def on(self, d: date | None) -> str:
        return "an earlier day" if d is None else self.x.labels.day(d)


def explain_base_dose(c: Explanation) -> None:
    """Where the base dose comes from: schedule day, starting dose (age band, BSA), current dose."""
    reg = c.reg
    x = c.x
    flags = c.flags
    rationale = c.rationale
    alerts = c.alerts
    st = c.x.state
    lb = c.x.labels
    on = c.on
    # base dose
    if reg.schedule is not None:
        day_in = InputUsed(
            name="course_day",
            value=x.course_day,
            unit="d",
            time=None if x.on_date is None else lb.short(x.on_date),
        )
        if flags["complete"]:
            rationale.append(
                _entry(
                    reg,
                    "complete",
                    f"Day {x.course_day}: after the last day "
                    f"({reg.schedule.last_day}) of the schedule; the course is complete.",
                    "complete",
                    reg.schedule.phases[-1].source,
                    [day_in],
                )
            )
        elif flags["before_course"]:
            text = _before_course_text(reg, x)
            rationale.append(_entry(reg, "before_course", text, "info", reg.source, [day_in]))
            alerts.append(AlertItem(code=AlertCode.before_course, severity="warning", text=text))
        elif x.course_day is None:
            alerts.append(
                AlertItem(
                    code=AlertCode.schedule_day_unknown,
                    severity="warning",
                    text=(
                        f"Schedule day unknown: the anchor event ({reg.schedule.anchor}) is not "
                        "on the "
                        "timeline and no ruxolitinib is recorded: the course day is needed."
                    ),
                )
            )
            rationale.append(
                _entry(
                    reg, "schedule", "The schedule day is unknown.", "info", reg.source, [day_in]
                )
            )
        else:
            for p in reg.schedule.phases:
                if p.first_day <= x.course_day <= p.last_day:
                    rationale.append(
                        _entry(
                            reg,
                            "schedule",
                            f"Day {x.course_day}: days {p.first_day}-{p.last_day} "
                            f"of the schedule are {p.label} ({p.daily_mg:g} mg/day).",
                            "schedule",
                            p.source,
                            [day_in],
                        )
                    )
    elif st.state == "naive":
        band = _start_band(reg, x)
        age_in = InputUsed(name="age_years", value=_num(x.age_years), unit="a")
        if band is None:
            rationale.append(
                _entry(
                    reg,
                    "start",
                    "Starting dose: the age band is unknown.",
                    "start",
                    reg.source,
                    [age_in],
                )
            )
        else:
            text = (
                f"Starting dose for age {band.min_age or '0'} to "
                f"{'<' + band.below_age if band.below_age else 'adult'}: "
            )
            if band.level is not None:
                text += reg.dose_levels[reg.level_index(band.level)].label + "."
            else:
                text += f"{band.mg_per_m2:g} mg/m2 per dose, {len(band.slots)} doses a day."
                if x.bsa_m2 is None:
                    alerts.append(
                        AlertItem(
                            code=AlertCode.bsa_unknown,
                            severity="warning",
                            text=(
                                "Body-surface area unknown: give weight and height (Mosteller BSA)."
                            ),
                        )
                    )
            if band.note:
                text += f" {band.note}."
            if band.caution:
                alerts.append(
                    AlertItem(
                        code=AlertCode.start_band_caution,
                        severity="warning",
                        text=f"{band.caution} [{band.caution_source.label()}]",
                        rule="start",
                    )
                )
            rationale.append(
                _entry(
                    reg,
                    "start",
                    text,
                    "start",
                    band.source,
                    [age_in, InputUsed(name="bsa_m2", value=_num(x.bsa_m2), unit="m2")],
                )
            )
    elif st.state in ("on", "interrupted"):
        lvl = st.current_level
        label = reg.dose_levels[lvl].label if lvl is not None else None
        cur_in = InputUsed(
            name="current_daily",
            value=st.current_daily_mg,
            unit="mg/d",
            time=None if st.since is None else lb.short(st.since),
            received=st.reason,
        )
        verb = "Current dose" if st.state == "on" else "Last dose before the interruption"
        if label is None:
            rationale.append(
                _entry(
                    reg,
                    "current_dose",
                    f"{verb}: {human(st.current_daily_mg)} mg/day, "
                    "which is not a dose level of this regimen.",
                    "info",
                    reg.source,
                    [cur_in],
                )
            )
            alerts.append(
                AlertItem(
                    code=AlertCode.dose_not_a_level,
                    severity="critical",
                    text=(
                        f"The recorded dose ({human(st.current_daily_mg)} mg/day) is not a dose "
                        "level of "
                        f"{reg.id}: no level-based step can be computed from it."
                    ),
                )
            )
        else:
            assert lvl is not None
            rationale.append(
                _entry(
                    reg,
                    "current_dose",
                    f"{verb}: {label} since {on(st.since)}.",
                    "info",
                    reg.dose_levels[lvl].source,
                    [cur_in],
                )
            )
    elif st.state == "unknown":
        alerts.append(
            AlertItem(
                code=AlertCode.current_dose_unknown,
                severity="warning",
                text=(
                    "The current dose is unknown and the regimen's dose depends on it: the "
                    "current dose, or the patient's recorded history, is needed."
                ),
            )
        )
        rationale.append(_entry(reg, "current_dose", "Current dose unknown.", "info", reg.source))


def explain_eligibility(c: Explanation) -> None:
    """Population (age) and the eligibility criteria checked before the first dose."""
    reg = c.reg
    x = c.x
    res = c.res
    flags = c.flags
    rationale = c.rationale
    alerts = c.alerts
    st = c.x.state
    # population and eligibility
    if reg.population is not None and (flags["population_fail"] or flags["population_unknown"]):
        what = "outside" if flags["population_fail"] else "not known to be within"
        rationale.append(
            _entry(
                reg,
                "population",
                f"Age is {what} the regimen's population ({reg.population.describe()}).",
                "not_eligible",
                reg.population.source,
                [InputUsed(name="age_years", value=_num(x.age_years), unit="a")],
            )
        )
        alerts.append(
            AlertItem(
                code=AlertCode.population_outside
                if flags["population_fail"]
                else AlertCode.population_unknown,
                severity="critical" if flags["population_fail"] else "warning",
                text=f"Age {what} the population of {reg.id} ({reg.population.describe()}).",
            )
        )
    if st.state == "naive" and reg.eligibility:
        for k, crit in enumerate(reg.eligibility):
            ok, unknown = bool(res.eligibility_met[0, k]), bool(res.eligibility_unknown[0, k])
            verdict = "met" if ok else ("unknown" if unknown else "NOT met")
            rationale.append(
                _entry(
                    reg,
                    f"eligibility.{crit.id}",
                    f"Eligibility: {crit.text}: {verdict}.",
                    "eligibility",
                    crit.source,
                    _inputs_for(crit.when, x),
                )
            )
            if not ok:
                alerts.append(
                    AlertItem(
                        code=AlertCode.eligibility_unknown
                        if unknown
                        else AlertCode.eligibility_not_met,
                        severity="critical" if not unknown else "warning",
                        text=f"Eligibility {'not met' if not unknown else 'unknown'}: {crit.text}"
                        + ("" if not unknown else " -- record it before the first dose"),
                        rule=f"eligibility.{crit.id}",
                    )
                )


def explain_required_labs(c: Explanation) -> None:
    """Required labs: unusable ones block the dose and are due now; usable ones are due again."""
    reg = c.reg
    x = c.x
    flags = c.flags
    rationale = c.rationale
    alerts = c.alerts
    monitoring = c.monitoring
    lb = c.x.labels
    # required labs (none after the course: no further dose is decided)
    for req in () if flags["complete"] else reg.required_labs:
        r = x.labs.get(req.column)
        if r is None:
            continue
        if r.status != "ok":
            rationale.append(
                _entry(
                    reg,
                    f"required_lab.{req.code}",
                    f"{r.name} is required (freshness {req.max_age_days} days) and is {r.status}.",
                    "no_recommendation",
                    req.source,
                    [_lab_input(r, lb)],
                )
            )
            alerts.append(
                AlertItem(
                    code=AlertCode.required_input_unusable,
                    severity="critical",
                    text=(
                        f"Needed: {r.name} ({r.status}: {r.detail or 'not usable'}). No dose is "
                        "recommended without it."
                    ),
                    rule=f"required_lab.{req.code}",
                    input=req.code,
                    input_status=r.status,
                )
            )
            monitoring.append(
                MonitoringDue(
                    what=r.name,
                    due="now",
                    reason=(f"required for every decision (freshness {req.max_age_days} days)"),
                    source=req.source.label(),
                    code=MonitoringCode.required_input_now,
                    input=req.code,
                    max_age_days=req.max_age_days,
                )
            )
        elif r.time is not None:
            due = r.time.date() + timedelta(days=req.max_age_days + 1)
            monitoring.append(
                MonitoringDue(
                    what=r.name,
                    due=lb.short(due),
                    reason=(
                        f"last result {lb.day(r.time.date())}; needed again before it is "
                        "older than "
                        f"{req.max_age_days} days"
                    ),
                    source=req.source.label(),
                    code=MonitoringCode.required_input_next,
                    input=req.code,
                    due_date=None if lb.relative else due,  # relative courses: nominal dates
                    max_age_days=req.max_age_days,
                )
            )
        elif x.adhoc:
            monitoring.append(
                MonitoringDue(
                    what=r.name,
                    due=f"again within {req.max_age_days} days of this result",
                    reason="freshness window of the regimen",
                    source=req.source.label(),
                    code=MonitoringCode.required_input_window,
                    input=req.code,
                    max_age_days=req.max_age_days,
                )
            )

    # the required labs the decision read, when all are usable
    usable = [x.labs[q.column] for q in reg.required_labs if q.column in x.labs]
    if usable and all(r.status == "ok" for r in usable):
        rationale.append(
            _entry(
                reg,
                "required_labs",
                "Required labs used: "
                + "; ".join(
                    f"{r.name} {r.text()}"
                    + (f" ({lb.day(r.time.date())})" if r.time and not r.basis else "")
                    for r in usable
                )
                + ".",
                "info",
                reg.required_labs[0].source,
                [_lab_input(r, lb) for r in usable],
            )
        )


def explain_rules(c: Explanation) -> None:
    """The regimen rules that fired (with their team actions, alerts, monitoring) and the
    dose-limiting rules that could not be decided."""
    reg = c.reg
    x = c.x
    res = c.res
    flags = c.flags
    rationale = c.rationale
    alerts = c.alerts
    actions = c.actions
    monitoring = c.monitoring
    # rules that fired, and rules that could not be evaluated
    bad_required = {
        req.column
        for req in reg.required_labs
        if (r := x.labs.get(req.column)) is not None and r.status != "ok"
    }
    modifications = 0
    for j, rule in enumerate(reg.rules):
        used = _inputs_for(rule.when, x)
        if res.met[0, j]:
            text = rule.text
            if rule.note:
                text += f" Note: {rule.note}"
            if rule.effect == "alternate_day":
                text += _alt_reading(rule, x, res)
            if rule.effect == "hold" and rule.recovery is not None:
                text += (
                    f" Resume when {rule.recovery.when.describe()} "
                    f"({rule.recovery.resume.replace('_', ' ')})."
                )
            rationale.append(
                _entry(reg, rule.id, text, rule.effect, rule.source, used).model_copy(
                    update={"fired": True}
                )
            )
            if rule.effect in ("reduce_levels", "reduce_to_percent", "cap", "alternate_day"):
                modifications += 1
            for t in rule.team_actions:
                actions.append(
                    TeamAction(
                        kind="option" if rule.effect == "option" or rule.optional else "action",
                        text=t,
                        rule=rule.id,
                        source=rule.source.label(),
                    )
                )
            if rule.alert:
                alerts.append(
                    AlertItem(
                        code=AlertCode.rule_alert, severity="warning", text=rule.alert, rule=rule.id
                    )
                )
            if rule.effect == "no_recommendation":
                alerts.append(
                    AlertItem(
                        code=AlertCode.rule_no_recommendation,
                        severity="critical",
                        text=f"No dose recommended: {rule.text}",
                        rule=rule.id,
                    )
                )
            if rule.monitoring:
                monitoring.append(
                    MonitoringDue(
                        what=rule.monitoring,
                        due="ongoing",
                        reason=rule.text,
                        source=rule.source.label(),
                        code=MonitoringCode.rule_monitoring,
                        rule=rule.id,
                    )
                )
        elif res.unknown[0, j] and rule.effect not in ("option", "info") and not flags["complete"]:
            straddle = [u for u in used if u.interval is not None and u.status == "ok"]
            missing = [
                u.name for u in used if (u.value is None and u.interval is None) or u.status != "ok"
            ]
            if not straddle and all(m in bad_required for m in missing):
                continue  # already named by the required-lab alert
            # a monitoring rule never blocks a dose: its unknown input is named as a warning
            blocks = rule.when_unknown == "block" and rule.effect != "monitor"
            suffix = _MONITOR_ONLY if rule.effect == "monitor" else _ALERT_ONLY
            why = [f"{m} unknown" for m in missing if m not in bad_required]
            why += [
                f"{x.labs[u.name].name} {x.labs[u.name].text()} lies on both sides of its threshold"
                for u in straddle
                if u.name in x.labs
            ]
            if missing and not why:
                why = [f"{', '.join(missing)} unknown"]
            alerts.append(
                AlertItem(
                    code=AlertCode.interval_straddles_threshold
                    if straddle
                    else AlertCode.rule_input_unknown,
                    severity="critical" if blocks else "warning",
                    text=(
                        f"Rule '{rule.id}' cannot be decided: {'; '.join(why) or 'input unknown'}"
                        f"{'' if blocks else suffix}. ({rule.text})"
                    ),
                    rule=rule.id,
                )
            )
    if modifications > 1:
        rationale.append(
            _entry(
                reg,
                "combine",
                "Several modifications apply: the lowest resulting "
                "dose is given, not the sum of the steps.",
                "info",
                reg.combine_source,
            )
        )
    if modifications and reg.modification_note and reg.modification_note_source:
        rationale.append(
            _entry(
                reg,
                "modification_note",
                reg.modification_note,
                "info",
                reg.modification_note_source,
            )
        )


def explain_stated_grades(c: Explanation) -> None:
    """Interval inputs (clinician-stated CTCAE grades): their origin and how rules read them."""
    x = c.x
    rationale = c.rationale
    lb = c.x.labels
    # interval inputs: say where they come from and how rules read them
    for code in LAB_CODES:
        r = x.labs.get(code)
        if r is None or r.interval is None or r.status != "ok":
            continue
        iv = r.interval
        rationale.append(
            RationaleEntry(
                rule=f"stated_grade.{code}",
                text=(
                    f"{r.name[0].upper() + r.name[1:]} {r.text()} "
                    f"(CTCAE v5.0 {iv.label.lower()}, grade {iv.grade}). A rule is decided "
                    "only when the whole interval lies on one side of its threshold."
                    + (f" Note: {iv.note}." if iv.note else "")
                ),
                effect="info",
                inputs=(_lab_input(r, lb),),
                source=iv.source,
                status=VerificationStatus.confirmed,
                citation="NCI CTCAE v5.0 (knowledge/criteria/ctcae.yaml)",
            )
        )


def explain_holds_and_limits(c: Explanation) -> None:
    """Holds and resumes, stops without restart, unexplained interruptions, and the limits
    (BSA doses, regimen maximum, age-band maximum, alternate-day off days)."""
    reg = c.reg
    x = c.x
    flags = c.flags
    rationale = c.rationale
    alerts = c.alerts
    st = c.x.state
    on = c.on
    # engine findings
    since = on(st.since)
    if flags["hold_continues"]:
        rationale.append(
            _entry(
                reg,
                "hold_continues",
                f"Held since {on(st.since)}: the recovery "
                "condition of the rule that caused the hold is not met yet.",
                "hold",
                reg.source,
            )
        )
    if flags["hold_max_exceeded"]:
        alerts.append(
            AlertItem(
                code=AlertCode.hold_max_exceeded,
                severity="critical",
                text=(f"Held for {st.state_days} days, beyond the rule's maximum hold: reassess."),
            )
        )
    if flags["resume_after_hold"]:
        rationale.append(
            _entry(
                reg,
                "resume_after_hold",
                "The cause of the interruption has "
                "recovered; the dose resumes at the level its rule gives.",
                "resume",
                reg.source,
            )
        )
    if flags["below_lowest_level"]:
        rationale.append(
            _entry(
                reg,
                "below_lowest_level",
                "A reduction below the lowest dose level "
                f"({reg.dose_levels[-1].label if reg.dose_levels else ''}) is an "
                "interruption.",
                "hold",
                reg.dose_levels[-1].source if reg.dose_levels else reg.source,
            )
        )
    if flags["stopped_no_restart"]:
        alerts.append(
            AlertItem(
                code=AlertCode.stopped_no_restart,
                severity="critical",
                text=(
                    f"Ruxolitinib was stopped on {since} by "
                    "a rule of this regimen that has no restart rule: restarting is a "
                    "clinician's decision."
                ),
            )
        )
        rationale.append(
            _entry(
                reg,
                "stopped_no_restart",
                "Stopped by a discontinuation rule; the regimen gives no restart rule.",
                "no_recommendation",
                reg.source,
            )
        )
    if flags["unexplained_interruption"]:
        alerts.append(
            AlertItem(
                code=AlertCode.unexplained_interruption,
                severity="critical",
                text=(
                    f"Ruxolitinib not given since {since} and "
                    "no rule of this regimen explains the interruption: a clinician decides."
                ),
            )
        )
        rationale.append(
            _entry(
                reg,
                "unexplained_interruption",
                "Interruption not explained by a rule of this regimen.",
                "no_recommendation",
                reg.source,
            )
        )
    if flags["bsa_modification"]:
        alerts.append(
            AlertItem(
                code=AlertCode.bsa_modification,
                severity="critical",
                text=(
                    "A modification applies to a body-surface-area dose; the BSA dose steps "
                    "(SmPC Table 3) "
                    "were not seen, so no dose is recommended."
                ),
            )
        )
    if flags["above_max"]:
        alerts.append(
            AlertItem(
                code=AlertCode.above_maximum,
                severity="critical",
                text=(
                    f"The computed dose is above the regimen maximum ({reg.max_daily_mg:g} "
                    "mg/day): not given."
                ),
            )
        )
        rationale.append(
            _entry(
                reg,
                "max_daily",
                f"Maximum {reg.max_daily_mg:g} mg/day.",
                "info",
                reg.max_daily_source,
            )
        )
    if flags["above_band_max"]:
        band = _start_band(reg, x)
        top = reg.dose_levels[reg.level_index(band.max_level or band.level)] if band else None
        rationale.append(
            _entry(
                reg,
                "age_band_maximum",
                f"The dose is above the highest level the source gives for "
                f"this age band ({top.label if top else 'unknown'}): it is brought down to it.",
                "reduce_levels",
                band.source if band else reg.source,
                [
                    InputUsed(name="age_years", value=_num(x.age_years), unit="a"),
                    InputUsed(name="current_daily", value=st.current_daily_mg, unit="mg/d"),
                ],
            )
        )
    if flags["alternate_off_day"]:
        rationale.append(
            _entry(
                reg, "alternate_off_day", "Alternate-day dosing: no dose today.", "info", reg.source
            )
        )


def explain_administration(c: Explanation) -> None:
    """Doses that no whole tablet gives, and the alert that names the day's action."""
    reg = c.reg
    x = c.x
    res = c.res
    action = c.action
    alerts = c.alerts
    adms = _administrations(reg, x, res)
    smallest = min(reg.formulations.tablets_mg)
    for a in adms:
        if a.dose_mg < smallest or abs(a.dose_mg / smallest - round(a.dose_mg / smallest)) > 1e-9:
            extra = ""
            if reg.formulations.oral_solution_mg_per_ml:
                extra = (
                    f" As oral solution ({reg.formulations.oral_solution_mg_per_ml:g} mg/mL): "
                    f"{a.dose_mg / reg.formulations.oral_solution_mg_per_ml:g} mL."
                )
            alerts.append(
                AlertItem(
                    code=AlertCode.not_whole_tablet,
                    severity="warning",
                    text=(
                        f"{a.dose_mg:g} mg is not a whole number of the smallest tablet "
                        f"({smallest:g} mg): "
                        f"how to give it is a pharmacy decision.{extra}"
                    ),
                )
            )
            break
    if action == "discontinue":
        alerts.append(
            AlertItem(
                code=AlertCode.discontinue_today,
                severity="critical",
                text="The regimen stops ruxolitinib from today; the prescriber decides.",
            )
        )
    elif action == "hold":
        alerts.append(
            AlertItem(
                code=AlertCode.hold_today,
                severity="critical",
                text="The regimen holds ruxolitinib today (no dose); the prescriber decides.",
            )
        )
    elif action == "not_eligible":
        alerts.append(
            AlertItem(
                code=AlertCode.not_eligible_today,
                severity="critical",
                text=f"Not eligible for {reg.id} today.",
            )
        )
    elif action == "no_recommendation" and not any(a.severity == "critical" for a in alerts):
        alerts.append(
            AlertItem(
                code=AlertCode.no_recommendation,
                severity="critical",
                text=(
                    "No recommendation: an input the regimen needs is missing or unknown (see "
                    "above)."
                ),
            )
        )


def explain_notes(c: Explanation) -> None:
    """Notes of the inputs, the regimen's monitoring schedule, and a fallback rationale."""
    reg = c.reg
    x = c.x
    rationale = c.rationale
    alerts = c.alerts
    monitoring = c.monitoring
    for note in x.notes:
        alerts.append(AlertItem(code=AlertCode.note, severity="info", text=note))
    for item in reg.monitoring:
        monitoring.append(
            MonitoringDue(
                what=item.what,
                due=item.schedule,
                reason="regimen schedule",
                source=item.source.label(),
                code=MonitoringCode.regimen_schedule,
            )
        )
    if not rationale:
        rationale.append(_entry(reg, "regimen", reg.title, "info", reg.source))


#: One explainer per concern, in the order their entries appear in a decision.
EXPLAINERS: tuple[Callable[[Explanation], None], ...] = (
    explain_base_dose,
    explain_eligibility,
    explain_required_labs,
    explain_rules,
    explain_stated_grades,
    explain_holds_and_limits,
    explain_administration,
    explain_notes,
)


def explain(reg: Regimen, x: DecisionInputs, res: ArrayDecisions) -> Decision:
    """The :class:`Decision` for one evaluated row (``res`` has one row): each explainer of
    :data:`EXPLAINERS` adds what it explains, then the decision is assembled."""
    c = Explanation(
        reg=reg,
        x=x,
        res=res,
        action=Action(ACTIONS[int(res.action[0])]),
        flags={k: bool(v[0]) for k, v in res.flags.items()},
    )
    for explainer in EXPLAINERS:
        explainer(c)
    action, rationale, alerts = c.action, c.rationale, c.alerts
    actions, monitoring, st, lb = c.actions, c.monitoring, x.state, x.labels
    adms = _administrations(reg, x, res)
    checked = tuple(
        rule.id for j, rule in enumerate(reg.rules) if not res.met[0, j] and not res.unknown[0, j]
    )
    return Decision(
        regimen_title=reg.title,
        severity=_severity(action, alerts),
        checked_rules=checked,
        first_dose=st.state == "naive",
        sources=_sources_used(reg, rationale, actions, monitoring),
        regimen_id=reg.id,
        regimen_version=reg.version,
        patient_id=x.patient_id,
        date=lb.iso(x.on_date),
        time=None if x.on_date is None else lb.short(x.on_date),
        time_basis="relative" if lb.relative else "absolute",
        day=x.course_day if reg.schedule is not None else x.days_on_drug,
        action=action,
        administrations=tuple(adms),
        daily_total_mg=float(res.daily_total_mg[0]),
        scheduled_daily_mg=_num(float(res.base_daily_mg[0])),
        current_daily_mg=st.current_daily_mg,
        actions=tuple(actions),
        monitoring=tuple(monitoring),
        alerts=tuple(alerts),
        rationale=tuple(rationale),
    )
