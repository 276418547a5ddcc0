"""Replay a recorded course against a regimen, day by day, and audit adherence over a cohort.

Each day's inputs are gathered from the timeline as they stood that day (labs reported up to that
day, the dose state from the exposures recorded before it), all days are evaluated in one batch
by the array evaluator, and each day is explained. Every day gets one *category* (where recorded
and regimen stand) and *findings* (why: each with a code that audits count), and consecutive days
with the same recorded dose, regimen output, category and findings form an *episode*.

Days of a patient recorded only in relative days are shown relative to the reference anchor
(``hsct#2+74d``, "day 74 after hsct#2"), never as the nominal calendar date they are stored at.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ruxtrack.protocol._decision import AlertCode, Decision, explain
from ruxtrack.protocol._engine import ArrayDecisions, evaluate_columns
from ruxtrack.protocol._inputs import (
    DRUG,
    DecisionInputs,
    LabReading,
    TimeLabels,
    _rux_rows,
    human,
    inputs_from_timeline,
    to_columns,
)
from ruxtrack.protocol._schema import LIMITING_EFFECTS, Regimen, load_regimen
from ruxtrack.timeline import Timeline

__all__ = [
    "CATEGORIES",
    "FINDINGS",
    "Audit",
    "AuditRow",
    "Episode",
    "Finding",
    "OutsidePatient",
    "Replay",
    "ReplayDay",
    "audit",
    "replay",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
Category = Literal[
    "agrees",
    "higher_than_regimen",
    "lower_than_regimen",
    "given_during_hold",
    "given_after_discontinuation",
    "given_when_not_eligible",
    "given_after_completion",
    "not_given",
    "outside_population",
    "differs_from_base",
    "unchecked_labs_missing",
    "no_recommendation",
]
#: Day categories, and what each means (docs/protocol.md).
CATEGORIES: dict[str, str] = {
    "agrees": "the recorded daily dose is the regimen's dose for the day",
    "higher_than_regimen": "the regimen decided a lower dose than recorded",
    "lower_than_regimen": "the regimen decided a higher dose than recorded",
    "given_during_hold": "given while a rule of the regimen holds the drug",
    "given_after_discontinuation": "given after a rule of the regimen stopped the drug",
    "given_when_not_eligible": "given to a patient who did not meet an eligibility criterion",
    "given_after_completion": "given after the last day of the regimen's schedule",
    "not_given": "not given on a day the regimen gives a dose",
    "outside_population": "the patient is outside the regimen's population (age)",
    "differs_from_base": "no recommendation possible (inputs missing or undecided), and the "
    "recorded dose differs from the regimen's base dose",
    "unchecked_labs_missing": "no recommendation possible because required labs are missing or "
    "undecided; the recorded dose is the regimen's base dose",
    "no_recommendation": "no recommendation possible for another reason (see findings)",
}
#: Finding codes (a day can have several); audits count days per finding.
FINDINGS: dict[str, str] = {
    "dose_differs_from_base": "the recorded dose differs from the regimen's base dose",
    "labs_missing": "adherence to lab rules cannot be checked: required labs missing or stale",
    "rule_applied": "a modification rule of the regimen fired",
    "change_covered": "a recorded dose change that a rule or the schedule explains",
    "change_possibly_covered": "a recorded dose change a rule might explain, but the rule "
    "cannot be decided",
    "change_not_covered": "a recorded dose change that no rule of the regimen covers",
    "outside_population": "age outside the regimen's population",
    "not_eligible": "an eligibility criterion is not met",
    "other_no_recommendation": "another input the regimen needs is unknown",
    "dose_deviation": "the regimen decided a different dose",
    "interval_input": "a lab known only as an interval (a clinician-stated CTCAE grade): the "
    "rules it decides and those it cannot",
    "stop_continues": "not given after a stop by a discontinuation rule (as the regimen says)",
    "alternate_day": "alternate-day dosing (the regimen's dose differs between odd and even days)",
}
_DOWN_EFFECTS = frozenset(LIMITING_EFFECTS) - {"no_recommendation"}
_UP_EFFECTS = frozenset({"return_to_previous"})


class Finding(BaseModel):
    """One reason a day is where it is: a code (counted by audits) and a sentence."""

    model_config = _FROZEN

    code: str
    text: str


class ReplayDay(BaseModel):
    """One day: what was recorded and what the regimen gives.

    ``date`` is the calendar date (None on a timeline recorded in relative days); ``time`` is
    what a person reads: the date, or ``hsct#2+74d``.
    """

    model_config = _FROZEN

    date: str | None
    time: str
    day: int | None
    day_from_reference: int | None
    recorded_daily_mg: float | None
    recorded_reason: str | None
    recorded_change: Literal["start", "increase", "decrease", "stop", "restart"] | None
    regimen_daily_mg: float
    base_daily_mg: float | None
    action: str
    decision: Decision
    category: Category
    deviates: bool
    findings: tuple[Finding, ...]

    @property
    def reasons(self) -> tuple[str, ...]:
        """The findings as sentences."""
        return tuple(f.text for f in self.findings)


class Episode(BaseModel):
    """Consecutive days with the same recorded dose, regimen output, category and findings."""

    model_config = _FROZEN

    patient_id: str
    first: str
    last: str
    days: int
    first_day: int | None
    last_day: int | None
    span: str
    recorded_daily_mg: float | None
    recorded_reason: str | None
    action: str
    regimen_daily_mg: float
    base_daily_mg: float | None
    base: str | None
    category: Category
    deviates: bool
    findings: tuple[Finding, ...]
    text: str


class Replay(BaseModel):
    """A patient's course replayed against a regimen."""

    model_config = _FROZEN

    patient_id: str
    regimen_id: str
    regimen_version: str
    time_basis: Literal["absolute", "relative"]
    reference: str | None
    days: tuple[ReplayDay, ...]
    episodes: tuple[Episode, ...]

    @property
    def deviations(self) -> tuple[ReplayDay, ...]:
        return tuple(d for d in self.days if d.deviates)

    def summary(self) -> dict[str, int]:
        """Days per category."""
        return dict(Counter(d.category for d in self.days))

    def by_finding(self) -> dict[str, int]:
        """Days per finding code."""
        return dict(Counter(f.code for d in self.days for f in d.findings))

    def to_dict(self, *, days: bool = True) -> dict[str, Any]:
        out = self.model_dump(mode="json", exclude=None if days else {"days"})
        out["summary"] = self.summary()
        out["by_finding"] = self.by_finding()
        return out


