"""Replay a recorded course against a regimen, day by day, and audit adherence over a cohort.

Each day's inputs are gathered from the timeline as they stood that day (labs reported up to that
day, the dose state from the exposures recorded before it), all days are evaluated in one batch
by the array evaluator, and each day is explained. A day *deviates* when the recorded daily dose
differs from what the regimen gives; the reason names the rules (or their absence) on both sides.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ruxtrack.protocol._decision import Decision, explain
from ruxtrack.protocol._engine import evaluate_columns
from ruxtrack.protocol._inputs import DRUG, _rux_rows, inputs_from_timeline, to_columns
from ruxtrack.protocol._schema import Regimen, load_regimen
from ruxtrack.timeline import Timeline

__all__ = ["Audit", "AuditRow", "Replay", "ReplayDay", "audit", "replay"]

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
    "no_recommendation",
]


class ReplayDay(BaseModel):
    """One day: what was recorded and what the regimen gives."""

    model_config = _FROZEN

    date: str
    day: int | None
    recorded_daily_mg: float | None
    recorded_reason: str | None
    decision: Decision
    category: Category
    deviates: bool
    reasons: tuple[str, ...]


class Replay(BaseModel):
    """A patient's course replayed against a regimen."""

    model_config = _FROZEN

    patient_id: str
    regimen_id: str
    regimen_version: str
    days: tuple[ReplayDay, ...]

    @property
    def deviations(self) -> tuple[ReplayDay, ...]:
        return tuple(d for d in self.days if d.deviates)

    def summary(self) -> dict[str, int]:
        """Days per category."""
        return dict(Counter(d.category for d in self.days))

    def to_dict(self) -> dict[str, Any]:
        out = self.model_dump(mode="json")
        out["summary"] = self.summary()
        return out


class AuditRow(BaseModel):
    """One deviating patient-day of an audit."""

    model_config = _FROZEN

    patient_id: str
    date: str
    day: int | None
    recorded_daily_mg: float | None
    regimen_daily_mg: float
    action: str
    category: Category
    reason: str


class Audit(BaseModel):
    """Adherence of a cohort's recorded courses to one regimen."""

    model_config = _FROZEN

    regimen_id: str
    regimen_version: str
    patients: int
    patient_days: int
    deviations: tuple[AuditRow, ...]
    by_category: dict[str, int]
    by_patient: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _recorded(tl: Timeline, day: date) -> tuple[float | None, str | None, bool]:
    """(daily mg recorded on ``day``, reason of a row starting that day, any row covers it)."""
    rows = [r for r in _rux_rows(tl) if r.start <= day and (r.end is None or day <= r.end)]
    if not rows:
        return 0.0, None, False
    dailies = [r.daily for r in rows]
    daily = None if None in dailies else float(sum(x for x in dailies if x is not None))
    starting = [r.reason for r in rows if r.start == day and r.reason]
    return daily, (starting[0] if starting else None), True


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


def _classify(dec: Decision, recorded: float | None) -> tuple[Category, bool]:
    given = recorded is None or recorded > 0
    if dec.action == "no_recommendation":
        return "no_recommendation", True
    if recorded is not None and abs(recorded - dec.daily_total_mg) < 1e-9:
        return "agrees", False
    if given and dec.action == "hold":
        return "given_during_hold", True
    if given and dec.action == "discontinue":
        return "given_after_discontinuation", True
    if given and dec.action == "not_eligible":
        return "given_when_not_eligible", True
    if given and dec.action == "complete":
        return "given_after_completion", True
    if not given:
        return "not_given", True
    if recorded is None:
        return "no_recommendation", True
    return ("higher_than_regimen" if recorded > dec.daily_total_mg else "lower_than_regimen"), True


