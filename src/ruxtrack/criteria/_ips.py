"""Idiopathic pneumonia syndrome (ATS 2011): positive findings and required exclusions."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from ruxtrack.criteria._common import Criterion, flag_component, sources_of
from ruxtrack.criteria._gather import finding_datum
from ruxtrack.criteria._knowledge import CriterionFile, Freshness, load_file
from ruxtrack.criteria._model import Component, Conclusion, Evaluation, InputSpec, Status
from ruxtrack.criteria._values import Datum, Inputs
from ruxtrack.knowledge import SourceRef

if TYPE_CHECKING:
    from ruxtrack.timeline import Assessment, Timeline

_F = ConfigDict(frozen=True, extra="forbid")


class _Part(BaseModel):
    model_config = _F
    name: str
    input: str
    met_when: bool
    label: str


class IpsFile(CriterionFile):
    freshness: Freshness
    components: tuple[_Part, ...]
    component_source: SourceRef
    infection_workup: dict[str, bool | None]
    infection_workup_source: SourceRef


def knowledge() -> IpsFile:
    return load_file("ips", IpsFile)


def _inputs() -> tuple[InputSpec, ...]:
    f = knowledge()
    specs = [
        InputSpec(
            key=p.input,
            kind="bool",
            description=(
                p.label
                if p.met_when
                else f"{p.input.replace('_', ' ')} present as the cause (true excludes IPS)"
            ),
        )
        for p in f.components
    ]
    specs.append(
        InputSpec(
            key="infection_workup",
            kind="enum",
            choices=tuple(f.infection_workup),
            description="result of the infection work-up "
            "(used when infection_excluded is not given; "
            "only a negative BAL work-up meets criterion II)",
        )
    )
    return tuple(specs)


def evaluate(inputs: Inputs) -> Evaluation:
    f = knowledge()
    src = f.component_source
    comps: list[Component] = []
    alerts: list[str] = []
    for part in f.components:
        data = inputs
        if part.input == "infection_excluded" and inputs.flag("infection_excluded") is None:
            workup = inputs.choice("infection_workup")
            if workup is not None:
                mapped = f.infection_workup[workup]
                d = inputs.datum("infection_workup")
                assert d is not None
                if mapped is not None:
                    data = inputs.with_data(
                        infection_excluded=Datum(
                            "infection_excluded", mapped, d.time, d.instant, d.basis
                        )
                    )
                else:
                    alerts.append(
                        f"infection work-up '{workup}': without a negative BAL, criterion II stays "
                        f"unknown ({f.infection_workup_source.label()})"
                    )
        comp = flag_component(part.name, part.label, data, part.input, src, met_when=part.met_when)
        if part.input == "infection_excluded" and inputs.choice("infection_workup"):
            comp = comp.model_copy(update={"note": f"work-up: {inputs.choice('infection_workup')}"})
        comps.append(comp)
    if any(c.status is Status.not_met for c in comps):
        conclusion = Conclusion.excluded
    elif all(c.status is Status.met for c in comps):
        conclusion = Conclusion.established
    else:
        conclusion = Conclusion.undecidable
    met = sum(1 for c in comps if c.status is Status.met)
    unknown = sum(1 for c in comps if c.status is Status.unknown)
    return Evaluation(
        id="ips",
        name=f.name,
        total=met,
        total_min=met,
        total_max=met + unknown,
        unit=f"components met of {len(comps)}",
        components=tuple(comps),
        conclusion=conclusion,
        alerts=tuple(alerts),
        sources=sources_of(f),
    )


def gather(tl: Timeline, at: datetime, ctx: Any) -> Inputs:
    f = knowledge()
    data: dict[str, Datum] = {}
    for part in f.components:
        d = finding_datum(tl, part.input, at, f.freshness.findings_days)
        if d is not None:
            data[part.input] = d
    horizon = f.freshness.findings_days
    hits = [
        (t, a)
        for t, a in tl.assessments_of("infection_workup")
        if t <= at
        and (horizon is None or (at - t).total_seconds() <= horizon * 86400)
        and a.value.strip().lower() in f.infection_workup
    ]
    if hits and "infection_excluded" not in data:
        # an infection found outweighs a negative BAL, which outweighs a work-up without BAL
        def strength(hit: tuple[datetime, Assessment]) -> tuple[int, datetime]:
            mapped = f.infection_workup[hit[1].value.strip().lower()]
            return ({False: 2, True: 1, None: 0}[mapped], hit[0])

        t, a = max(hits, key=strength)
        data["infection_workup"] = Datum(
            "infection_workup",
            a.value.strip().lower(),
            time=str(a.time),
            instant=t,
            basis="assessment",
        )
    return Inputs(data)


def severity(e: Evaluation) -> tuple[float, ...]:
    rank = {Conclusion.excluded: 0, Conclusion.undecidable: 1, Conclusion.established: 2}
    return (float(rank[e.conclusion]), float(e.total or 0))


CRITERION = Criterion(
    id="ips",
    name="Idiopathic pneumonia syndrome (ATS 2011)",
    description="Panoskaltsis-Mortari 2011: widespread alveolar injury (3 findings), absence of "
    "active lower respiratory tract infection (negative BAL work-up), and absence of cardiac "
    "dysfunction, acute renal failure or iatrogenic fluid overload as the cause.",
    inputs=_inputs,
    evaluate=evaluate,
    knowledge=knowledge,
    gather=gather,
    severity=severity,
    kinds=(
        "multilobar_infiltrates",
        "pneumonia_signs",
        "abnormal_pulmonary_physiology",
        "infection_excluded",
        "cardiac_dysfunction",
        "acute_renal_failure",
        "fluid_overload",
        "infection_workup",
        "finding",
    ),
)
