"""Adapters between the core and the pages: call one core function, shape its result for a
template or a JSON response. Nothing here decides, scores or converts on its own."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from ruxtrack.protocol import Decision, list_regimens, load_regimen
from ruxtrack.store import PatientSummary
from ruxtrack.timeline import NOMINAL_EPOCH, Timeline, parse_time

__all__ = [
    "STATUSES",
    "DayChoice",
    "course_chart",
    "decision_html",
    "decision_json",
    "patient_status",
    "regimen_ids",
    "resolve_day",
    "within_population",
]

#: Where a patient is, read from the recorded events (latest first wins).
STATUSES: tuple[str, ...] = ("died", "discharged", "icu", "ward")


def _outputs_face(name: str) -> Callable[..., Any] | None:
    """A decision face of ``ruxtrack.outputs`` (bedside lane) when installed."""
    mod = importlib.import_module("ruxtrack.outputs")
    face = getattr(mod, name, None)
    return face if callable(face) else None


def decision_html(decision: Decision, fallback: Callable[[Decision], str]) -> str:
    """The decision's HTML face (``render_decision_html``); ``fallback`` renders it meanwhile."""
    face = _outputs_face("render_decision_html")
    return str(face(decision)) if face is not None else fallback(decision)


def decision_json(decision: Decision) -> dict[str, Any]:
    """The decision's JSON face (``render_decision_json``, else the documented to_dict)."""
    face = _outputs_face("render_decision_json")
    out = face(decision) if face is not None else decision.to_dict()
    return dict(out)


@cache
def regimen_ids() -> tuple[str, ...]:
    """The packaged regimens."""
    return tuple(list_regimens())


def patient_status(summary: PatientSummary) -> str:
    """``died``, ``discharged``, ``icu`` or ``ward`` from the events recorded (time order)."""
    events = [a.partition("#")[0] for a in summary.anchors]
    if "death" in events:
        return "died"
    last = {e: i for i, e in enumerate(events)}
    if "discharge" in last and last["discharge"] >= last.get("admission", -1):
        return "discharged"
    if "icu_admission" in last and last["icu_admission"] > last.get("icu_discharge", -1):
        return "icu"
    return "ward"


def within_population(summary: PatientSummary, regimen_id: str) -> bool:
    """Whether the recorded age lies in the regimen's population (unknown age: no)."""
    pop = load_regimen(regimen_id).population
    if pop is None:
        return True
    age = summary.age_years
    if age is None:
        return False
    lo, hi = pop.min_years, pop.below_years
    return (lo is None or age >= lo) and (hi is None or age < hi)


@dataclass(frozen=True)
class DayChoice:
    """The day a page shows: the calendar date decided, and how a person reads it."""

    on: date
    label: str
    is_today: bool
    note: str | None


def _times(tl: Timeline) -> list[datetime]:
    out = [tl.at(e.time) for e in tl.events]
    out += [tl.at(o.time) for o in tl.observations]
    out += [tl.at(a.time) for a in tl.assessments]
    for d in tl.drugs:
        s, e = tl.interval(d.start, d.end)
        out += [s] if e is None else [s, e]
    for p in tl.support:
        s, e = tl.interval(p.start, p.end)
        out += [s] if e is None else [s, e]
    return out


def _relative_label(tl: Timeline, t: datetime) -> str:
    """``hsct#2+74d`` for a patient recorded in relative days (no date is ever shown)."""
    anchors = sorted(tl.anchors.items(), key=lambda kv: kv[1])
    before = [kv for kv in anchors if kv[1].date() <= t.date()] or anchors[:1]
    (event, occ), at = before[-1]
    days = (t.date() - at.date()).days
    name = event if occ == 1 else f"{event}#{occ}"
    return name if days == 0 else f"{name}{days:+d}d"


