"""A patient's course day by day relative to an anchor (what ``ruxtrack timeline`` shows)."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time

from ruxtrack.errors import TimelineError
from ruxtrack.sources._rows import format_number
from ruxtrack.timeline import Timeline
from ruxtrack.units import UnknownLabCodeError, load_catalogue

__all__ = ["Course", "CourseDay", "CourseEntry", "course"]

_ANCHOR = re.compile(r"^(?P<event>[a-z][a-z0-9_]*)(?:#(?P<occ>[1-9][0-9]*))?$")
#: Order of kinds within one moment: what happened, then how the patient was supported and
#: treated, then what was measured and assessed.
_KIND_ORDER = {"event": 0, "support": 1, "drug": 2, "lab": 3, "assessment": 4}


@dataclass(frozen=True)
class CourseEntry:
    """One line of the course: ``kind`` is event, support, drug, lab or assessment."""

    kind: str
    time: datetime
    clock: str | None
    text: str


@dataclass(frozen=True)
class CourseDay:
    """Everything recorded on one calendar day; ``date`` is None for relative-only patients."""

    day: int
    date: date | None
    entries: tuple[CourseEntry, ...]


@dataclass(frozen=True)
class Course:
    """A patient's course relative to ``anchor`` (day 0 is the anchor's calendar day)."""

    patient_id: str
    anchor: str
    anchor_time: datetime | None
    relative: bool
    days: tuple[CourseDay, ...]


def _parse_anchor(text: str) -> tuple[str, int]:
    m = _ANCHOR.match(text.strip())
    if m is None:
        raise TimelineError(f'"{text}" is not an event name (e.g. admission, hsct#2)')
    return m["event"], int(m["occ"] or 1)


def _default_anchor(tl: Timeline) -> tuple[str, int] | None:
    origin = [e for e in tl.events if e.time.origin]
    if origin:
        return origin[0].key
    if tl.anchor("admission") is not None:
        return ("admission", 1)
    if not tl.anchors:
        return None
    return min(tl.anchors.items(), key=lambda kv: kv[1])[0]


def _label(key: tuple[str, int]) -> str:
    return key[0] if key[1] == 1 else f"{key[0]}#{key[1]}"


def _unit(code: str, unit: str) -> str:
    try:
        entry = load_catalogue().get(code)
    except UnknownLabCodeError:
        return unit
    return entry.display_unit if entry.canonical_unit == unit else unit


def course(timeline: Timeline, anchor: str | None = None) -> Course:
    """Group a timeline's records by calendar day relative to an anchor event.

    Parameters
    ----------
    timeline
        The patient's timeline.
    anchor
        ``event`` or ``event#N``. Default: the origin event of a patient recorded in relative
        days, else the first admission, else the earliest event.

    Raises
    ------
    TimelineError
        When the patient has no such event.
    """
    tl = timeline
    relative = tl.time_basis == "relative"
    if anchor is not None:
        key: tuple[str, int] | None = _parse_anchor(anchor)
        assert key is not None
        if tl.anchor(*key) is None:
            have = ", ".join(_label(k) for k in sorted(tl.anchors, key=lambda k: tl.anchors[k]))
            raise TimelineError(
                f"patient {tl.patient.patient_id} has no event {_label(key)}"
                + (f"; events: {have}" if have else "; the patient has no events")
            )
    else:
        key = _default_anchor(tl)
    zero: datetime | None = None if key is None else tl.anchors[key]
    entries = _entries(tl, relative, zero)
    if key is not None:
        label = _label(key)
    else:
        zero = min((e.time for e in entries), default=None)
        label = "first record"
    by_day: dict[int, list[CourseEntry]] = defaultdict(list)
    for e in entries:
        assert zero is not None
        by_day[(e.time.date() - zero.date()).days].append(e)
    days = []
    for d in sorted(by_day):
        items = sorted(by_day[d], key=lambda e: (e.time, _KIND_ORDER[e.kind]))
        when = None if relative else items[0].time.date()
        days.append(CourseDay(d, when, tuple(items)))
    return Course(tl.patient.patient_id, label, zero, relative, tuple(days))


def _clock(t: datetime, relative: bool) -> str | None:
    if relative or t.time() == time(0):
        return None
    return t.strftime("%H:%M")


def _span(end: datetime | None, zero: datetime | None) -> str:
    if end is None:
        return "ongoing"
    if zero is None:
        return f"until {end.date().isoformat()}"
    return f"until day {(end.date() - zero.date()).days}"


def _entries(tl: Timeline, relative: bool, zero: datetime | None) -> list[CourseEntry]:
    out: list[CourseEntry] = []

    def add(kind: str, t: datetime, text: str) -> None:
        out.append(CourseEntry(kind, t, _clock(t, relative), text))

    for ev in tl.events:
        text = ev.label
        tx = ev.transplant
        if tx is not None:
            parts = [
                p
                for p in (
                    tx.donor_type,
                    None if tx.hla_match is None else f"HLA {tx.hla_match}",
                    tx.cell_source,
                    tx.conditioning_intensity,
                )
                if p
            ]
            if tx.conditioning:
                parts.append("conditioning " + ", ".join(str(a) for a in tx.conditioning))
            if tx.gvhd_prophylaxis:
                parts.append("GVHD prophylaxis " + ", ".join(tx.gvhd_prophylaxis))
            if parts:
                text += " (" + "; ".join(parts) + ")"
        add("event", tl.at(ev.time), text)
    for ep in tl.support:
        s, e = tl.interval(ep.start, ep.end)
        bits = [ep.mode.value]
        if ep.fio2 is not None:
            bits.append(f"FiO2 {format_number(ep.fio2)}%")
        if ep.flow_l_min is not None:
            bits.append(f"{format_number(ep.flow_l_min)} L/min")
        add("support", s, " ".join(bits) + f" ({_span(e, zero)})")
    for d in tl.drugs:
        s, e = tl.interval(d.start, d.end)
        text = (
            f"{d.drug} {format_number(d.dose)} {d.unit.value} {d.frequency.value} {d.route.value}"
            f" ({_span(e, zero)})"
        )
        if d.reason:
            text += f" — {d.reason}"
        add("drug", s, text)
    for o in tl.observations:
        comp = "" if o.comparator is None else o.comparator.value
        text = f"{o.code} {comp}{format_number(o.value)} {_unit(o.code, o.unit)}"
        if o.source_value is not None and o.source_value != o.value:
            text += f" (given as {format_number(o.source_value)} {o.source_unit or 'no unit'})"
        add("lab", tl.at(o.time), text)
    for a in tl.assessments:
        text = f"{a.kind}: {a.value}" + ("" if a.code is None else f" [{a.code}]")
        add("assessment", tl.at(a.time), text)
    return out
