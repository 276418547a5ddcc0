"""Shared builders for criteria tests (fill only what each test needs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ruxtrack.timeline import (
    Assessment,
    DrugExposure,
    Event,
    Observation,
    Patient,
    SupportEpisode,
    Timeline,
)
from ruxtrack.units import normalize

PID = "T1"


@dataclass
class TimelineBuilder:
    """Build a Timeline record by record; lab values are normalised by the units layer."""

    sex: str = "female"
    age_years: float | None = None
    events: list[Event] = field(default_factory=list)
    obs: list[Observation] = field(default_factory=list)
    drugs: list[DrugExposure] = field(default_factory=list)
    support: list[SupportEpisode] = field(default_factory=list)
    assessments: list[Assessment] = field(default_factory=list)

    def event(self, name: str, time: str, occurrence: int = 1) -> TimelineBuilder:
        self.events.append(Event(patient_id=PID, event=name, time=time, occurrence=occurrence))
        return self

    def lab(
        self, code: str, time: str, value: float, unit: str, comparator: str | None = None
    ) -> TimelineBuilder:
        n = normalize(code, value, unit)
        self.obs.append(
            Observation(
                patient_id=PID,
                time=time,
                code=code,
                value=n.value,
                unit=n.unit,
                source_value=value,
                source_unit=unit,
                comparator=comparator,
            )
        )
        return self

    def find(self, kind: str, time: str, value: str, code: str | None = None) -> TimelineBuilder:
        self.assessments.append(
            Assessment(patient_id=PID, time=time, kind=kind, value=value, code=code)
        )
        return self

    def drug(
        self,
        drug: str,
        dose: float,
        unit: str,
        frequency: str,
        start: str,
        end: str | None = None,
        route: str = "oral",
    ) -> TimelineBuilder:
        self.drugs.append(
            DrugExposure(
                patient_id=PID,
                drug=drug,
                dose=dose,
                unit=unit,
                frequency=frequency,
                start=start,
                end=end,
                route=route,
            )
        )
        return self

    def on(
        self, mode: str, start: str, end: str | None = None, fio2: float | None = None
    ) -> TimelineBuilder:
        self.support.append(
            SupportEpisode(patient_id=PID, mode=mode, start=start, end=end, fio2=fio2)
        )
        return self

    def build(self) -> Timeline:
        kwargs: dict[str, Any] = {"patient_id": PID, "sex": self.sex}
        if self.age_years is not None:
            kwargs["age_years"] = self.age_years
        return Timeline(
            patient=Patient(**kwargs),
            events=tuple(self.events),
            observations=tuple(self.obs),
            drugs=tuple(self.drugs),
            support=tuple(self.support),
            assessments=tuple(self.assessments),
        )


def seed_000_builder() -> TimelineBuilder:
    """Tomomasa et al., Clin Case Rep 2021 (seed 000), as the paper states it.

    Quotes: "Six of the eight HLH 2004 diagnostic criteria were fulfilled, namely, fever,
    splenomegaly, pancytopenia, hypertriglyceridemia (maximum, 5180 mg/dl), hemophagocytic
    lymphocytes in bone marrow, and hyperferritinemia (maximum, 17,509 ng/ml)"; "Neutropenia
    (grade 3), anemia (grade 3), and thrombocytopenia (grade 3) were manageable by reduction in
    ruxolitinib to 5 mg/day on day 131"; NC from day 57, HFNC day 73-85, no oxygen from day 89;
    methylprednisolone 1 mg/kg/day from day 16, pulse 10 mg/kg/day x3 with ruxolitinib day 74.
    """
    b = TimelineBuilder(sex="female", age_years=11)
    b.event("hsct", "origin").event("hsct", "hsct+65d", occurrence=2)
    b.event("rux_start", "hsct#2+74d")
    day = "hsct#2+73d"
    b.find("fever", day, "true").find("splenomegaly", day, "true")
    b.find("finding", day, "pancytopenia").find("hemophagocytosis", day, "true")
    b.lab("tg", day, 5180, "mg/dL").lab("ferritin", day, 17509, "ng/mL")
    for term in ("neutrophil_count_decreased", "anemia", "platelet_count_decreased"):
        b.find("ctcae_grade", "hsct#2+128d", "3", code=term)
    b.on("nasal_cannula", "hsct#2+57d", "hsct#2+72d")
    b.on("hfnc", "hsct#2+73d", "hsct#2+85d")
    b.on("room_air", "hsct#2+89d", "hsct#2+100d")
    b.drug("methylprednisolone", 1, "mg/kg", "QD", "hsct#2+16d", "hsct#2+73d", route="iv")
    b.drug("methylprednisolone", 10, "mg/kg", "QD", "hsct#2+74d", "hsct#2+76d", route="iv")
    b.drug("budesonide", 6, "mg", "QD", "hsct#2+55d", "hsct#2+64d")
    b.drug("ruxolitinib", 20, "mg", "QD", "hsct#2+74d", "hsct#2+130d")
    return b