def resolve_day(tl: Timeline, text: str | None, today: date) -> DayChoice:
    """The day asked for (``2020-05-03`` or ``rux_start+3d``); by default today when the record
    reaches it, else the last recorded day (said so in ``note``).

    Raises
    ------
    TimelineError
        When the text is not a time or names an event the patient does not have.
    """
    relative = tl.time_basis == "relative"
    if text:
        t = tl.at(parse_time(text.strip()))
        note = None
    else:
        times = _times(tl)
        last = max(times) if times else None
        if relative:
            t = last or NOMINAL_EPOCH
            note = "A record in relative days: showing its last recorded day."
        elif last is None or today <= last.date() + timedelta(days=1):
            t = datetime.combine(today, datetime.min.time())
            note = None
        else:
            t = last
            note = "The record ends before today: showing its last recorded day."
    label = _relative_label(tl, t) if relative else t.date().isoformat()
    return DayChoice(on=t.date(), label=label, is_today=t.date() == today, note=note)


def _drug_end(end: datetime | None, last: datetime) -> datetime:
    """A running drug reaches the last recorded time; an end date covers its whole day."""
    if end is None:
        return last
    return end + timedelta(days=1) if end.time() == datetime.min.time() else end


def _days(tl: Timeline, t: datetime, zero: datetime) -> float:
    return round((t - zero) / timedelta(days=1), 3)


def course_chart(
    tl: Timeline,
    anchor: str | None,
    panels: Sequence[Sequence[str]],
    marker_names: dict[str, str],
) -> dict[str, Any]:
    """A patient's course as chart data, in days from ``anchor`` (any recorded event).

    Drug exposures and respiratory support as bars (end None while running), observations as
    points per code grouped into ``panels`` (codes not in a panel go to a last panel), events as
    vertical marks. Values are the stored canonical ones; units travel with them.
    """
    keys = sorted(tl.anchors, key=lambda k: tl.anchors[k])
    labels = [e if o == 1 else f"{e}#{o}" for e, o in keys]
    chosen = anchor if anchor in labels else (labels[0] if labels else None)
    if chosen is None:
        zero = NOMINAL_EPOCH
    else:
        name, _, occ = chosen.partition("#")
        zero = tl.anchors[(name, int(occ or 1))]
    times = _times(tl)
    last = max(times) if times else zero
    drugs = []
    for d in tl.drugs:
        s, e = tl.interval(d.start, d.end)
        drugs.append(
            {
                "drug": d.drug,
                "dose": d.dose,
                "unit": str(d.unit.value if hasattr(d.unit, "value") else d.unit),
                "frequency": str(getattr(d.frequency, "value", d.frequency)),
                "start": _days(tl, s, zero),
                "end": _days(tl, _drug_end(e, last), zero),
                "ongoing": e is None,
            }
        )
    support = []
    for p in tl.support:
        s, e = tl.interval(p.start, p.end)
        support.append(
            {
                "mode": str(getattr(p.mode, "value", p.mode)),
                "fio2": getattr(p, "fio2", None),
                "start": _days(tl, s, zero),
                "end": _days(tl, e if e is not None else last, zero),
                "ongoing": e is None,
            }
        )
    series: dict[str, list[list[float]]] = {}
    units: dict[str, str] = {}
    for o in sorted(tl.observations, key=lambda o: tl.at(o.time)):
        series.setdefault(o.code, []).append([_days(tl, tl.at(o.time), zero), o.value])
        units[o.code] = o.unit
    placed = {c for p in panels for c in p}
    out_panels = [[c for c in p if c in series] for p in panels]
    rest = sorted(c for c in series if c not in placed)
    if rest:
        out_panels.append(rest)
    events = [
        {"label": lab, "day": _days(tl, tl.anchors[k], zero)}
        for lab, k in zip(labels, keys, strict=True)
    ]
    return {
        "patient_id": tl.patient.patient_id,
        "anchor": chosen,
        "anchors": labels,
        "relative": tl.time_basis == "relative",
        "drugs": drugs,
        "support": support,
        "panels": [
            [
                {
                    "code": c,
                    "name": marker_names.get(c, c),
                    "unit": units.get(c, ""),
                    "points": series[c],
                }
                for c in p
            ]
            for p in out_panels
            if p
        ],
        "events": events,
    }
