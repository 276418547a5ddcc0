"""Compare a draft ruxolitinib order (and the chart) with today's decision: coded findings.

Findings carry stable codes and the numbers they rest on; the card renderer words them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from typing import Literal

from ruxtrack.cds._draft import DraftOrder
from ruxtrack.protocol import Decision, load_interactions
from ruxtrack.timeline import Timeline

__all__ = [
    "Finding",
    "FindingCode",
    "compare_order",
    "criteria_findings",
    "interacting_drugs",
    "missing_inputs",
    "monitoring_findings",
]

Severity = Literal["critical", "warning", "info"]
_EPS = 1e-6


class FindingCode(StrEnum):
    """What a comparison found (stable codes; wording lives in the card renderer)."""

    discontinue_due = "discontinue_due"
    hold_due = "hold_due"
    dose_above_recommended = "dose_above_recommended"
    dose_below_recommended = "dose_below_recommended"
    draft_incomplete = "draft_incomplete"
    cannot_recommend = "cannot_recommend"
    not_eligible = "not_eligible"
    course_complete = "course_complete"
    interacting_drug = "interacting_drug"
    no_indication = "no_indication"
    labs_due = "labs_due"
    dose_change_due = "dose_change_due"
    data_unreadable = "data_unreadable"
    criteria_worth_a_look = "criteria_worth_a_look"


@dataclass(frozen=True)
class Finding:
    """One coded finding, with the values it rests on."""

    code: FindingCode
    severity: Severity
    order: str | None = None
    draft_daily_mg: float | None = None
    recommended_daily_mg: float | None = None
    needed: tuple[tuple[str, str], ...] = ()
    drugs: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = field(default=())
    label: str | None = None


def missing_inputs(decision: Decision) -> tuple[tuple[str, str], ...]:
    """(input, status) for every required input the decision found missing, stale or unknown."""
    out: list[tuple[str, str]] = []
    for r in decision.rationale:
        if r.effect != "no_recommendation":
            continue
        for i in r.inputs:
            if i.status != "ok":
                out.append((i.name, i.status))
        if not r.inputs:
            out.append((r.rule, "unknown"))
    return tuple(out)


def interacting_drugs(names: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """(drug, class) for every interactions.yaml drug named in ``names`` (free texts)."""
    table = load_interactions()
    seen: dict[str, str] = {}
    for text in names:
        words = re.split(r"[^a-z0-9]+", text.lower())
        for w in words:
            entry = table.entry(w) if w else None
            if entry is not None and entry.name not in seen:
                seen[entry.name] = entry.classes[0]
    return tuple(sorted(seen.items()))


def _decision_finding(decision: Decision, order: DraftOrder | None) -> Finding | None:
    ref = order.reference if order else None
    draft = order.daily_mg if order else None
    if decision.action == "no_recommendation":
        return Finding(
            FindingCode.cannot_recommend, "warning", ref, draft, needed=missing_inputs(decision)
        )
    if decision.action == "not_eligible":
        return Finding(FindingCode.not_eligible, "warning", ref, draft)
    if decision.action == "complete":
        return Finding(FindingCode.course_complete, "warning", ref, draft)
    if decision.action == "discontinue":
        return Finding(FindingCode.discontinue_due, "critical", ref, draft, 0.0)
    if decision.action == "hold":
        return Finding(FindingCode.hold_due, "critical", ref, draft, 0.0)
    return None


def compare_order(
    decision: Decision, order: DraftOrder, other_drafts: Sequence[DraftOrder] = ()
) -> list[Finding]:
    """Findings for one draft ruxolitinib order against today's decision.

    A draft that matches the recommendation gives no finding (no card: the service keeps quiet
    when the order is right).
    """
    out: list[Finding] = []
    first = _decision_finding(decision, order)
    recommended = decision.daily_total_mg
    if first is not None:
        out.append(first)
    elif order.daily_mg is None:
        out.append(
            Finding(
                FindingCode.draft_incomplete,
                "info",
                order.reference,
                None,
                recommended,
                notes=order.problems,
            )
        )
    elif order.daily_mg > recommended + _EPS:
        out.append(
            Finding(
                FindingCode.dose_above_recommended,
                "critical",
                order.reference,
                order.daily_mg,
                recommended,
            )
        )
    elif order.daily_mg < recommended - _EPS:
        out.append(
            Finding(
                FindingCode.dose_below_recommended,
                "warning",
                order.reference,
                order.daily_mg,
                recommended,
            )
        )
    drugs = interacting_drugs(n for o in other_drafts for n in o.names)
    if drugs:
        out.append(
            Finding(
                FindingCode.interacting_drug,
                "warning",
                order.reference,
                drugs=drugs,
                notes=("draft",),
            )
        )
    return out


def _due_now(decision: Decision) -> tuple[tuple[str, str], ...]:
    """Monitoring items whose due day has come: needed now, or due on or before the decision
    day (by the items' codes and dates, never their wording)."""
    from ruxtrack.protocol import MonitoringCode

    if decision.date is None:
        return ()
    try:
        today = date.fromisoformat(decision.date)
    except ValueError:  # a relative-days course: no calendar day to compare with
        return ()
    out = []
    for m in decision.monitoring:
        if m.code is MonitoringCode.required_input_now:
            out.append((m.what, "due now"))
        elif m.due_date is not None and m.due_date <= today:
            out.append((m.what, f"due {m.due_date.isoformat()}"))
    return tuple(out)


def criteria_findings(timeline: Timeline, on: date) -> list[Finding]:
    """An info finding per monitoring criterion (cds.yaml) established on the chart at ``on``."""
    from ruxtrack.cds._knowledge import load_cds_knowledge
    from ruxtrack.criteria import evaluate_timeline
    from ruxtrack.errors import RuxtrackError

    at = datetime.combine(on, time(23, 59))
    out: list[Finding] = []
    for cid in load_cds_knowledge().monitoring_criteria:
        try:
            ev = evaluate_timeline(cid, timeline, at=at)
        except (RuxtrackError, ValueError):
            continue  # a criterion that cannot be evaluated here says nothing
        if str(ev.conclusion) == "established":
            lines = tuple(f"{c.label}: {c.status}" for c in ev.components if str(c.status) == "met")
            total = f" (total {ev.total})" if ev.total is not None else ""
            out.append(
                Finding(
                    FindingCode.criteria_worth_a_look,
                    "info",
                    label=ev.name + total,
                    notes=lines,
                )
            )
    return out


def monitoring_findings(decision: Decision, active_drug_names: Sequence[str]) -> list[Finding]:
    """Findings for the chart of a patient on ruxolitinib (patient-view)."""
    out: list[Finding] = []
    first = _decision_finding(decision, None)
    if first is not None and first.code is FindingCode.cannot_recommend:
        out.append(Finding(FindingCode.labs_due, "warning", needed=first.needed))
    elif first is not None:
        out.append(first)
    elif (
        decision.current_daily_mg is not None
        and abs(decision.current_daily_mg - decision.daily_total_mg) > _EPS
    ):
        out.append(
            Finding(
                FindingCode.dose_change_due,
                "warning",
                None,
                decision.current_daily_mg,
                decision.daily_total_mg,
            )
        )
    if not any(f.code is FindingCode.labs_due for f in out):
        due = _due_now(decision)
        if due:
            out.append(Finding(FindingCode.labs_due, "warning", needed=due))
    drugs = interacting_drugs(active_drug_names)
    if drugs:
        out.append(Finding(FindingCode.interacting_drug, "warning", drugs=drugs, notes=("active",)))
    return out
