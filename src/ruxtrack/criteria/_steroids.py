"""Cumulative glucocorticoid exposure in prednisone-equivalent mg.

Prednisone-equivalent mg = dose (mg) × 5 / (equivalent dose of the drug). A per-kg dose needs
the weight at the time and a per-m² dose the body-surface area: without them the contribution
is unknown, not zero. Oral budesonide has no standard systemic equivalence and is reported but
not counted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from ruxtrack.criteria._common import Criterion, sources_of
from ruxtrack.criteria._formulas import mosteller_bsa
from ruxtrack.criteria._gather import lab_datum
from ruxtrack.criteria._knowledge import CriterionFile, Freshness, exact, load_file
from ruxtrack.criteria._model import Component, Conclusion, Evaluation, InputSpec, Status
from ruxtrack.criteria._values import CriterionInputError, Inputs
from ruxtrack.knowledge import SourceRef

if TYPE_CHECKING:
    from ruxtrack.timeline import DrugExposure, Timeline

_F = ConfigDict(frozen=True, extra="forbid")


class _Equivalent(BaseModel):
    model_config = _F
    mg: float
    source: SourceRef


class _NotConvertible(BaseModel):
    model_config = _F
    reason: str
    source: SourceRef


class SteroidFile(CriterionFile):
    reference_drug: str
    freshness: Freshness
    equivalent_mg: dict[str, _Equivalent]
    not_convertible: dict[str, _NotConvertible]
    systemic_routes: tuple[str, ...]
    non_systemic_routes: tuple[str, ...]
    mass_mg: dict[str, float]
    mass_source: SourceRef


def knowledge() -> SteroidFile:
    return load_file("steroids", SteroidFile)


_ROUTES = ("oral", "enteral_tube", "iv", "sc", "im", "inhaled", "topical", "other")

INPUTS = (
    InputSpec(
        key="drug",
        kind="text",
        description="glucocorticoid (prednisone, methylprednisolone, "
        "dexamethasone, hydrocortisone, ...)",
    ),
    InputSpec(
        key="dose",
        kind="text",
        unit="mg | g | ug | mg/kg | ug/kg | g/kg | mg/m2",
        description='one dose, e.g. "40 mg", "1 mg/kg", {"value": 10, "unit": "mg/kg"}',
    ),
    InputSpec(key="count", kind="number", description="number of such doses (default 1)"),
    InputSpec(key="route", kind="enum", choices=_ROUTES, description="route (default oral)"),
    InputSpec(
        key="weight",
        kind="lab",
        code="weight",
        unit="kg",
        description="body weight (for per-kg doses)",
    ),
    InputSpec(
        key="height",
        kind="lab",
        code="height",
        unit="cm",
        description="height (with weight, for per-m2 doses)",
    ),
    InputSpec(
        key="doses",
        kind="list",
        description='several doses: [{"drug": ..., "dose": ..., "count": n, "route": ...}]',
    ),
)

_DOSE = re.compile(r"^\s*(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>mg|g|ug|mg/kg|ug/kg|g/kg|mg/m2)\s*$")


@dataclass(frozen=True)
class _Dose:
    drug: str
    amount: Fraction
    unit: str
    count: Fraction | None
    route: str
    label: str
    time: str | None = None
    instant: datetime | None = None
    weight: Fraction | None = None
    height: Fraction | None = None


def _parse_dose(key: str, raw: Any) -> tuple[Fraction, str]:
    if isinstance(raw, Mapping):
        raw = f"{raw.get('value')} {raw.get('unit')}"
    m = _DOSE.match(str(raw))
    if m is None:
        raise CriterionInputError(key, f'{raw!r}: write e.g. "40 mg", "1 mg/kg" or "30 mg/m2"')
    return exact(m["num"]), m["unit"]


def _mg(d: _Dose, f: SteroidFile) -> tuple[Fraction | None, str | None]:
    """mg per administration, or None with the reason."""
    mass_unit, _, per = d.unit.partition("/")
    if mass_unit not in f.mass_mg:
        return None, f"unit {d.unit} is not a mass"
    mg = d.amount * exact(f.mass_mg[mass_unit])
    if per == "kg":
        if d.weight is None:
            return None, "per-kg dose without a weight at the time"
        return mg * d.weight, None
    if per == "m2":
        if d.weight is None or d.height is None:
            return None, "per-m2 dose without weight and height at the time"
        return mg * exact(mosteller_bsa(float(d.height), float(d.weight))), None
    return mg, None


def _component(d: _Dose, f: SteroidFile) -> tuple[Component, Fraction | None]:
    drug = d.drug.strip().lower()
    base = {
        "name": d.label,
        "label": f"{drug} {float(d.amount):g} {d.unit} ×"
        f"{'?' if d.count is None else format(float(d.count), 'g')} ({d.route})",
        "time": d.time,
        "unit": "mg prednisone-equivalent",
        "basis": "drug exposure" if d.instant else "input",
    }
    if drug in f.not_convertible:
        nc = f.not_convertible[drug]
        return Component(
            **base,
            status=Status.not_met,
            source=nc.source.label(),
            note=f"not counted: {nc.reason}",
        ), Fraction(0)
    if drug not in f.equivalent_mg:
        return Component(
            **base,
            status=Status.not_met,
            note="not a glucocorticoid in the equivalence table; not counted",
        ), Fraction(0)
    eq = f.equivalent_mg[drug]
    ref = f.equivalent_mg[f.reference_drug]
    thr = f"{eq.mg:g} mg {drug} = {ref.mg:g} mg {f.reference_drug}"
    if d.route in f.non_systemic_routes:
        return Component(
            **base,
            status=Status.not_met,
            source=eq.source.label(),
            note=f"route {d.route} is not systemic; not counted",
        ), Fraction(0)
    if d.route not in f.systemic_routes:
        return Component(
            **base,
            status=Status.unknown,
            threshold=thr,
            source=eq.source.label(),
            note=f"route {d.route!r} is not known to be systemic: contribution unknown",
        ), None
    mg, why = _mg(d, f)
    if mg is None or d.count is None:
        return Component(
            **base,
            status=Status.unknown,
            threshold=thr,
            source=eq.source.label(),
            note=why or "number of doses unknown (PRN or continuous)",
        ), None
    total = mg * d.count * exact(ref.mg) / exact(eq.mg)
    return Component(
        **base,
        status=Status.met,
        value=float(total),
        threshold=thr,
        source=eq.source.label(),
        note=f"{float(mg * d.count):g} mg {drug}",
    ), total


def _evaluate_doses(doses: Sequence[_Dose], alerts: list[str]) -> Evaluation:
    f = knowledge()
    comps: list[Component] = []
    known = Fraction(0)
    unknown = False
    for d in doses:
        c, mg = _component(d, f)
        comps.append(c)
        if mg is None:
            unknown = True
        else:
            known += mg
        if d.drug in f.not_convertible:
            alerts.append(f"{d.drug}: {f.not_convertible[d.drug].reason}")
    return Evaluation(
        id="steroid_equivalent",
        name=f.name,
        total=None if unknown else float(known),
        total_min=float(known),
        value=None if unknown else float(known),
        unit=f"mg {f.reference_drug}-equivalent",
        components=tuple(comps),
        conclusion=Conclusion.undecidable if unknown else Conclusion.established,
        alerts=tuple(
            dict.fromkeys(
                alerts
                + (
                    [f"at least {float(known):g} mg; some doses cannot be converted"]
                    if unknown
                    else []
                )
            )
        ),
        sources=sources_of(f),
    )


def _body(inputs: Inputs, key: str) -> Fraction | None:
    m = inputs.lab(key)
    if m is None:
        return None
    if m.comparator is not None:
        raise CriterionInputError(key, "a censored value cannot be used")
    return m.value


def evaluate(inputs: Inputs) -> Evaluation:
    weight, height = _body(inputs, "weight"), _body(inputs, "height")
    doses: list[_Dose] = []
    if inputs.datum("doses") is not None:
        for i, item in enumerate(inputs.datum("doses").value):  # type: ignore[union-attr]
            key = f"doses[{i}]"
            if not isinstance(item, Mapping) or "drug" not in item or "dose" not in item:
                raise CriterionInputError(key, 'write {"drug": ..., "dose": ...}')
            extra = set(item) - {"drug", "dose", "count", "route"}
            if extra:
                raise CriterionInputError(key, f"unknown keys {sorted(extra)}")
            amount, unit = _parse_dose(f"{key}.dose", item["dose"])
            route = str(item.get("route", "oral"))
            if route not in _ROUTES:
                raise CriterionInputError(f"{key}.route", f"{route!r} is not one of {_ROUTES}")
            doses.append(
                _Dose(
                    str(item["drug"]),
                    amount,
                    unit,
                    exact(item.get("count", 1)),
                    route,
                    f"dose_{i + 1}",
                    weight=weight,
                    height=height,
                )
            )
    if inputs.datum("drug") is not None or inputs.datum("dose") is not None:
        if inputs.datum("drug") is None or inputs.datum("dose") is None:
            missing = "drug" if inputs.datum("drug") is None else "dose"
            raise CriterionInputError(missing, "give drug and dose together")
        amount, unit = _parse_dose("dose", inputs.datum("dose").value)  # type: ignore[union-attr]
        doses.append(
            _Dose(
                str(inputs.choice("drug")),
                amount,
                unit,
                exact(inputs.number("count") or 1),
                inputs.choice("route") or "oral",
                "dose",
                weight=weight,
                height=height,
            )
        )
    if not doses:
        raise CriterionInputError("drug", "give drug and dose (or doses)")
    return _evaluate_doses(doses, [])


def gather(tl: Timeline, at: datetime, ctx: Any) -> Inputs:
    return Inputs({}, {"timeline": tl, "at": at, "ctx": ctx})


def evaluate_window(tl: Timeline, start: datetime, end: datetime) -> Evaluation:
    """Cumulative exposure over the calendar days from ``start`` to ``end`` (inclusive)."""
    f = knowledge()
    doses: list[_Dose] = []
    alerts: list[str] = []
    first, last = start.date(), end.date()
    for i, d in enumerate(sorted(tl.drugs, key=lambda x: tl.at(x.start))):
        name = d.drug.lower()
        if name not in f.equivalent_mg and name not in f.not_convertible:
            continue
        s, e = tl.interval(d.start, d.end)
        lo = max(s.date(), first)
        hi = min(e.date() if e is not None else last, last)
        if hi < lo:
            continue
        n_days = (hi - lo).days + 1
        count = _count(d, n_days, s.date() >= first)
        when = datetime.combine(lo, s.time()) if lo != s.date() else s
        w = lab_datum(tl, "weight", "weight", when, f.freshness.body_days)
        h = lab_datum(tl, "height", "height", when, f.freshness.body_days)
        doses.append(
            _Dose(
                name,
                exact(d.dose),
                d.unit.value,
                count,
                d.route.value,
                f"{name}_{i + 1}",
                time=str(d.start),
                instant=s,
                weight=None if w is None else w.value.value,
                height=None if h is None else h.value.value,
            )
        )
        if count is not None and d.frequency.value != "once":
            alerts.append(
                f"{name} from {d.start}: {n_days} day(s) in the window at "
                f"{d.dose:g} {d.unit.value} {d.frequency.value}"
            )
    if not doses:
        return Evaluation(
            id="steroid_equivalent",
            name=f.name,
            total=0,
            total_min=0,
            value=0.0,
            unit=f"mg {f.reference_drug}-equivalent",
            conclusion=Conclusion.established,
            alerts=("no glucocorticoid exposure recorded in the window",),
            sources=sources_of(f),
        )
    return _evaluate_doses(doses, alerts)


def _count(d: DrugExposure, n_days: int, starts_inside: bool) -> Fraction | None:
    per_day = d.frequency.per_day
    if d.frequency.value == "once":
        return Fraction(1) if starts_inside else Fraction(0)
    if per_day is None:
        return None
    return exact(per_day) * n_days


CRITERION = Criterion(
    id="steroid_equivalent",
    name="Glucocorticoid exposure (prednisone-equivalent)",
    description="Cumulative systemic glucocorticoid exposure in prednisone-equivalent mg "
    "(anti-inflammatory equivalence); per-kg doses use the weight at the time.",
    inputs=lambda: INPUTS,
    evaluate=evaluate,
    knowledge=knowledge,
    gather=gather,
    cumulative=True,
)

__all__ = ["CRITERION", "evaluate_window"]
