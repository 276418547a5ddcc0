"""HScore for reactive haemophagocytic syndrome (Fardet 2014): points from raw values."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, model_validator

from ruxtrack.criteria._common import (
    Criterion,
    conclude_by_range,
    int_bounds,
    lab_value,
    sources_of,
)
from ruxtrack.criteria._gather import add_findings, lab_datum
from ruxtrack.criteria._knowledge import (
    Band,
    CriterionFile,
    Freshness,
    Threshold,
    check_partition,
    load_file,
)
from ruxtrack.criteria._model import Component, Evaluation, InputSpec, Probability, Status
from ruxtrack.criteria._values import Datum, Inputs, Interval, classify, test
from ruxtrack.knowledge import SourceRef

if TYPE_CHECKING:
    from ruxtrack.timeline import Timeline

_F = ConfigDict(frozen=True, extra="forbid")


class _Binned(BaseModel):
    model_config = _F
    unit: str
    bins: tuple[Band, ...]

    @model_validator(mode="after")
    def _partition(self) -> _Binned:
        check_partition(self.bins, full=True)
        return self


class _Cytopenias(BaseModel):
    model_config = _F
    lineages: dict[str, Threshold]
    points_by_count: tuple[int, int, int, int]


class _Cutoff(BaseModel):
    model_config = _F
    value: float
    source: SourceRef


class _Probability(BaseModel):
    model_config = _F
    mapping: str
    label: str
    source: SourceRef
    anchors_source: SourceRef
    bands: tuple[Band, ...]

    @model_validator(mode="after")
    def _partition(self) -> _Probability:
        check_partition(self.bands, full=True)
        return self


class HscoreFile(CriterionFile):
    freshness: Freshness
    cutoff: _Cutoff
    table_source: SourceRef
    known_immunosuppression: dict[str, int]
    organomegaly: dict[str, int]
    hemophagocytosis: dict[str, int]
    temp: _Binned
    cytopenias: _Cytopenias
    ferritin: _Binned
    tg: _Binned
    fibrinogen: _Binned
    ast: _Binned
    probability: _Probability


def knowledge() -> HscoreFile:
    return load_file("hscore", HscoreFile)


INPUTS = (
    InputSpec(
        key="known_immunosuppression",
        kind="bool",
        description="HIV positive or long-term immunosuppressive therapy "
        "(glucocorticoids, ciclosporin, azathioprine)",
    ),
    InputSpec(key="temp", kind="lab", code="temp", unit="Cel", description="temperature (maximum)"),
    InputSpec(key="hepatomegaly", kind="bool", description="hepatomegaly"),
    InputSpec(key="splenomegaly", kind="bool", description="splenomegaly"),
    InputSpec(key="hb", kind="lab", code="hb", unit="g/L", description="haemoglobin"),
    InputSpec(key="wbc", kind="lab", code="wbc", unit="10*9/L", description="leukocytes"),
    InputSpec(key="plt", kind="lab", code="plt", unit="10*9/L", description="platelets"),
    InputSpec(key="ferritin", kind="lab", code="ferritin", unit="ug/L", description="ferritin"),
    InputSpec(key="tg", kind="lab", code="tg", unit="mmol/L", description="triglycerides"),
    InputSpec(
        key="fibrinogen", kind="lab", code="fibrinogen", unit="g/L", description="fibrinogen"
    ),
    InputSpec(key="ast", kind="lab", code="ast", unit="U/L", description="AST (SGOT)"),
    InputSpec(
        key="hemophagocytosis", kind="bool", description="haemophagocytosis on bone-marrow aspirate"
    ),
)


def _points_component(
    name: str,
    label: str,
    lo: int,
    hi: int,
    *,
    value: Any,
    unit: str | None,
    threshold: str,
    source: str,
    inputs: Inputs,
    keys: tuple[str, ...],
    note: str | None = None,
) -> Component:
    status = Status.met if lo > 0 else Status.not_met if hi == 0 else Status.unknown
    return Component(
        name=name,
        label=label,
        status=status,
        value=value,
        unit=unit,
        time=inputs.time_of(*keys),
        points=lo if lo == hi else None,
        range=None if lo == hi else (lo, hi),
        threshold=threshold,
        source=source,
        basis=inputs.basis_of(*keys),
        note=note,
    )


def _binned(f: HscoreFile, inputs: Inputs, key: str, label: str, spec: _Binned) -> Component:
    src = f.table_source.label()
    table = "; ".join(f"{b.text_range(spec.unit)} → {b.points}" for b in spec.bins)
    m = inputs.lab(key)
    if m is None:
        pts = [b.points or 0 for b in spec.bins]
        return _points_component(
            key,
            label,
            min(pts),
            max(pts),
            value=None,
            unit=spec.unit,
            threshold=table,
            source=src,
            inputs=inputs,
            keys=(),
        )
    shown = m.in_unit(spec.unit)
    hits = [b.points or 0 for b in classify(shown.interval(), spec.bins)]
    return _points_component(
        key,
        label,
        min(hits),
        max(hits),
        value=lab_value(shown),
        unit=spec.unit,
        threshold=table,
        source=src,
        inputs=inputs,
        keys=(key,),
    )


def _yes_no(f: HscoreFile, inputs: Inputs, key: str, label: str, pts: dict[str, int]) -> Component:
    v = inputs.flag(key)
    lo, hi = (pts["no"], pts["yes"]) if v is None else (pts["yes"],) * 2 if v else (pts["no"],) * 2
    return _points_component(
        key,
        label,
        lo,
        hi,
        value=v,
        unit=None,
        threshold=f"no → {pts['no']}; yes → {pts['yes']}",
        source=f.table_source.label(),
        inputs=inputs,
        keys=(key,),
    )


def _organomegaly(f: HscoreFile, inputs: Inputs) -> Component:
    flags = [inputs.flag("hepatomegaly"), inputs.flag("splenomegaly")]
    known = sum(1 for v in flags if v)
    possible = known + sum(1 for v in flags if v is None)
    by_count = [f.organomegaly["none"], f.organomegaly["one"], f.organomegaly["both"]]
    named = [n for n, v in zip(("hepatomegaly", "splenomegaly"), flags, strict=True) if v]
    return _points_component(
        "organomegaly",
        "Organomegaly",
        by_count[known],
        by_count[possible],
        value=" and ".join(named) if named else ("none" if possible == 0 else None),
        unit=None,
        threshold=f"none → {by_count[0]}; hepatomegaly or splenomegaly → {by_count[1]}; "
        f"both → {by_count[2]}",
        source=f.table_source.label(),
        inputs=inputs,
        keys=("hepatomegaly", "splenomegaly"),
    )


def _cytopenias(f: HscoreFile, inputs: Inputs) -> Component:
    cy = f.cytopenias
    tests = []
    shown = []
    for code, thr in cy.lineages.items():
        m = inputs.lab(code)
        tests.append(None if m is None else test(m, thr))
        if m is not None:
            shown.append(f"{code} {m.text()}")
    lo = sum(1 for t in tests if t is True)
    hi = lo + sum(1 for t in tests if t is None)
    keys = tuple(k for k in cy.lineages if inputs.lab(k) is not None)
    crit = ", ".join(f"{k} {t.text()}" for k, t in cy.lineages.items())
    return _points_component(
        "cytopenias",
        "Number of cytopenias",
        cy.points_by_count[lo],
        cy.points_by_count[hi],
        value=lo if lo == hi else None,
        unit="lineages",
        threshold=f"lineages with {crit}: 0-1 → {cy.points_by_count[1]}; 2 → "
        f"{cy.points_by_count[2]}; 3 → {cy.points_by_count[3]}",
        source=f.table_source.label(),
        inputs=inputs,
        keys=keys,
        note="; ".join(shown) or None,
    )


def _probability(f: HscoreFile, lo: int, hi: int) -> Probability:
    p = f.probability

    def band(total: int) -> Band:
        return classify(Interval.point(Fraction(total)), p.bands)[0]

    a, b = band(lo), band(hi)
    text = (a.text or "") if lo == hi else f"{a.text} (at {lo}) to {b.text} (at {hi})"
    return Probability(
        text=text, low_pct=a.low, high_pct=b.high, mapping=p.label, status=p.source.status.value
    )


def evaluate(inputs: Inputs) -> Evaluation:
    f = knowledge()
    comps = [
        _yes_no(
            f,
            inputs,
            "known_immunosuppression",
            "Known underlying immunosuppression",
            f.known_immunosuppression,
        ),
        _binned(f, inputs, "temp", "Temperature", f.temp),
        _organomegaly(f, inputs),
        _cytopenias(f, inputs),
        _binned(f, inputs, "ferritin", "Ferritin", f.ferritin),
        _binned(f, inputs, "tg", "Triglycerides", f.tg),
        _binned(f, inputs, "fibrinogen", "Fibrinogen", f.fibrinogen),
        _binned(f, inputs, "ast", "AST", f.ast),
        _yes_no(
            f,
            inputs,
            "hemophagocytosis",
            "Haemophagocytosis on bone-marrow aspirate",
            f.hemophagocytosis,
        ),
    ]
    lo = sum(int_bounds(c, "points")[0] for c in comps)
    hi = sum(int_bounds(c, "points")[1] for c in comps)
    alerts = [
        f"cut-off {f.cutoff.value:g} ({f.cutoff.source.label()}); probability mapping: "
        f"{f.probability.label}"
    ]
    if lo != hi:
        alerts.append(f"unknown variables: the HScore lies between {lo} and {hi}")
    return Evaluation(
        id="hscore",
        name=f.name,
        total=lo if lo == hi else None,
        total_min=lo,
        total_max=hi,
        unit="points",
        components=tuple(comps),
        conclusion=conclude_by_range(lo, hi, f.cutoff.value),
        probability=_probability(f, lo, hi),
        alerts=tuple(alerts),
        sources=sources_of(f),
    )


def gather(tl: Timeline, at: datetime, ctx: Any) -> Inputs:
    f = knowledge()
    data: dict[str, Datum] = {}
    for key in ("temp", "hb", "wbc", "plt", "ferritin", "tg", "fibrinogen", "ast"):
        d = lab_datum(tl, key, key, at, f.freshness.labs_days)
        if d is not None:
            data[key] = d
    add_findings(
        data,
        tl,
        ("known_immunosuppression", "hepatomegaly", "splenomegaly", "hemophagocytosis"),
        at,
        f.freshness.findings_days,
    )
    return Inputs(data)


def severity(e: Evaluation) -> tuple[float, ...]:
    return (float(e.total_min or 0), float(e.total_max or 0))


CRITERION = Criterion(
    id="hscore",
    name="HScore",
    description="Fardet 2014: nine variables scored from raw values (0-337); probability of "
    "reactive haemophagocytic syndrome as a published band; cut-off 169.",
    inputs=lambda: INPUTS,
    evaluate=evaluate,
    knowledge=knowledge,
    gather=gather,
    severity=severity,
    codes=("temp", "hb", "wbc", "plt", "ferritin", "tg", "fibrinogen", "ast"),
    kinds=(
        "known_immunosuppression",
        "hepatomegaly",
        "splenomegaly",
        "hemophagocytosis",
        "finding",
    ),
)