class AuditRow(BaseModel):
    """One deviating patient-day of an audit."""

    model_config = _FROZEN

    patient_id: str
    date: str | None
    time: str
    day: int | None
    recorded_daily_mg: float | None
    regimen_daily_mg: float
    base_daily_mg: float | None
    action: str
    category: Category
    findings: tuple[str, ...]
    reason: str


class OutsidePatient(BaseModel):
    """A patient whose every replayed day is outside the regimen's population."""

    model_config = _FROZEN

    patient_id: str
    days: int
    reason: str


class Audit(BaseModel):
    """Adherence of a cohort's recorded courses to one regimen.

    ``patients`` and ``patient_days`` count the patients audited day by day; patients outside
    the regimen's population are listed in ``outside_population`` and not counted there.
    ``by_category`` counts every audited day (agreeing ones too); ``by_finding`` counts days per
    finding; ``deviations`` lists the deviating days and ``episodes`` every episode.
    """

    model_config = _FROZEN

    regimen_id: str
    regimen_version: str
    patients: int
    patient_days: int
    deviating_days: int
    by_category: dict[str, int]
    by_finding: dict[str, int]
    by_patient: dict[str, int]
    outside_population: tuple[OutsidePatient, ...]
    episodes: tuple[Episode, ...]
    deviations: tuple[AuditRow, ...]

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


