"""The patient timeline: the vocabulary every other part of ruxtrack speaks.

Records hold times as written (:class:`TimeRef`); :class:`Timeline` resolves them against the
patient's anchor events. Lab values are stored in the catalogue's canonical unit; the unit as
received is kept beside the value for audit.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ruxtrack.errors import TimelineError
from ruxtrack.timeline._time import NOMINAL_EPOCH, TimeRef, parse_time
from ruxtrack.timeline._vocab import (
    Comparator,
    DoseUnit,
    Frequency,
    Route,
    Sex,
    SupportMode,
)

__all__ = [
    "Assessment",
    "Comorbidity",
    "ConditioningAgent",
    "DrugExposure",
    "Event",
    "Observation",
    "Patient",
    "SupportEpisode",
    "Timeline",
    "TransplantDetails",
]

PATIENT_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
IDENT = r"^[a-z][a-z0-9_]*$"
_FROZEN = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

PatientId = Annotated[str, Field(pattern=PATIENT_ID, description="pseudonymous patient id")]
Ident = Annotated[str, Field(pattern=IDENT, max_length=64)]


def _coerce_time(value: Any) -> Any:
    if value is None or isinstance(value, TimeRef | dict):
        return value
    return parse_time(value)


class Comorbidity(BaseModel):
    """A pre-existing condition, coded where a code exists (ICD-10, SNOMED CT)."""

    model_config = _FROZEN

    name: Ident
    code: str | None = None
    system: str | None = None


class Patient(BaseModel):
    """One pseudonymous patient. Free text stays out of this model."""

    model_config = _FROZEN

    patient_id: PatientId
    sex: Sex = Sex.unknown
    birth_date: date | None = None
    age_years: Annotated[float, Field(ge=0, le=130)] | None = None
    age_at: str | None = Field(
        default=None,
        description="anchor event at which age_years was recorded (default: the first admission, "
        "else the earliest event)",
    )
    blood_group: Annotated[str, Field(pattern=r"^(A|B|AB|O)[+-]?$")] | None = None
    comorbidities: tuple[Comorbidity, ...] = ()
    synthetic: bool = False

    @model_validator(mode="after")
    def _age_consistent(self) -> Patient:
        if self.birth_date is not None and self.age_years is not None:
            raise ValueError("give birth_date or age_years, not both")
        return self


class ConditioningAgent(BaseModel):
    """One agent of a conditioning regimen with its total dose (e.g. Flu 125 mg/m2, TBI 4 Gy)."""

    model_config = _FROZEN

    agent: str
    dose: Annotated[float, Field(ge=0)] | None = None
    unit: str | None = None

    def __str__(self) -> str:
        if self.dose is None:
            return self.agent
        return f"{self.agent} {self.dose:g} {self.unit or ''}".strip()


class TransplantDetails(BaseModel):
    """What a stem-cell transplant event records beyond its time."""

    model_config = _FROZEN

    donor_type: str | None = None  # e.g. haplo_related, mrd, mud, mmud, ucb, auto
    hla_match: Annotated[str, Field(pattern=r"^\d{1,2}/\d{1,2}$")] | None = None
    cell_source: str | None = None  # bm, pb, cb
    conditioning: tuple[ConditioningAgent, ...] = ()
    conditioning_intensity: str | None = None  # mac, ric, nma
    gvhd_prophylaxis: tuple[str, ...] = ()


class _Timed(BaseModel):
    model_config = _FROZEN

    patient_id: PatientId
    provenance: str | None = Field(
        default=None, description="where the value comes from: a quote, a locator, a source row"
    )


class Event(_Timed):
    """An anchor on the timeline: admission, transplant, ruxolitinib start, death, ...

    ``occurrence`` numbers repeated events of the same name (the 2nd transplant is ``hsct#2``).
    """

    event: Ident
    occurrence: Annotated[int, Field(ge=1)] = 1
    time: TimeRef
    transplant: TransplantDetails | None = None

    _time = field_validator("time", mode="before")(_coerce_time)

    @property
    def key(self) -> tuple[str, int]:
        return (self.event, self.occurrence)

    @property
    def label(self) -> str:
        return self.event if self.occurrence == 1 else f"{self.event}#{self.occurrence}"


class Observation(_Timed):
    """A lab value or vital sign in the catalogue's canonical unit.

    ``comparator`` marks a censored value ("< 0.5"). ``source_value``/``source_unit`` keep what
    was received before conversion.
    """

    time: TimeRef
    code: Ident
    value: float
    unit: str
    comparator: Comparator | None = None
    source_value: float | None = None
    source_unit: str | None = None

    _time = field_validator("time", mode="before")(_coerce_time)

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float) -> float:
        if v != v or v in (float("inf"), float("-inf")):
            raise ValueError("value must be a finite number")
        return v


class DrugExposure(_Timed):
    """A drug given at one dose and frequency over an interval (a dose change starts a new row)."""

    drug: Ident
    rxnorm: Annotated[str, Field(pattern=r"^\d+$")] | None = None
    dose: Annotated[float, Field(ge=0)]
    unit: DoseUnit
    frequency: Frequency
    route: Route = Route.oral
    start: TimeRef
    end: TimeRef | None = Field(
        default=None, description="last day given (inclusive); None: ongoing"
    )
    reason: str | None = None

    _start = field_validator("start", "end", mode="before")(_coerce_time)

    @property
    def daily_dose(self) -> float | None:
        """Dose per day in ``unit`` (QOD counts one half), or None for once/PRN/continuous."""
        per_day = self.frequency.per_day
        return None if per_day is None else self.dose * per_day


class SupportEpisode(_Timed):
    """An episode of one respiratory-support mode; FiO2 in % (21-100)."""

    mode: SupportMode
    start: TimeRef
    end: TimeRef | None = None
    fio2: Annotated[float, Field(ge=21, le=100)] | None = None
    flow_l_min: Annotated[float, Field(ge=0, le=80)] | None = None

    _start = field_validator("start", "end", mode="before")(_coerce_time)


class Assessment(_Timed):
    """A clinical assessment or qualitative finding recorded as such.

    ``kind`` names what was assessed (``gvhd_stage_lower_gi``, ``fever``, ``splenomegaly``,
    ``hemophagocytosis``, ``stool_volume``, ``ctcae_grade``, ``response_group``, ``finding``, ...);
    ``value`` is the finding as text ("3", "true", "pancytopenia", "elevated").
    ``code`` optionally ties a qualitative finding to a lab code or CTCAE term.
    """

    time: TimeRef
    kind: Ident
    value: str
    code: str | None = None

    _time = field_validator("time", mode="before")(_coerce_time)

    @field_validator("value")
    @classmethod
    def _non_empty(cls, v: str) -> str:
        if not v:
            raise ValueError("value is empty")
        return v

    def as_bool(self) -> bool | None:
        """``True``/``False`` for yes/no findings, None when the value is not a yes/no."""
        return _BOOL.get(self.value.strip().lower())

    def as_float(self) -> float | None:
        try:
            return float(self.value)
        except ValueError:
            return None


_BOOL = {
    "true": True,
    "yes": True,
    "1": True,
    "present": True,
    "false": False,
    "no": False,
    "0": False,
    "absent": False,
}


class Timeline(BaseModel):
    """A patient and everything recorded about them, with times resolved against anchors."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    patient: Patient
    events: tuple[Event, ...] = ()
    observations: tuple[Observation, ...] = ()
    drugs: tuple[DrugExposure, ...] = ()
    support: tuple[SupportEpisode, ...] = ()
    assessments: tuple[Assessment, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> Timeline:
        pid = self.patient.patient_id
        for group in (self.events, self.observations, self.drugs, self.support, self.assessments):
            for rec in group:
                if rec.patient_id != pid:
                    raise ValueError(f"record for patient {rec.patient_id} in timeline of {pid}")
        problems = resolve_anchors(self.events)[1]
        if problems:
            raise ValueError("; ".join(reason for _, reason in problems))
        return self

    # -- time ---------------------------------------------------------------------------------
    @cached_property
    def anchors(self) -> dict[tuple[str, int], datetime]:
        """Resolved instant of every event, keyed by (event, occurrence)."""
        return resolve_anchors(self.events)[0]

    @property
    def time_basis(self) -> str:
        """``absolute`` with real dates; ``relative`` for a patient recorded in days only."""
        return "relative" if any(e.time.origin for e in self.events) else "absolute"

    def at(self, ref: TimeRef | str) -> datetime:
        """Resolve a time on this patient's timeline.

        Raises :class:`TimelineError` when it names an anchor the patient does not have.
        """
        ref = parse_time(ref)
        if ref.absolute is not None:
            return ref.absolute
        if ref.origin:
            return NOMINAL_EPOCH
        assert ref.anchor is not None
        base = self.anchors.get((ref.anchor, ref.occurrence))
        if base is None:
            import difflib

            names = sorted({e for e, _ in self.anchors})
            close = difflib.get_close_matches(ref.anchor, names, n=2, cutoff=0.6)
            hint = (" (did you mean " + " or ".join(close) + "?)") if close else ""
            raise TimelineError(
                f"patient {self.patient.patient_id} has no event "
                f"{ref.anchor}{'' if ref.occurrence == 1 else f'#{ref.occurrence}'}{hint}"
            )
        return base + ref.offset

    def anchor(self, event: str, occurrence: int = 1) -> datetime | None:
        """Instant of an event, or None when the patient does not have it."""
        return self.anchors.get((event, occurrence))

    def day(self, when: datetime | TimeRef | str, event: str, occurrence: int = 1) -> float | None:
        """Days from an anchor (day 0 is the anchor's instant); None without that anchor."""
        base = self.anchor(event, occurrence)
        if base is None:
            return None
        t = when if isinstance(when, datetime) else self.at(when)
        return (t - base) / timedelta(days=1)

    # -- queries ------------------------------------------------------------------------------
    @cached_property
    def _obs_sorted(self) -> dict[str, list[tuple[datetime, Observation]]]:
        out: dict[str, list[tuple[datetime, Observation]]] = {}
        for o in self.observations:
            out.setdefault(o.code, []).append((self.at(o.time), o))
        for series in out.values():
            series.sort(key=lambda p: p[0])
        return out

    def series(self, code: str) -> list[tuple[datetime, Observation]]:
        """All observations of one code in time order, with their resolved times."""
        return list(self._obs_sorted.get(code, []))

    def latest(
        self, code: str, at: datetime, max_age: timedelta | None = None
    ) -> tuple[datetime, Observation] | None:
        """The most recent observation at or before ``at`` (and not older than ``max_age``)."""
        best: tuple[datetime, Observation] | None = None
        for t, o in self._obs_sorted.get(code, []):
            if t > at:
                break
            best = (t, o)
        if best is not None and max_age is not None and at - best[0] > max_age:
            return None
        return best

    def in_window(
        self, code: str, start: datetime, end: datetime
    ) -> list[tuple[datetime, Observation]]:
        """Observations of ``code`` with start <= time <= end."""
        return [(t, o) for t, o in self._obs_sorted.get(code, []) if start <= t <= end]

    def interval(self, start: TimeRef, end: TimeRef | None) -> tuple[datetime, datetime | None]:
        """Resolved [start, end] of a drug or support record (end inclusive, None if ongoing)."""
        return self.at(start), None if end is None else self.at(end)

    def drugs_on(self, when: datetime, drug: str | None = None) -> list[DrugExposure]:
        """Drug exposures covering the calendar day of ``when``."""
        day = when.date()
        out = []
        for d in self.drugs:
            if drug is not None and d.drug != drug:
                continue
            s, e = self.interval(d.start, d.end)
            if s.date() <= day and (e is None or day <= e.date()):
                out.append(d)
        return out

    def support_on(self, when: datetime) -> SupportEpisode | None:
        """The most intensive respiratory support running at ``when``."""
        running = []
        for ep in self.support:
            s, e = self.interval(ep.start, ep.end)
            if s <= when and (e is None or when <= e):
                running.append(ep)
        return max(running, key=lambda ep: ep.mode.rank, default=None)

    def assessments_of(self, kind: str) -> list[tuple[datetime, Assessment]]:
        """Assessments of one kind in time order."""
        out = [(self.at(a.time), a) for a in self.assessments if a.kind == kind]
        out.sort(key=lambda p: p[0])
        return out

    def age_at(self, when: datetime) -> float | None:
        """Age in years at ``when`` (from the birth date, or from age_years at its anchor)."""
        p = self.patient
        if p.birth_date is not None:
            return (when.date() - p.birth_date).days / 365.25
        if p.age_years is None:
            return None
        ref = self._age_reference()
        if ref is None:
            return p.age_years
        return p.age_years + (when - ref) / timedelta(days=365.25)

    def _age_reference(self) -> datetime | None:
        if self.patient.age_at is not None:
            try:
                return self.at(self.patient.age_at)
            except TimelineError:
                return None
        adm = self.anchor("admission")
        if adm is not None:
            return adm
        return min(self.anchors.values(), default=None)


def resolve_anchors(
    events: tuple[Event, ...] | list[Event],
) -> tuple[dict[tuple[str, int], datetime], list[tuple[int, str]]]:
    """Resolve every event's instant; return the instants and the problems found.

    A problem is ``(index of the event, reason)``: duplicate (event, occurrence), an anchor the
    patient does not have, a cycle of anchors, more than one ``origin``, ``origin`` mixed with
    absolute dates, more than one death.
    """
    problems: list[tuple[int, str]] = []
    by_key: dict[tuple[str, int], int] = {}
    for i, e in enumerate(events):
        if e.key in by_key:
            problems.append((i, f"duplicate event {e.label} for patient {e.patient_id}"))
        else:
            by_key[e.key] = i
    origins = [i for i, e in enumerate(events) if e.time.origin]
    if len(origins) > 1:
        problems.extend((i, "more than one event is the origin") for i in origins[1:])
    if origins and any(e.time.absolute is not None for e in events):
        problems.append(
            (
                origins[0],
                "a patient recorded in relative days (origin) cannot also have absolute dates",
            )
        )
    deaths = [i for i, e in enumerate(events) if e.event == "death"]
    if len(deaths) > 1:
        problems.extend((i, "more than one death recorded") for i in deaths[1:])

    resolved: dict[tuple[str, int], datetime] = {}
    state: dict[tuple[str, int], int] = {}  # 1 visiting, 2 done

    def visit(key: tuple[str, int], chain: list[str]) -> datetime | None:
        if key in resolved:
            return resolved[key]
        idx = by_key[key]
        ev = events[idx]
        if state.get(key) == 1:
            cycle = " -> ".join([*chain, ev.label])
            problems.append((idx, f"anchor cycle: {cycle}"))
            return None
        if state.get(key) == 2:
            return None
        state[key] = 1
        t = ev.time
        value: datetime | None
        if t.absolute is not None:
            value = t.absolute
        elif t.origin:
            value = NOMINAL_EPOCH
        else:
            assert t.anchor is not None
            ref = (t.anchor, t.occurrence)
            if ref not in by_key:
                problems.append(
                    (
                        idx,
                        f"{ev.label} is relative to {t.anchor}"
                        f"{'' if t.occurrence == 1 else f'#{t.occurrence}'}, "
                        "which this patient does not have",
                    )
                )
                value = None
            else:
                base = visit(ref, [*chain, ev.label])
                value = None if base is None else base + t.offset
        state[key] = 2
        if value is not None:
            resolved[key] = value
        return value

    for key in by_key:
        visit(key, [])
    return resolved, problems