def _reasons(
    dec: Decision, recorded: float | None, reason: str | None, category: Category, reg: Regimen
) -> tuple[str, ...]:
    fired = [r for r in dec.rationale if r.effect not in ("info", "schedule", "eligibility")]
    rules = ", ".join(f"{r.rule} [{r.source}]" for r in fired) or "no modification rule fired"
    rec = "unknown" if recorded is None else f"{recorded:g}"
    if category == "no_recommendation":
        critical = [a.text for a in dec.alerts if a.severity == "critical"]
        out = [
            f"recorded {rec} mg/day; {reg.id} makes no recommendation: " + "; ".join(critical[:3])
        ]
        if dec.scheduled_daily_mg is not None:
            out.append(f"the regimen's base dose for the day is {dec.scheduled_daily_mg:g} mg/day")
    else:
        out = [
            f"recorded {rec} mg/day; {reg.id} gives {dec.daily_total_mg:g} mg/day "
            f"({dec.action}; {rules})"
        ]
    if reason:
        ids = {r.id for r in reg.rules if r.effect not in ("info", "monitor", "option")}
        covered = any(r.rule in ids for r in dec.rationale)
        out.append(
            f"recorded reason: '{reason}'"
            + ("" if covered else f" -- no rule of {reg.id} covers it")
        )
    return tuple(out)


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
    that day; the recorded daily dose is compared with it.

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
    span = _span(timeline, reg)
    pid = timeline.patient.patient_id
    if span is None:
        return Replay(patient_id=pid, regimen_id=reg.id, regimen_version=reg.version, days=())
    first, last = start or span[0], end or span[1]
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    rows = [
        inputs_from_timeline(timeline, reg, d, bilirubin_uln_umol_l=bilirubin_uln_umol_l)
        for d in days
    ]
    res = evaluate_columns(reg, to_columns(reg, rows)) if rows else None
    out = []
    for i, (d, x) in enumerate(zip(days, rows, strict=True)):
        assert res is not None
        dec = explain(reg, x, res.row(i))
        recorded, reason, _ = _recorded(timeline, d)
        category, deviates = _classify(dec, recorded)
        out.append(
            ReplayDay(
                date=d.isoformat(),
                day=dec.day,
                recorded_daily_mg=recorded,
                recorded_reason=reason,
                decision=dec,
                category=category,
                deviates=deviates,
                reasons=_reasons(dec, recorded, reason, category, reg) if deviates else (),
            )
        )
    return Replay(patient_id=pid, regimen_id=reg.id, regimen_version=reg.version, days=tuple(out))


def audit(
    timelines: Iterable[Timeline],
    regimen: Regimen | str,
    *,
    bilirubin_uln_umol_l: float | None = None,
) -> Audit:
    """Adherence audit over a cohort: every deviating patient-day with its reason, summarised.

    Patients with no ruxolitinib recorded (and no schedule anchor) contribute no days.
    """
    reg = load_regimen(regimen) if isinstance(regimen, str | Path) else regimen
    rows: list[AuditRow] = []
    n_patients = n_days = 0
    for tl in timelines:
        if not any(d.drug == DRUG for d in tl.drugs) and reg.schedule is None:
            continue
        rp = replay(tl, reg, bilirubin_uln_umol_l=bilirubin_uln_umol_l)
        if not rp.days:
            continue
        n_patients += 1
        n_days += len(rp.days)
        for d in rp.deviations:
            rows.append(
                AuditRow(
                    patient_id=rp.patient_id,
                    date=d.date,
                    day=d.day,
                    recorded_daily_mg=d.recorded_daily_mg,
                    regimen_daily_mg=d.decision.daily_total_mg,
                    action=d.decision.action,
                    category=d.category,
                    reason=" | ".join(d.reasons),
                )
            )
    return Audit(
        regimen_id=reg.id,
        regimen_version=reg.version,
        patients=n_patients,
        patient_days=n_days,
        deviations=tuple(rows),
        by_category=dict(Counter(r.category for r in rows)),
        by_patient=dict(Counter(r.patient_id for r in rows)),
    )