# -- recorded doses ---------------------------------------------------------------------------


def _recorded(tl: Timeline, day: date) -> tuple[float | None, str | None, bool]:
    """(daily mg recorded on ``day``, reason of a row starting that day, any row covers it)."""
    rows = [r for r in _rux_rows(tl) if r.start <= day and (r.end is None or day <= r.end)]
    if not rows:
        return 0.0, None, False
    dailies = [r.daily for r in rows]
    daily = None if None in dailies else float(sum(x for x in dailies if x is not None))
    starting = [r.reason for r in rows if r.start == day and r.reason]
    return daily, (starting[0] if starting else None), True


def _change(
    before: float | None, now: float | None, ever_given: bool
) -> Literal["start", "increase", "decrease", "stop", "restart"] | None:
    if before is None or now is None or abs(before - now) < 1e-9:
        return None
    if before == 0:
        return "restart" if ever_given else "start"
    if now == 0:
        return "stop"
    return "increase" if now > before else "decrease"


def _span(tl: Timeline, reg: Regimen) -> tuple[date, date] | None:
    rows = _rux_rows(tl)
    starts = [r.start for r in rows]
    ends = [r.end or r.start for r in rows]
    if reg.schedule is not None:
        event, occ = reg.schedule.anchor_key()
        anchor = tl.anchor(event, occ)
        if anchor is None and event == "rux_start" and starts:
            anchor_day: date | None = min(starts)
        else:
            anchor_day = None if anchor is None else anchor.date()
        if anchor_day is not None:
            offset = 1 if reg.schedule.day_one_is_anchor else 0
            starts.append(anchor_day + timedelta(days=reg.schedule.first_day - offset))
            ends.append(anchor_day + timedelta(days=reg.schedule.last_day - offset))
    if not starts:
        return None
    return min(starts), max(ends) + timedelta(days=1)


# -- what the regimen says about a day ---------------------------------------------------------

_LAB_WORDS = {
    "plt": "platelet",
    "anc": "ANC",
    "bili_xuln": "bilirubin",
    "crcl": "creatinine clearance",
}


def _labs_text(reg: Regimen, x: DecisionInputs) -> str | None:
    """Day-independent wording of the required labs that are not usable."""
    missing: list[str] = []
    other: list[str] = []
    for req in reg.required_labs:
        r: LabReading | None = x.labs.get(req.column)
        if r is None or r.status == "ok":
            continue
        if r.status == "missing":
            missing.append(_LAB_WORDS.get(req.column, req.column))
        elif r.status == "stale":
            other.append(f"the last {r.name} result is older than {req.max_age_days} days")
        else:
            other.append(f"{r.name} {r.status}: {r.detail or 'not usable'}")
    parts = []
    if missing:
        names = missing[0] if len(missing) == 1 else ", ".join(missing[:-1]) + " or " + missing[-1]
        parts.append(f"no {names} results recorded")
    parts += other
    return "; ".join(parts) or None


def _base_text(reg: Regimen, x: DecisionInputs, base: float | None) -> str | None:
    """``label base 10 mg/day for age 6–<12 (5 mg BID)`` or ``scheduled 20 mg/day (10 mg BID)``."""
    if base is None:
        return None
    word = "label" if reg.kind == "label" else "regimen"
    if reg.schedule is not None and x.course_day is not None:
        for p in reg.schedule.phases:
            if p.first_day <= x.course_day <= p.last_day:
                return (
                    f"{word} dose {human(base)} mg/day (days {p.first_day}-{p.last_day}: {p.label})"
                )
        return f"{word} dose {human(base)} mg/day"
    level = next((lv for lv in reg.dose_levels if abs(lv.daily_mg - base) < 1e-9), None)
    text = f"{word} base {human(base)} mg/day"
    band = None
    if x.age_years is not None:
        for b in reg.start:
            lo = b.min_years if b.min_years is not None else float("-inf")
            hi = b.below_years if b.below_years is not None else float("inf")
            if lo <= x.age_years < hi:
                band = b
                break
    if band is not None and band.level is not None and level is not None:
        top = band.max_level or band.level
        if level.id in (band.level, top) and x.state.state in ("naive", "on"):
            ages = (
                f"{band.min_age or '0'}–<{band.below_age}"
                if band.below_age
                else f">={band.min_age}"
            )
            text += f" for age {ages.replace('y', '')}"
    if level is not None:
        text += f" ({level.label})"
    return text


