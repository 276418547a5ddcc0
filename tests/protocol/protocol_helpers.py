"""Build small timelines for protocol tests: fill only what a test needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ruxtrack.timeline import (
    Assessment,
    DrugExposure,
    Event,
    Observation,
    Patient,
    Timeline,
)

PID = "P1"


@dataclass
class TimelineBuilder:
    """Days are offsets from a fixed start date (day 0 = 2020-05-01)."""

    age: float = 50.0
    sex: str = "male"
    events: list[Event] = field(default_factory=list)
    obs: list[Observation] = field(default_factory=list)
    drugs: list[DrugExposure] = field(default_factory=list)
    assessments: list[Assessment] = field(default_factory=list)

    @staticmethod
    def t(day: int) -> str:
        return f"base+{day}d"

    def lab(self, code: str, day: int, value: float, unit: str) -> TimelineBuilder:
        self.obs.append(
            Observation(patient_id=PID, code=code, time=self.t(day), value=value, unit=unit)
        )
        return self

    def cbc(
        self, day: int, plt: float, anc: float, creat_umol: float = 70.0, bili_umol: float = 10.0
    ) -> TimelineBuilder:
        """Platelets, ANC, creatinine, bilirubin and weight (70 kg) on one day."""
        self.lab("plt", day, plt, "10*9/L").lab("anc", day, anc, "10*9/L")
        self.lab("creat", day, creat_umol, "umol/L").lab("bili_total", day, bili_umol, "umol/L")
        self.lab("weight", day, 70.0, "kg")
        return self

    def rux(
        self, dose: float, freq: str, start: int, end: int | None, reason: str | None = None
    ) -> TimelineBuilder:
        self.drugs.append(
            DrugExposure(
                patient_id=PID,
                drug="ruxolitinib",
                dose=dose,
                unit="mg",
                frequency=freq,
                start=self.t(start),
                end=None if end is None else self.t(end),
                reason=reason,
            )
        )
        return self

    def drug(
        self, name: str, dose: float, freq: str, start: int, end: int | None = None
    ) -> TimelineBuilder:
        self.drugs.append(
            DrugExposure(
                patient_id=PID,
                drug=name,
                dose=dose,
                unit="mg",
                frequency=freq,
                start=self.t(start),
                end=None if end is None else self.t(end),
            )
        )
        return self

    def fact(self, kind: str, day: int, value: str) -> TimelineBuilder:
        self.assessments.append(
            Assessment(patient_id=PID, time=self.t(day), kind=kind, value=value)
        )
        return self

    def event(self, name: str, day: int) -> TimelineBuilder:
        self.events.append(Event(patient_id=PID, event=name, time=self.t(day)))
        return self

    def build(self, **patient: Any) -> Timeline:
        base = Event(patient_id=PID, event="base", time="2020-05-01")
        return Timeline(
            patient=Patient(
                patient_id=PID, sex=self.sex, age_years=self.age, age_at="base", **patient
            ),
            events=(base, *self.events),
            observations=tuple(self.obs),
            drugs=tuple(self.drugs),
            assessments=tuple(self.assessments),
        )


def day(n: int) -> Any:
    from datetime import date, timedelta

    return date(2020, 5, 1) + timedelta(days=n)
