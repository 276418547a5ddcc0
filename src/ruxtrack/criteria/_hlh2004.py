"""HLH-2004 diagnostic criteria (Henter 2007): molecular diagnosis, or at least 5 of 8 criteria."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from ruxtrack.criteria._common import (
    Criterion,
    conclude_by_count,
    flag_component,
    lab_component,
    lab_value,
    sources_of,
    status_of,
)
from ruxtrack.criteria._gather import add_findings, lab_datum, stated_finding
from ruxtrack.criteria._knowledge import CriterionFile, Freshness, Threshold, load_file
from ruxtrack.criteria._model import Component, Conclusion, Evaluation, InputSpec, Status
from ruxtrack.criteria._values import Datum, Inputs, any_of, test
from ruxtrack.knowledge import SourceRef

if TYPE_CHECKING:
    from ruxtrack.timeline import Timeline

_F = ConfigDict(frozen=True, extra="forbid")


class _Cytopenias(BaseModel):
    model_config = _F
    required: int
    lineages: dict[str, Threshold]
    infant_hb: Threshold
    infant_age_days_below: float


class HlhFile(CriterionFile):
    required_met: int
    required_met_source: SourceRef
    freshness: Freshness
    fever_temperature: Threshold
    cytopenias: _Cytopenias
    tg: Threshold
    fibrinogen: Threshold
    ferritin: Threshold
    sil2r_units: Threshold
    findings_source: SourceRef


def knowledge() -> HlhFile:
    return load_file("hlh2004", HlhFile)


INPUTS = (
    InputSpec(key="fever", kind="bool", description="fever present"),
    InputSpec(
        key="temp",
        kind="lab",
        code="temp",
        unit="Cel",
        description="body temperature; used only when `fever` is not given (>=38.5 °C meets it)",
    ),
    InputSpec(key="splenomegaly", kind="bool", description="splenomegaly present"),
    InputSpec(key="hb", kind="lab", code="hb", unit="g/L", description="haemoglobin"),
    InputSpec(key="plt", kind="lab", code="plt", unit="10*9/L", description="platelets"),
    InputSpec(
        key="anc", kind="lab", code="anc", unit="10*9/L", description="absolute neutrophil count"
    ),
    InputSpec(
        key="pancytopenia",
        kind="bool",
        description="pancytopenia stated by the treating team "
        "(meets the cytopenia criterion as stated)",
    ),
    InputSpec(
        key="tg", kind="lab", code="tg", unit="mmol/L", description="triglycerides (fasting)"
    ),
    InputSpec(
        key="fibrinogen", kind="lab", code="fibrinogen", unit="g/L", description="fibrinogen"
    ),
    InputSpec(
        key="hemophagocytosis",
        kind="bool",
        description="haemophagocytosis in bone marrow, spleen or lymph nodes",
    ),
    InputSpec(key="nk_activity_low", kind="bool", description="low or absent NK-cell activity"),
    InputSpec(key="ferritin", kind="lab", code="ferritin", unit="ug/L", description="ferritin"),
    InputSpec(
        key="sil2r_units",
        kind="lab",
        code="sil2r_units",
        unit="[arb'U]/mL",
        description="soluble CD25 (sIL-2R) in assay units",
    ),
    InputSpec(
        key="molecular_diagnosis",
        kind="bool",
        description="molecular diagnosis consistent with HLH (PRF1, UNC13D, STX11, ...)",
    ),
    InputSpec(
        key="age_days",
        kind="number",
        unit="d",
        description="age in days (Hb threshold <100 g/L below 4 weeks)",
    ),
    InputSpec(key="age_years", kind="number", unit="a", description="age in years"),
    InputSpec(
        key="stated_criteria_met",
        kind="number",
        description="number of criteria met as stated by the authors (compared, never used)",
    ),
)


def _age_days(inputs: Inputs) -> float | None:
    d = inputs.number("age_days")
    if d is not None:
        return d
    y = inputs.number("age_years")
    return None if y is None else y * 365.25


def _fever(f: HlhFile, inputs: Inputs) -> Component:
    if inputs.flag("fever") is not None:
        return flag_component("fever", "Fever", inputs, "fever", f.findings_source)
    m = inputs.lab("temp")
    thr = f.fever_temperature
    src = thr.source.label() if thr.source else None
    if m is None:
        return Component(
            name="fever",
            label="Fever",
            status=Status.unknown,
            threshold="present",
            source=f.findings_source.label(),
        )
    hit = test(m, thr)
    return Component(
        name="fever",
        label="Fever",
        status=Status.met if hit else Status.unknown,
        value=lab_value(m),
        unit=m.unit,
        time=inputs.time_of("temp"),
        threshold=thr.text(),
        source=src,
        basis=inputs.basis_of("temp"),
        note=(
            "fever taken from a temperature reading; the primary table gives no threshold"
            if hit
            else "one temperature below the threshold does not exclude fever"
        ),
    )


def _cytopenias(f: HlhFile, inputs: Inputs) -> tuple[Component, list[str]]:
    cy = f.cytopenias
    alerts: list[str] = []
    results: dict[str, bool | None] = {}
    shown: list[str] = []
    age = _age_days(inputs)
    for code, thr in cy.lineages.items():
        m = inputs.lab(code)
        if m is None:
            results[code] = None
            continue
        shown.append(f"{code} {m.text()}")
        if code == "hb":
            infant = test(m, cy.infant_hb)
            older = test(m, thr)
            if age is None:
                results[code] = older if older == infant else None
                if older != infant:
                    alerts.append(
                        "Hb between 90 and 100 g/L: give age_days (infants <4 weeks: <100 g/L)"
                    )
            else:
                results[code] = infant if age < cy.infant_age_days_below else older
        else:
            results[code] = test(m, thr)
    met = sum(1 for v in results.values() if v is True)
    open_ = sum(1 for v in results.values() if v is None)
    computed: bool | None
    if met >= cy.required:
        computed = True
    elif met + open_ < cy.required:
        computed = False
    else:
        computed = None
    keys = [k for k in cy.lineages if inputs.lab(k) is not None]
    threshold = (
        f"≥{cy.required} of: Hb {cy.lineages['hb'].text()} (infants <4 weeks "
        f"{cy.infant_hb.text()}), platelets {cy.lineages['plt'].text()}, "
        f"neutrophils {cy.lineages['anc'].text()}"
    )
    src = cy.lineages["hb"].source
    comp = Component(
        name="cytopenias",
        label="Cytopenias in ≥2 of 3 lineages",
        status=status_of(computed),
        value=f"{met} of 3 lineages" if keys else None,
        time=inputs.time_of(*keys),
        threshold=threshold,
        source=None if src is None else src.label(),
        basis=inputs.basis_of(*keys),
        note="; ".join(shown) or None,
    )
    stated = inputs.datum("pancytopenia")
    if computed is not True and stated is not None and stated.value is True:
        if computed is False:
            alerts.append(
                "cytopenias: the laboratory values do not meet the criterion, but pancytopenia is "
                "stated; the stated finding is used"
            )
        comp = comp.model_copy(
            update={
                "status": Status.met,
                "value": "pancytopenia (stated finding)",
                "time": stated.time,
                "basis": "stated finding",
                "note": "met as stated by the treating team, not computed from counts"
                + (f" (counts: {'; '.join(shown)})" if shown else ""),
            }
        )
    return comp, alerts


def _tg_fibrinogen(f: HlhFile, inputs: Inputs) -> Component:
    tg, fib = inputs.lab("tg"), inputs.lab("fibrinogen")
    t_tg = None if tg is None else test(tg, f.tg)
    t_fib = None if fib is None else test(fib, f.fibrinogen)
    shown = ([f"TG {tg.text()}"] if tg else []) + ([f"fibrinogen {fib.text()}"] if fib else [])
    keys = [k for k in ("tg", "fibrinogen") if inputs.lab(k) is not None]
    note = "the criterion asks for fasting TG: check the sample was fasting" if t_tg else None
    return Component(
        name="hypertriglyceridemia_or_hypofibrinogenemia",
        label="Hypertriglyceridaemia and/or hypofibrinogenaemia",
        status=status_of(any_of([t_tg, t_fib])),
        value="; ".join(shown) or None,
        time=inputs.time_of(*keys),
        threshold=f"fasting TG {f.tg.text()} or fibrinogen {f.fibrinogen.text()}",
        source=f.tg.source.label() if f.tg.source else None,
        basis=inputs.basis_of(*keys),
        note=note,
    )


def evaluate(inputs: Inputs) -> Evaluation:
    f = knowledge()
    src = f.findings_source
    cyto, alerts = _cytopenias(f, inputs)
    comps = [
        _fever(f, inputs),
        flag_component("splenomegaly", "Splenomegaly", inputs, "splenomegaly", src),
        cyto,
        _tg_fibrinogen(f, inputs),
        flag_component(
            "hemophagocytosis",
            "Haemophagocytosis (marrow, spleen or lymph nodes)",
            inputs,
            "hemophagocytosis",
            src,
        ),
        flag_component(
            "nk_activity_low", "Low or absent NK-cell activity", inputs, "nk_activity_low", src
        ),
        lab_component("ferritin", "Ferritin", inputs, "ferritin", f.ferritin, f.ferritin.source),
        lab_component(
            "soluble_cd25",
            "Soluble CD25 (sIL-2R)",
            inputs,
            "sil2r_units",
            f.sil2r_units,
            f.sil2r_units.source,
            note="normal values vary with age (Jordan 2011)",
        ),
    ]
    mol = inputs.flag("molecular_diagnosis")
    comps.append(
        Component(
            name="molecular_diagnosis",
            label="Molecular diagnosis consistent with HLH",
            status=status_of(mol),
            value=mol,
            time=inputs.time_of("molecular_diagnosis"),
            threshold="present (alternative route)",
            source=f.source.label(),
            basis=inputs.basis_of("molecular_diagnosis"),
            counted=False,
            note=None
            if mol is not None
            else "not stated: treated as not asserted (the conclusion rests on the 8 criteria)",
        )
    )
    met = sum(1 for c in comps if c.counted and c.status is Status.met)
    unknown = sum(1 for c in comps if c.counted and c.status is Status.unknown)
    conclusion = Conclusion.established if mol else conclude_by_count(met, unknown, f.required_met)
    stated = inputs.number("stated_criteria_met")
    if stated is not None:
        alerts.append(
            f"stated {stated:g} of 8 criteria met; computed {met}"
            + (f" (+{unknown} unknown)" if unknown else "")
            + ("" if stated == met else ": they differ")
        )
    return Evaluation(
        id="hlh2004",
        name=f.name,
        total=met,
        total_min=met,
        total_max=met + unknown,
        unit="criteria met of 8",
        components=tuple(comps),
        conclusion=conclusion,
        alerts=tuple(alerts),
        sources=sources_of(f),
    )


def gather(tl: Timeline, at: datetime, ctx: Any) -> Inputs:
    f = knowledge()
    labs, finds = f.freshness.labs_days, f.freshness.findings_days
    data: dict[str, Datum] = {}
    for key in ("temp", "hb", "plt", "anc", "tg", "fibrinogen", "ferritin", "sil2r_units"):
        d = lab_datum(tl, key, key, at, labs)
        if d is not None:
            data[key] = d
    add_findings(
        data,
        tl,
        ("fever", "splenomegaly", "hemophagocytosis", "nk_activity_low", "molecular_diagnosis"),
        at,
        finds,
    )
    counts = [
        (t, a)
        for t, a in tl.assessments_of("hlh2004_criteria_met")
        if t <= at
        and (finds is None or (at - t).total_seconds() <= finds * 86400)
        and a.as_float() is not None
    ]
    if counts:
        t, a = counts[-1]
        data["stated_criteria_met"] = Datum(
            "stated_criteria_met", a.as_float(), time=str(a.time), instant=t, basis="assessment"
        )
    d = stated_finding(tl, "pancytopenia", at, finds)
    if d is not None:
        data["pancytopenia"] = d
    age = tl.age_at(at)
    if age is not None:
        data["age_years"] = Datum("age_years", age, basis="patient record")
    return Inputs(data)


def severity(e: Evaluation) -> tuple[float, ...]:
    return (float(e.total or 0), float(e.total_max or 0))


CRITERION = Criterion(
    id="hlh2004",
    name="HLH-2004 diagnostic criteria",
    description="Henter 2007: HLH is established by a molecular diagnosis or by at least 5 of 8 "
    "clinical and laboratory criteria.",
    inputs=lambda: INPUTS,
    evaluate=evaluate,
    knowledge=knowledge,
    gather=gather,
    severity=severity,
    codes=("temp", "hb", "plt", "anc", "tg", "fibrinogen", "ferritin", "sil2r_units"),
    kinds=(
        "hlh2004_criteria_met",
        "fever",
        "splenomegaly",
        "hemophagocytosis",
        "nk_activity_low",
        "molecular_diagnosis",
        "finding",
    ),
)