def _rules(reg: Regimen, mask: Sequence[bool], effects: frozenset[str] | None = None) -> list[str]:
    return [
        r.id
        for j, r in enumerate(reg.rules)
        if mask[j] and (effects is None or r.effect in effects)
    ]


def _maybe_text(reg: Regimen, x: DecisionInputs, rule_ids: Sequence[str]) -> str:
    """Undecided rules, those blocked only by unusable labs grouped by lab: ``anc_0_5_to_0_75
    (interval input); rules on bilirubin, creatinine clearance (no usable result)``."""
    by_interval: list[str] = []
    labs: list[str] = []
    other: list[str] = []
    for rid in rule_ids:
        names = [n for n, _ in reg.rule(rid).when.numeric_clauses() if n in x.labs]
        readings = [x.labs[n] for n in names]
        if any(r.status == "ok" and r.interval is not None for r in readings):
            by_interval.append(rid)
        elif readings and all(r.status != "ok" for r in readings):
            for r in readings:
                if r.name not in labs:
                    labs.append(r.name)
        else:
            other.append(rid)
    parts = by_interval + other
    if labs:
        parts.append(f"rules on {', '.join(labs)} (no usable result)")
    return "; ".join(parts) if parts else ", ".join(rule_ids)


def _assess(
    reg: Regimen,
    x: DecisionInputs,
    dec: Decision,
    res: ArrayDecisions,
    recorded: float | None,
    reason: str | None,
    change: str | None,
    base_before: float | None,
) -> tuple[Category, bool, list[Finding]]:
    """Category, whether the day deviates, and the findings, for one replayed day."""
    flags = {k: bool(v[0]) for k, v in res.flags.items()}
    met = list(res.met[0])
    unknown = list(res.unknown[0])
    found: list[Finding] = []
    rec = "unknown" if recorded is None else f"{human(recorded)}"
    base = dec.scheduled_daily_mg
    base_txt = _base_text(reg, x, base)
    labs_txt = _labs_text(reg, x)
    undecided = [a.text for a in dec.alerts if a.code is AlertCode.interval_straddles_threshold]
    given = recorded is None or recorded > 0

    # population: every day of such a patient, whatever was given. An eligibility criterion on
    # age alone (Sarmiento: "aged 18 or older") defines the population as well: age does not
    # change with the course, so it is checked every day, not only before the first dose.
    age_criteria = [
        crit.text
        for k, crit in enumerate(reg.eligibility)
        if [n for n, _ in crit.when.numeric_clauses()] == ["age_years"]
        and not crit.when.fact_clauses()
        and not res.eligibility_met[0, k]
        and not res.eligibility_unknown[0, k]
    ]
    if flags["population_fail"] or age_criteria:
        age = "unknown" if x.age_years is None else f"{int(x.age_years)}"
        pop = (
            reg.population.describe()
            if flags["population_fail"] and reg.population
            else "; ".join(age_criteria)
        )
        found.append(
            Finding(
                code="outside_population",
                text=f"age {age} years: outside the population of {reg.id} ({pop})",
            )
        )
        return "outside_population", True, found

    # interval inputs (clinician-stated grades): which rules they decide, and which they cannot
    for code, r in x.labs.items():
        if r.status != "ok" or r.interval is None:
            continue
        on_lab = [
            j
            for j, rule in enumerate(reg.rules)
            if any(n == code for n, _ in rule.when.numeric_clauses())
            and rule.effect not in ("info", "monitor", "option", "return_to_previous")
        ]
        applies = [reg.rules[j].id for j in on_lab if met[j]]
        open_ = [reg.rules[j].id for j in on_lab if unknown[j]]
        not_ = [reg.rules[j].id for j in on_lab if not met[j] and not unknown[j]]
        bits = []
        if applies:
            bits.append("applies " + ", ".join(applies))
        if not_:
            bits.append("rules out " + ", ".join(not_))
        if open_:
            bits.append(
                "cannot decide "
                + ", ".join(f"{rid} ({reg.rule(rid).when.describe()})" for rid in open_)
            )
        found.append(
            Finding(
                code="interval_input",
                text=f"{r.name} {r.text()}: "
                + ("; ".join(bits) or f"no rule of {reg.id} reads it"),
            )
        )

    fired = _rules(reg, met, _DOWN_EFFECTS | _UP_EFFECTS)
    if fired and dec.action not in ("no_recommendation", "complete", "not_eligible"):
        found.append(
            Finding(
                code="rule_applied",
                text="rule applied: "
                + ", ".join(
                    f"{r} ({reg.rule(r).when.describe()}) [{reg.rule(r).source.label()}]"
                    for r in fired
                ),
            )
        )

    # a recorded change: does a rule (or the schedule) cover it?
    if change is not None and change != "start":
        why = f" (recorded reason: '{reason}')" if reason else ""
        down = change in ("decrease", "stop")
        eff = _DOWN_EFFECTS if down else _UP_EFFECTS
        by_rule = _rules(reg, met, eff)
        maybe = _maybe_text(reg, x, _rules(reg, unknown, eff))
        sched = (
            base is not None
            and base_before is not None
            and ((base < base_before) if down else (base > base_before))
        )
        resumed = flags["resume_after_hold"] and not down
        ended = dec.action == "complete" and down
        if by_rule or sched or resumed or ended:
            what = (
                "the end of the schedule"
                if ended
                else "the schedule"
                if sched
                else ("recovery after a hold" if resumed else ", ".join(by_rule))
            )
            found.append(
                Finding(code="change_covered", text=f"recorded {change}{why}: covered by {what}")
            )
        elif maybe:
            found.append(
                Finding(
                    code="change_possibly_covered",
                    text=f"recorded {change}{why}: {maybe} might cover it but cannot be decided",
                )
            )
        else:
            found.append(
                Finding(
                    code="change_not_covered",
                    text=f"recorded {change}{why}: no rule of {reg.id} covers it",
                )
            )

    if dec.action == "no_recommendation" and flags["stopped_no_restart"]:
        since = x.labels.day(x.state.since) if x.state.since else "an earlier day"
        if recorded == 0:
            found.append(
                Finding(
                    code="stop_continues",
                    text=f"stopped on {since} by a discontinuation rule of {reg.id}; not "
                    "restarted (the regimen gives no restart)",
                )
            )
            return "agrees", False, found
        if recorded is not None:
            found.insert(
                0,
                Finding(
                    code="dose_deviation",
                    text=f"recorded {rec} mg/day after a stop on {since} by a discontinuation "
                    f"rule of {reg.id}, which gives no restart",
                ),
            )
            return "given_after_discontinuation", True, found

    if dec.action == "no_recommendation":
        differs = base is not None and recorded is not None and abs(recorded - base) > 1e-9
        if differs:
            assert base is not None and recorded is not None
            found.insert(
                0,
                Finding(
                    code="dose_differs_from_base",
                    text=f"dose differs from the {'label' if reg.kind == 'label' else 'regimen'}"
                    f"'s base dose ({base_txt or f'base {human(base)} mg/day'})",
                ),
            )
        if labs_txt:
            found.append(
                Finding(
                    code="labs_missing",
                    text="no recommendation possible: " + labs_txt,
                )
            )
        if not labs_txt and not undecided:
            crit = [a.text for a in dec.alerts if a.severity == "critical"]
            found.append(
                Finding(
                    code="other_no_recommendation",
                    text="no recommendation possible: " + ("; ".join(crit[:2]) or "see alerts"),
                )
            )
        if differs:
            return "differs_from_base", True, found
        if labs_txt or undecided:
            return "unchecked_labs_missing", True, found
        return "no_recommendation", True, found

    gives = f"{reg.id} gives {human(dec.daily_total_mg)} mg/day ({dec.action.replace('_', ' ')})"
    if recorded is not None and abs(recorded - dec.daily_total_mg) < 1e-9:
        return "agrees", False, found
    category: Category
    if given and dec.action == "hold":
        category = "given_during_hold"
    elif given and dec.action == "discontinue":
        category = "given_after_discontinuation"
    elif given and dec.action == "not_eligible":
        category = "given_when_not_eligible"
        crit = [
            a.text
            for a in dec.alerts
            if a.code in (AlertCode.eligibility_not_met, AlertCode.eligibility_unknown)
        ]
        found.append(Finding(code="not_eligible", text="; ".join(crit) or "not eligible"))
    elif given and dec.action == "complete":
        category = "given_after_completion"
    elif not given:
        category = "not_given"
    elif recorded is None:
        category = "no_recommendation"
    else:
        category = "higher_than_regimen" if recorded > dec.daily_total_mg else "lower_than_regimen"
    found.insert(0, Finding(code="dose_deviation", text=f"recorded {rec} mg/day; {gives}"))
    return category, True, found


