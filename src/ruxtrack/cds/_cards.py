"""Cards from findings: summary, indicator, source, markdown detail, suggestions, override reasons.

This is the wording of the CDS service (findings carry codes only). A card never reads as an
order: it says what the protocol advises and why, with the rule's source sentence.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from typing import Any

from ruxtrack.cds._compare import Finding, FindingCode
from ruxtrack.cds._draft import DraftOrder
from ruxtrack.cds._knowledge import load_cds_knowledge
from ruxtrack.cds._models import (
    SUMMARY_MAX,
    Action,
    Card,
    Coding,
    Link,
    Source,
    Suggestion,
)
from ruxtrack.protocol import Decision, InputUsed, RationaleEntry, human, load_regimen

__all__ = ["card_for", "recommended_dosage"]

_RULE_EFFECTS = {
    "discontinue",
    "hold",
    "reduce_to_percent",
    "reduce",
    "alternate_day",
    "set_dose",
    "level_down",
    "level_up",
    "resume",
    "not_eligible",
}
_FREQ = {1: "once daily", 2: "twice daily (BID)", 3: "three times daily"}


def _lab_name(code: str) -> str:
    from ruxtrack.units import load_catalogue

    catalogue = load_catalogue()
    if code in catalogue:
        return catalogue.get(code).name.split(",")[0].lower()
    return {"crcl": "creatinine clearance"}.get(code, code.replace("_", " "))


def _input_text(i: InputUsed) -> str:
    from ruxtrack.units import load_catalogue

    value = human(i.value) if isinstance(i.value, int | float) else str(i.value)
    unit = i.unit or ""
    catalogue = load_catalogue()
    if i.name in catalogue:
        entry = catalogue.get(i.name)
        if unit == entry.canonical_unit and entry.display_unit:
            unit = entry.display_unit
    return f"{_lab_name(i.name)} {value}{' ' + unit if unit else ''}"


def _firing(decision: Decision) -> RationaleEntry | None:
    for r in decision.rationale:
        if r.effect == decision.action or (r.effect in _RULE_EFFECTS and r.effect != "info"):
            return r
    return None


def _per_day_text(per_day: float) -> str:
    if abs(per_day - round(per_day)) < 1e-9 and round(per_day) in _FREQ:
        return _FREQ[round(per_day)]
    if abs(per_day - 0.5) < 1e-9:
        return "every other day"
    return f"{human(per_day)} times a day"


def _order_text(dose_mg: float | None, per_day: float | None) -> str:
    if dose_mg is None or per_day is None:
        return "dose or frequency not stated"
    return f"{human(dose_mg)} mg {_per_day_text(per_day)}, {human(dose_mg * per_day)} mg/day"


def recommended_dosage(decision: Decision) -> tuple[float, float, str] | None:
    """(dose per administration in mg, administrations per day, text) of today's decision.

    None when no dose is given today or the administrations differ in size (then the card
    describes them in the detail and suggests no replacement).
    """
    adms = decision.administrations
    if not adms or decision.daily_total_mg <= 0:
        return None
    doses = {a.dose_mg for a in adms}
    if len(doses) != 1:
        return None
    dose = adms[0].dose_mg
    per_day = float(len(adms))
    if any(a.note and "alternate-day" in a.note for a in adms):
        per_day = 0.5
    return dose, per_day, _order_text(dose, per_day)


def _dosage_instruction(dose: float, per_day: float, text: str) -> dict[str, Any]:
    if per_day >= 1:
        repeat: dict[str, Any] = {"frequency": round(per_day), "period": 1, "periodUnit": "d"}
    else:
        repeat = {"frequency": 1, "period": round(1 / per_day), "periodUnit": "d"}
    return {
        "text": text,
        "timing": {"repeat": repeat},
        "route": {
            "coding": [
                {"system": "http://snomed.info/sct", "code": "26643006", "display": "Oral route"}
            ]
        },
        "doseAndRate": [
            {
                "doseQuantity": {
                    "value": dose,
                    "unit": "mg",
                    "system": "http://unitsofmeasure.org",
                    "code": "mg",
                }
            }
        ],
    }


def _source(decision: Decision, entry: RationaleEntry | None) -> Source:
    """The rule's source sentence when a rule fired, else the regimen's own source."""
    reg = load_regimen(decision.regimen_id)
    ref = reg.source
    if entry is not None:
        rule = next((r for r in reg.rules if r.id == entry.rule), None)
        if rule is not None:
            ref = rule.source
    citation = reg.sources.get(ref.key)
    where = f"{ref.locator}" if ref.locator else ref.key
    who = citation.citation if citation else ref.key
    label = f"{who} {where}" + (f": “{ref.quote}”" if ref.quote else "")
    url = citation.url if citation and citation.url else None
    return Source(label=label, url=url)


def _overrides() -> tuple[Coding, ...]:
    o = load_cds_knowledge().override_reasons
    return tuple(Coding(code=c.code, system=o.system, display=c.display) for c in o.codes)


def _summary(text: str) -> str:
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1].rstrip() + "…"


def _detail(decision: Decision, finding: Finding, order: DraftOrder | None) -> str:
    """The finding's own lines, then the decision's face (the renderer the CLI and web share)."""
    from ruxtrack.outputs import render_decision_card

    parts: list[str] = []
    if order is not None:
        parts.append(f"**Draft order:** {_order_text(order.dose_mg, order.per_day)}")
        if order.problems:
            parts.append("**Not read from the draft:** " + "; ".join(order.problems))
    rec = recommended_dosage(decision)
    day = f", course day {decision.day}" if decision.day is not None else ""
    parts.append(
        f"**Protocol decision for {decision.date or 'today'}** ({decision.regimen_id} "
        f"v{decision.regimen_version}{day}): {decision.action.replace('_', ' ')}"
        + (f" — {rec[2]}" if rec else "")
    )
    if finding.needed:
        parts.append(
            "**Needed before a dose can be recommended:**\n"
            + "\n".join(f"- {_lab_name(n)}: {s}" for n, s in finding.needed)
        )
    if finding.code is FindingCode.criteria_worth_a_look:
        parts.append(
            f"**{finding.label}: established.** Criteria met:\n"
            + "\n".join(f"- {line}" for line in finding.notes)
        )
    elif finding.drugs:
        parts.append(
            "**Interacting drugs:**\n"
            + "\n".join(f"- {d} ({c.replace('_', ' ')})" for d, c in finding.drugs)
        )
    parts.append("---")
    parts.append(render_decision_card(decision)["detail"])
    parts.append("_Decision support only: the prescriber decides._")
    return "\n\n".join(parts)


def _reason_text(decision: Decision) -> str:
    entry = _firing(decision)
    if entry is None:
        return ""
    used = ", ".join(_input_text(i) for i in entry.inputs if i.status == "ok")
    return used


def _summary_for(finding: Finding, decision: Decision) -> str:
    reason = _reason_text(decision)
    because = f" ({reason})" if reason else ""
    rec = recommended_dosage(decision)
    rec_text = rec[2] if rec else f"{human(decision.daily_total_mg)} mg/day"
    code = finding.code
    if code is FindingCode.discontinue_due:
        return f"Protocol advises discontinuing ruxolitinib today{because}"
    if code is FindingCode.hold_due:
        return f"Protocol advises holding ruxolitinib today{because}"
    if code is FindingCode.dose_above_recommended:
        return (
            f"Draft ruxolitinib {human(finding.draft_daily_mg)} mg/day is above today's "
            f"protocol dose: {rec_text}{because}"
        )
    if code is FindingCode.dose_below_recommended:
        return (
            f"Draft ruxolitinib {human(finding.draft_daily_mg)} mg/day is below today's "
            f"protocol dose: {rec_text}"
        )
    if code is FindingCode.draft_incomplete:
        return f"Draft ruxolitinib order has no complete dose; today's protocol dose: {rec_text}"
    if code in (FindingCode.cannot_recommend, FindingCode.labs_due):
        names = ", ".join(dict.fromkeys(_lab_name(n) for n, _ in finding.needed)) or "inputs"
        return f"Cannot recommend a ruxolitinib dose: needed {names}"
    if code is FindingCode.not_eligible:
        return "Protocol eligibility for ruxolitinib is not met; see the details"
    if code is FindingCode.course_complete:
        return "The ruxolitinib course of this protocol is complete: no dose is due"
    if code is FindingCode.interacting_drug:
        drugs = ", ".join(d for d, _ in finding.drugs)
        return f"Ruxolitinib with {drugs}: interaction to review"
    if code is FindingCode.criteria_worth_a_look:
        return f"{finding.label}: established on today's chart data, worth a look"
    if code is FindingCode.dose_change_due:
        return (
            f"Ruxolitinib dose change due today: {human(finding.draft_daily_mg)} → "
            f"{rec_text}{because}"
        )
    return "Ruxolitinib: cannot tell which protocol applies (no known indication on the chart)"


def _suggestions(
    finding: Finding, decision: Decision, order: DraftOrder | None
) -> tuple[Suggestion, ...]:
    if order is None or not order.reference.split("/", 1)[1] or order.resource.get("id") is None:
        return ()
    if finding.code in (
        FindingCode.discontinue_due,
        FindingCode.hold_due,
        FindingCode.course_complete,
    ):
        verb = {
            "discontinue_due": "discontinuation",
            "hold_due": "hold",
            "course_complete": "course completed",
        }[finding.code.value]
        return (
            Suggestion(
                label="Remove the draft ruxolitinib order",
                uuid=str(uuid.uuid4()),
                isRecommended=True,
                actions=(
                    Action(
                        type="delete",
                        resourceId=order.reference,
                        description=f"Remove the draft ruxolitinib order ({verb})",
                    ),
                ),
            ),
        )
    if finding.code in (
        FindingCode.dose_above_recommended,
        FindingCode.dose_below_recommended,
        FindingCode.draft_incomplete,
    ):
        rec = recommended_dosage(decision)
        if rec is None:
            return ()
        resource = copy.deepcopy(order.resource)
        resource["dosageInstruction"] = [_dosage_instruction(*rec)]
        return (
            Suggestion(
                label=f"Change the draft to {rec[2]}",
                uuid=str(uuid.uuid4()),
                isRecommended=True,
                actions=(
                    Action(
                        type="update",
                        resource=resource,
                        description=f"Replace the draft ruxolitinib dose with {rec[2]}",
                    ),
                ),
            ),
        )
    return ()


_DECISION_FACE = {FindingCode.dose_change_due, FindingCode.discontinue_due, FindingCode.hold_due}


def card_for(
    finding: Finding,
    decision: Decision,
    order: DraftOrder | None = None,
    *,
    links: Sequence[Link] = (),
) -> Card:
    """The card for one finding on today's decision (and the draft order it concerns).

    Without a draft (patient-view), a dose change, hold or discontinuation due is the
    decision's own card face (``ruxtrack.outputs.render_decision_card``), with the rule's
    source sentence, override reasons and links added.
    """
    suggestions = _suggestions(finding, decision, order)
    entry = _firing(decision) if finding.code is not FindingCode.interacting_drug else None
    if order is None and finding.code in _DECISION_FACE:
        from ruxtrack.outputs import render_decision_card

        face = render_decision_card(decision)
        return Card(
            uuid=str(uuid.uuid4()),
            summary=_summary(face["summary"]),
            detail=face["detail"] + "\n\n_Decision support only: the prescriber decides._",
            indicator=face["indicator"],
            source=_source(decision, entry),
            overrideReasons=_overrides(),
            links=tuple(links) or None,
        )
    return Card(
        uuid=str(uuid.uuid4()),
        summary=_summary(_summary_for(finding, decision)),
        detail=_detail(decision, finding, order),
        indicator=finding.severity,
        source=_source(decision, entry),
        suggestions=suggestions or None,
        selectionBehavior="at-most-one" if suggestions else None,
        overrideReasons=_overrides(),
        links=tuple(links) or None,
    )


def no_indication_card(finding: Finding) -> Card:
    """The card when no regimen can be chosen from the chart."""
    kn = load_cds_knowledge()
    return Card(
        uuid=str(uuid.uuid4()),
        summary=_summary(
            "Ruxolitinib: no protocol applies (no COVID-19 or GVHD condition on the problem list)"
        ),
        detail=(
            "The service chooses the protocol from the patient's active conditions; none "
            "of them is an indication it knows. No dose is checked.\n\n"
            "_Decision support only: the prescriber decides._"
        ),
        indicator=finding.severity,
        source=Source(label=kn.source_label),
        overrideReasons=_overrides(),
    )


def unreadable_card(finding: Finding) -> Card:
    """The card when the chart's FHIR data cannot be read into a timeline (nothing checked)."""
    kn = load_cds_knowledge()
    shown = list(finding.notes[:5])
    more = len(finding.notes) - len(shown)
    detail = (
        "The patient's FHIR data could not be read, so no dose was checked:\n\n"
        + "\n".join(f"- {p}" for p in shown)
        + (f"\n- … and {more} more" if more > 0 else "")
        + "\n\n_Decision support only: the prescriber decides._"
    )
    return Card(
        uuid=str(uuid.uuid4()),
        summary="Cannot check ruxolitinib: the chart's data could not be read (see details)",
        detail=detail,
        indicator=finding.severity,
        source=Source(label=kn.source_label),
        overrideReasons=_overrides(),
    )