# -- episodes --------------------------------------------------------------------------------

_IMPLIED = frozenset({"dose_deviation"})


def _episode_text(
    span: str, n: int, d: ReplayDay, base: str | None, run: Sequence[ReplayDay]
) -> str:
    """``days 74–130 after hsct#2 (57 days): recorded 20 mg/day; label base 10 mg/day ...``."""
    rec = "unknown" if d.recorded_daily_mg is None else f"{human(d.recorded_daily_mg)} mg/day"
    head = f"{span} ({n} day{'s' if n != 1 else ''}): recorded {rec}"
    if d.recorded_reason:
        head += f" ('{d.recorded_reason}')"
    parts = [head]
    reg = d.decision.regimen_id
    action = d.action.replace("_", " ")
    if d.category == "agrees":
        actions = list(dict.fromkeys(x.action.replace("_", " ") for x in run))
        parts[0] += f" = {reg} ({', '.join(actions)})"
    elif d.category == "outside_population":
        pass
    elif _output(d)[0] == "alternate_day":
        on_days = sorted({x.regimen_daily_mg for x in run if x.regimen_daily_mg > 0})
        doses = "/".join(human(v) for v in on_days) or "0"
        parts.append(f"{reg} gives {doses} mg on odd course days and none on even days")
    elif d.action != "no_recommendation":
        parts.append(f"{reg} gives {human(d.regimen_daily_mg)} mg/day ({action})")
    elif base and not any(f.code == "dose_differs_from_base" for f in d.findings):
        parts.append(base)
    parts += [f.text for f in d.findings if f.code not in _IMPLIED]
    return "; ".join(parts)


def _output(d: ReplayDay) -> tuple[Any, ...]:
    """What the regimen gave, as grouped: an alternate-day pattern is one output."""
    alt = any(r.effect == "alternate_day" for r in d.decision.rationale) or any(
        r.rule == "alternate_off_day" for r in d.decision.rationale
    )
    if alt:
        return ("alternate_day", d.base_daily_mg)
    return (d.action, d.regimen_daily_mg, d.base_daily_mg)


def _key(d: ReplayDay) -> tuple[Any, ...]:
    findings = tuple(
        f for f in d.findings if not f.code.startswith("change_") and f.code not in _IMPLIED
    )
    if d.category == "agrees":
        # agreeing days group whatever the action's name (start, continue, reduce ...)
        return (d.recorded_daily_mg, d.regimen_daily_mg, d.category, findings)
    return (d.recorded_daily_mg, _output(d), d.category, findings)


def _episodes(
    pid: str,
    days: Sequence[ReplayDay],
    bases: Sequence[str | None],
    labels: TimeLabels,
    unit: str = "treatment day",
) -> list[Episode]:
    out: list[Episode] = []
    i = 0
    while i < len(days):
        d0 = days[i]
        key = _key(d0)
        j = i + 1
        while j < len(days):
            dj = days[j]
            if _key(dj) != key or any(f.code.startswith("change_") for f in dj.findings):
                break
            j += 1
        last = days[j - 1]
        n = j - i
        if labels.relative:
            a, b = d0.day_from_reference, last.day_from_reference
            ref = labels.reference
            span = f"day {a} after {ref}" if n == 1 else f"days {a}–{b} after {ref}"
            if d0.day is not None and last.day is not None:
                span += f" ({unit} {d0.day})" if n == 1 else f" ({unit}s {d0.day}–{last.day})"
        else:
            span = d0.time if n == 1 else f"{d0.time} to {last.time}"
            if d0.day is not None and last.day is not None:
                span += f" (day {d0.day})" if n == 1 else f" (days {d0.day}–{last.day})"
        out.append(
            Episode(
                patient_id=pid,
                first=d0.time,
                last=last.time,
                days=n,
                first_day=d0.day,
                last_day=last.day,
                span=span,
                recorded_daily_mg=d0.recorded_daily_mg,
                recorded_reason=d0.recorded_reason,
                action=d0.action,
                regimen_daily_mg=d0.regimen_daily_mg,
                base_daily_mg=d0.base_daily_mg,
                base=bases[i],
                category=d0.category,
                deviates=d0.deviates,
                findings=d0.findings,
                text=_episode_text(span, n, d0, bases[i], days[i:j]),
            )
        )
        i = j
    return out


# -- replay and audit --------------------------------------------------------------------------


def replay(
    timeline: Timeline,
    regimen: Regimen | str,
    *,
    start: date | None = None,
    end: date | None = None,
    bilirubin_uln_umol_l: float | None = None,
) -> Replay:
    """Replay a patient's recorded course against a regimen, day by day.

    The days run from the first recorded ruxolitinib day (or the schedule's first day) to the day
    after the last (so a stop is seen). Each day's decision is made from the timeline as it stood
    that day; the recorded daily dose is compared with it, and consecutive alike days are grouped
    into episodes.

    Parameters
    ----------
    timeline
        The patient's timeline.
    regimen
        A regimen or its id.
    start, end
        Limit the days replayed (inclusive).
    bilirubin_uln_umol_l
        Upper limit of normal of total bilirubin (umol/L) for regimens with bilirubin rules.
    """
    reg = load_regimen(regimen) if isinstance(regimen, str | Path) else regimen
    labels = TimeLabels.of(timeline)
    span = _span(timeline, reg)
    pid = timeline.patient.patient_id
    basis: Literal["absolute", "relative"] = "relative" if labels.relative else "absolute"
    if span is None:
        return Replay(
            patient_id=pid,
            regimen_id=reg.id,
            regimen_version=reg.version,
            time_basis=basis,
            reference=labels.reference,
            days=(),
            episodes=(),
        )
    first, last = start or span[0], end or span[1]
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    rows = [
        inputs_from_timeline(timeline, reg, d, bilirubin_uln_umol_l=bilirubin_uln_umol_l)
        for d in days
    ]
    res = evaluate_columns(reg, to_columns(reg, rows))
    out: list[ReplayDay] = []
    bases: list[str | None] = []
    before: float | None = _recorded(timeline, first - timedelta(days=1))[0]
    ever = bool(before)
    base_before: float | None = None
    for i, (d, x) in enumerate(zip(days, rows, strict=True)):
        one = res.row(i)
        dec = explain(reg, x, one)
        recorded, reason, _ = _recorded(timeline, d)
        change = _change(before, recorded, ever)
        category, deviates, findings = _assess(
            reg, x, dec, one, recorded, reason, change, base_before
        )
        out.append(
            ReplayDay(
                date=labels.iso(d),
                time=labels.short(d),
                day=dec.day,
                day_from_reference=labels.offset(d),
                recorded_daily_mg=recorded,
                recorded_reason=reason,
                recorded_change=change,
                regimen_daily_mg=dec.daily_total_mg,
                base_daily_mg=dec.scheduled_daily_mg,
                action=dec.action,
                decision=dec,
                category=category,
                deviates=deviates,
                findings=tuple(findings),
            )
        )
        bases.append(_base_text(reg, x, dec.scheduled_daily_mg))
        before = recorded
        ever = ever or bool(recorded)
        base_before = dec.scheduled_daily_mg
    return Replay(
        patient_id=pid,
        regimen_id=reg.id,
        regimen_version=reg.version,
        time_basis=basis,
        reference=labels.reference,
        days=tuple(out),
        episodes=tuple(
            _episodes(pid, out, bases, labels, "schedule day" if reg.schedule else "treatment day")
        ),
    )


def audit(
    timelines: Iterable[Timeline],
    regimen: Regimen | str,
    *,
    bilirubin_uln_umol_l: float | None = None,
) -> Audit:
    """Adherence audit over a cohort: every patient-day categorised, deviations with findings.

    Patients with no ruxolitinib recorded (and no schedule anchor) contribute no days; patients
    outside the regimen's population (every replayed day) are listed apart, not audited.
    """
    reg = load_regimen(regimen) if isinstance(regimen, str | Path) else regimen
    rows: list[AuditRow] = []
    episodes: list[Episode] = []
    outside: list[OutsidePatient] = []
    cats: Counter[str] = Counter()
    finds: Counter[str] = Counter()
    per_patient: Counter[str] = Counter()
    n_patients = n_days = 0
    for tl in timelines:
        if not any(d.drug == DRUG for d in tl.drugs) and reg.schedule is None:
            continue
        rp = replay(tl, reg, bilirubin_uln_umol_l=bilirubin_uln_umol_l)
        if not rp.days:
            continue
        if all(d.category == "outside_population" for d in rp.days):
            outside.append(
                OutsidePatient(
                    patient_id=rp.patient_id, days=len(rp.days), reason=rp.days[0].reasons[0]
                )
            )
            continue
        n_patients += 1
        n_days += len(rp.days)
        episodes.extend(rp.episodes)
        for d in rp.days:
            cats[d.category] += 1
            for code in {f.code for f in d.findings}:
                finds[code] += 1
            if not d.deviates:
                continue
            per_patient[rp.patient_id] += 1
            rows.append(
                AuditRow(
                    patient_id=rp.patient_id,
                    date=d.date,
                    time=d.time,
                    day=d.day,
                    recorded_daily_mg=d.recorded_daily_mg,
                    regimen_daily_mg=d.regimen_daily_mg,
                    base_daily_mg=d.base_daily_mg,
                    action=d.action,
                    category=d.category,
                    findings=tuple(f.code for f in d.findings),
                    reason=" | ".join(d.reasons),
                )
            )
    return Audit(
        regimen_id=reg.id,
        regimen_version=reg.version,
        patients=n_patients,
        patient_days=n_days,
        deviating_days=len(rows),
        by_category=dict(cats.most_common()),
        by_finding=dict(finds.most_common()),
        by_patient=dict(per_patient),
        outside_population=tuple(outside),
        episodes=tuple(episodes),
        deviations=tuple(rows),
    )
