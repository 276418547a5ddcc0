"""Renal function, body-surface area and oxygenation ratios.

Every coefficient comes from ``knowledge/criteria/formulas.yaml``. A sex-dependent formula with
the sex unknown gives the range over both sexes instead of a guess.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from ruxtrack.criteria._common import Criterion, lab_value
from ruxtrack.criteria._gather import lab_datum
from ruxtrack.criteria._knowledge import CriterionFile, Freshness, load_file
from ruxtrack.criteria._model import Component, Conclusion, Evaluation, InputSpec, Status
from ruxtrack.criteria._values import CriterionInputError, Datum, Inputs
from ruxtrack.criteria._who import fio2_fraction
from ruxtrack.knowledge import Citation, SourceRef

if TYPE_CHECKING:
    from ruxtrack.timeline import Timeline

_F = ConfigDict(frozen=True, extra="forbid")
Sex = Literal["female", "male"]


class _Ibw(BaseModel):
    model_config = _F
    male_kg: float
    female_kg: float
    kg_per_inch_over_60: float
    inches_base: float
    cm_per_inch: float
    source: SourceRef


class _Abw(BaseModel):
    model_config = _F
    factor: float
    source: SourceRef


class _Cg(BaseModel):
    model_config = _F
    name: str
    unit: str
    age_offset: float
    divisor: float
    female_factor: float
    adult_age_years_at_least: float
    source: SourceRef
    ideal_body_weight: _Ibw
    adjusted_body_weight: _Abw


class _Schwartz(BaseModel):
    model_config = _F
    name: str
    unit: str
    k: float
    age_years_from: float
    age_years_to: float
    source: SourceRef


class _CkdEpi(BaseModel):
    model_config = _F
    name: str
    unit: str
    constant: float
    kappa: dict[Sex, float]
    alpha: dict[Sex, float]
    exponent_above: float
    age_base: float
    female_factor: float
    adult_age_years_at_least: float
    source: SourceRef


class _Bsa(BaseModel):
    model_config = _F
    name: str
    unit: str
    divisor: float
    source: SourceRef


class _Ratio(BaseModel):
    model_config = _F
    name: str
    source: SourceRef


class FormulasFile(BaseModel):
    model_config = _F
    sources: dict[str, Citation]
    freshness: Freshness
    creat_mg_dl_per_umol_l_source: SourceRef
    cockcroft_gault: _Cg
    schwartz_bedside: _Schwartz
    ckd_epi_2021: _CkdEpi
    mosteller_bsa: _Bsa
    spo2_fio2: _Ratio
    pao2_fio2: _Ratio


class _FormulasAsCriterion(CriterionFile):
    """The formulas file seen through one formula (for ``describe``)."""


def knowledge() -> FormulasFile:
    return load_file("formulas", FormulasFile)


def _as_criterion(key: str) -> Callable[[], CriterionFile]:
    def load() -> CriterionFile:
        f = knowledge()
        part = getattr(f, key)
        return _FormulasAsCriterion.model_validate(
            {"id": key, "name": part.name, "sources": dict(f.sources), "source": part.source}
        )

    return load


# ------------------------------------------------------------------------------- inputs
AGE = InputSpec(key="age_years", kind="number", unit="a", description="age in years")
SEX = InputSpec(key="sex", kind="enum", choices=("female", "male"), description="sex")
WEIGHT = InputSpec(key="weight", kind="lab", code="weight", unit="kg", description="body weight")
HEIGHT = InputSpec(key="height", kind="lab", code="height", unit="cm", description="height")
CREAT = InputSpec(
    key="creat",
    kind="lab",
    code="creat",
    unit="umol/L",
    description="serum creatinine (IDMS-traceable)",
)
BASIS = InputSpec(
    key="weight_basis",
    kind="enum",
    choices=("actual", "ideal", "adjusted"),
    description="Cockcroft-Gault weight: actual (default, as published), ideal "
    "(Devine) or adjusted (IBW + 0.4 x (TBW - IBW))",
)


def _input_component(inputs: Inputs, spec: InputSpec, source: str) -> Component:
    d = inputs.datum(spec.key)
    if d is None:
        return Component(
            name=spec.key,
            label=spec.description,
            status=Status.unknown,
            unit=spec.unit,
            source=source,
            threshold="required",
        )
    value = lab_value(d.value) if spec.kind == "lab" else d.value
    return Component(
        name=spec.key,
        label=spec.description,
        status=Status.met,
        value=value,
        unit=d.value.unit if spec.kind == "lab" else spec.unit,
        time=d.time,
        source=source,
        basis=d.basis,
        threshold="required",
    )


def _exact_lab(inputs: Inputs, key: str, unit: str) -> float | None:
    m = inputs.lab(key)
    if m is None:
        return None
    if m.comparator is not None:
        raise CriterionInputError(key, "a censored value cannot enter a formula")
    if m.value <= 0:
        raise CriterionInputError(key, "must be above zero")
    return float(m.in_unit(unit).value)


def _result(
    id_: str,
    name: str,
    unit: str,
    values: list[float],
    comps: list[Component],
    alerts: list[str],
    source_keys: tuple[str, ...],
) -> Evaluation:
    f = knowledge()
    from ruxtrack.criteria._model import SourceInfo

    sources = tuple(
        SourceInfo(key=k, citation=f.sources[k].citation, url=f.sources[k].url) for k in source_keys
    )
    if not values:
        return Evaluation(
            id=id_,
            name=name,
            unit=unit,
            components=tuple(comps),
            conclusion=Conclusion.undecidable,
            alerts=tuple(alerts),
            sources=sources,
        )
    lo, hi = min(values), max(values)
    return Evaluation(
        id=id_,
        name=name,
        unit=unit,
        value=lo if lo == hi else None,
        value_range=None if lo == hi else (lo, hi),
        components=tuple(comps),
        conclusion=Conclusion.established if lo == hi else Conclusion.undecidable,
        alerts=tuple(alerts),
        sources=sources,
    )


def _sexes(inputs: Inputs) -> list[Sex]:
    s = inputs.choice("sex")
    if s == "female":
        return ["female"]
    if s == "male":
        return ["male"]
    return ["female", "male"]


# ------------------------------------------------------------------------- Cockcroft-Gault
def ideal_body_weight(height_cm: float, sex: Sex) -> float:
    """Devine ideal body weight (kg)."""
    ibw = knowledge().cockcroft_gault.ideal_body_weight
    inches = height_cm / ibw.cm_per_inch
    base = ibw.female_kg if sex == "female" else ibw.male_kg
    return base + ibw.kg_per_inch_over_60 * (inches - ibw.inches_base)


def cockcroft_gault(age: float, weight_kg: float, creat_mg_dl: float, sex: Sex) -> float:
    """Creatinine clearance (mL/min) = (140 − age) × weight / (72 × Scr), × 0.85 if female."""
    c = knowledge().cockcroft_gault
    crcl = (c.age_offset - age) * weight_kg / (c.divisor * creat_mg_dl)
    return crcl * c.female_factor if sex == "female" else crcl


def evaluate_cg(inputs: Inputs) -> Evaluation:
    c = knowledge().cockcroft_gault
    src = c.source.label()
    specs = [AGE, SEX, WEIGHT, CREAT, HEIGHT, BASIS]
    comps = [_input_component(inputs, s, src) for s in specs[:4]]
    alerts: list[str] = []
    basis = inputs.choice("weight_basis") or "actual"
    age = inputs.number("age_years")
    weight = _exact_lab(inputs, "weight", "kg")
    creat = _exact_lab(inputs, "creat", "mg/dL")
    height = _exact_lab(inputs, "height", "cm")
    if basis != "actual":
        comps.append(_input_component(inputs, HEIGHT, c.ideal_body_weight.source.label()))
    alerts.append(f"weight basis: {basis} body weight")
    if age is not None and age < c.adult_age_years_at_least:
        alerts.append("Cockcroft-Gault is not validated below 18 years; consider bedside Schwartz")
    if age is not None and age >= c.age_offset:
        raise CriterionInputError("age_years", f"{age:g} years: the formula needs age below 140")
    values: list[float] = []
    if age is not None and weight is not None and creat is not None:
        for sex in _sexes(inputs):
            w = weight
            if basis != "actual":
                if height is None:
                    values = []
                    alerts.append(f"{basis} body weight needs the height")
                    break
                ibw = ideal_body_weight(height, sex)
                w = (
                    ibw
                    if basis == "ideal"
                    else ibw + c.adjusted_body_weight.factor * (weight - ibw)
                )
            values.append(cockcroft_gault(age, w, creat, sex))
    return _result(
        "cockcroft_gault",
        c.name,
        c.unit,
        values,
        comps,
        alerts,
        ("cockcroft1976", "devine1974") if basis != "actual" else ("cockcroft1976",),
    )


# ---------------------------------------------------------------------- bedside Schwartz
def schwartz_bedside(height_cm: float, creat_mg_dl: float) -> float:
    """eGFR (mL/min/1.73 m²) = 0.413 × height (cm) / Scr (mg/dL)."""
    k: float = knowledge().schwartz_bedside.k
    return k * height_cm / creat_mg_dl


def evaluate_schwartz(inputs: Inputs) -> Evaluation:
    s = knowledge().schwartz_bedside
    src = s.source.label()
    comps = [_input_component(inputs, x, src) for x in (HEIGHT, CREAT, AGE)]
    comps[2] = comps[2].model_copy(update={"threshold": "optional (checks the validated range)"})
    alerts: list[str] = []
    age = inputs.number("age_years")
    if age is not None and not s.age_years_from <= age <= s.age_years_to:
        alerts.append(
            f"bedside Schwartz is validated for ages {s.age_years_from:g}-{s.age_years_to:g} years"
        )
    height, creat = _exact_lab(inputs, "height", "cm"), _exact_lab(inputs, "creat", "mg/dL")
    values = [] if height is None or creat is None else [schwartz_bedside(height, creat)]
    return _result("schwartz_bedside", s.name, s.unit, values, comps, alerts, ("schwartz2009",))


# -------------------------------------------------------------------------- CKD-EPI 2021
def ckd_epi_2021(age: float, creat_mg_dl: float, sex: Sex) -> float:
    """Race-free CKD-EPI 2021 creatinine equation (mL/min/1.73 m²)."""
    c = knowledge().ckd_epi_2021
    ratio = creat_mg_dl / c.kappa[sex]
    egfr: float = (
        c.constant
        * min(ratio, 1.0) ** c.alpha[sex]
        * max(ratio, 1.0) ** c.exponent_above
        * c.age_base**age
    )
    return egfr * c.female_factor if sex == "female" else egfr


def evaluate_ckd_epi(inputs: Inputs) -> Evaluation:
    c = knowledge().ckd_epi_2021
    src = c.source.label()
    comps = [_input_component(inputs, x, src) for x in (AGE, SEX, CREAT)]
    alerts: list[str] = []
    age = inputs.number("age_years")
    if age is not None and age < c.adult_age_years_at_least:
        alerts.append("CKD-EPI 2021 is validated from 18 years; use bedside Schwartz in children")
    creat = _exact_lab(inputs, "creat", "mg/dL")
    values = (
        []
        if age is None or creat is None
        else [ckd_epi_2021(age, creat, s) for s in _sexes(inputs)]
    )
    return _result("ckd_epi_2021", c.name, c.unit, values, comps, alerts, ("inker2021",))


# ------------------------------------------------------------------------------ Mosteller
def mosteller_bsa(height_cm: float, weight_kg: float) -> float:
    """BSA (m²) = √(height cm × weight kg / 3600)."""
    return math.sqrt(height_cm * weight_kg / knowledge().mosteller_bsa.divisor)


def evaluate_bsa(inputs: Inputs) -> Evaluation:
    b = knowledge().mosteller_bsa
    src = b.source.label()
    comps = [_input_component(inputs, x, src) for x in (WEIGHT, HEIGHT)]
    w, h = _exact_lab(inputs, "weight", "kg"), _exact_lab(inputs, "height", "cm")
    values = [] if w is None or h is None else [mosteller_bsa(h, w)]
    return _result("mosteller_bsa", b.name, b.unit, values, comps, [], ("mosteller1987",))


# --------------------------------------------------------------------------------- ratios
SPO2 = InputSpec(key="spo2", kind="lab", code="spo2", unit="%", description="SpO2")
PAO2 = InputSpec(key="pao2", kind="lab", code="pao2", unit="mm[Hg]", description="PaO2")
FIO2 = InputSpec(
    key="fio2",
    kind="lab",
    code="fio2",
    unit="%",
    description="FiO2 (in %, or a fraction written with unit 1)",
)


def _ratio_eval(id_: str, num: InputSpec, inputs: Inputs) -> Evaluation:
    f = knowledge()
    r: _Ratio = getattr(f, id_)
    src = r.source.label()
    comps = [_input_component(inputs, x, src) for x in (num, FIO2)]
    n = _exact_lab(inputs, num.key, num.unit or "")
    fio2 = inputs.lab("fio2")
    values: list[float] = []
    if n is not None and fio2 is not None:
        if fio2.comparator is not None:
            raise CriterionInputError("fio2", "a censored value cannot enter a formula")
        values = [float(Fraction(n) / fio2_fraction(fio2.value))]
    return _result(id_, r.name, "1", values, comps, [], ("ratio_guidance",))


# ------------------------------------------------------------------------ timeline reader
def _gather_for(keys: tuple[str, ...]) -> Callable[[Timeline, datetime, Any], Inputs]:
    def gather(tl: Timeline, at: datetime, ctx: Any) -> Inputs:
        f = knowledge()
        data: dict[str, Datum] = {}
        for key in keys:
            if key in ("weight", "height"):
                d = lab_datum(tl, key, key, at, f.freshness.body_days)
            elif key in ("creat", "spo2", "pao2", "fio2"):
                d = lab_datum(tl, key, key, at, f.freshness.labs_days)
            elif key == "age_years":
                age = tl.age_at(at)
                d = None if age is None else Datum(key, age, basis="patient record")
            elif key == "sex":
                sex = tl.patient.sex.value
                d = Datum(key, sex, basis="patient record") if sex in ("female", "male") else None
            else:
                d = None
            if d is not None:
                data[key] = d
        if "fio2" in keys and "fio2" not in data:
            ep = tl.support_on(at)
            if ep is not None and ep.fio2 is not None:
                from ruxtrack.criteria._knowledge import exact
                from ruxtrack.criteria._values import Measured

                data["fio2"] = Datum(
                    "fio2",
                    Measured("fio2", exact(ep.fio2), "%"),
                    time=str(ep.start),
                    instant=tl.at(ep.start),
                    basis="support episode",
                )
        return Inputs(data)

    return gather


def _lowest(e: Evaluation) -> tuple[float, ...]:
    lo = e.value_range[0] if e.value_range else e.value
    return (-float(lo) if lo is not None else float("-inf"),)


CRITERIA = (
    Criterion(
        id="cockcroft_gault",
        name="Cockcroft-Gault creatinine clearance",
        description="(140 − age) × weight / (72 × Scr mg/dL), × 0.85 if female; mL/min, not "
        "normalised to 1.73 m²; actual body weight unless weight_basis says otherwise.",
        inputs=lambda: (AGE, SEX, WEIGHT, CREAT, HEIGHT, BASIS),
        evaluate=evaluate_cg,
        knowledge=_as_criterion("cockcroft_gault"),
        gather=_gather_for(("age_years", "sex", "weight", "creat", "height")),
        severity=_lowest,
        codes=("creat", "weight", "height"),
    ),
    Criterion(
        id="schwartz_bedside",
        name="Bedside Schwartz eGFR",
        description="0.413 × height cm / Scr mg/dL (mL/min/1.73 m²), children 1-18 years.",
        inputs=lambda: (HEIGHT, CREAT, AGE),
        evaluate=evaluate_schwartz,
        knowledge=_as_criterion("schwartz_bedside"),
        gather=_gather_for(("height", "creat", "age_years")),
        severity=_lowest,
        codes=("creat", "height"),
    ),
    Criterion(
        id="ckd_epi_2021",
        name="CKD-EPI 2021 eGFR",
        description="Race-free CKD-EPI 2021 creatinine equation (mL/min/1.73 m²), adults.",
        inputs=lambda: (AGE, SEX, CREAT),
        evaluate=evaluate_ckd_epi,
        knowledge=_as_criterion("ckd_epi_2021"),
        gather=_gather_for(("age_years", "sex", "creat")),
        severity=_lowest,
        codes=("creat",),
    ),
    Criterion(
        id="mosteller_bsa",
        name="Mosteller body-surface area",
        description="√(height cm × weight kg / 3600) in m².",
        inputs=lambda: (WEIGHT, HEIGHT),
        evaluate=evaluate_bsa,
        knowledge=_as_criterion("mosteller_bsa"),
        gather=_gather_for(("weight", "height")),
        codes=("weight", "height"),
    ),
    Criterion(
        id="spo2_fio2",
        name="SpO2/FiO2 ratio",
        description="SpO2 (%) / FiO2 (fraction).",
        inputs=lambda: (SPO2, FIO2),
        evaluate=lambda i: _ratio_eval("spo2_fio2", SPO2, i),
        knowledge=_as_criterion("spo2_fio2"),
        gather=_gather_for(("spo2", "fio2")),
        severity=_lowest,
        codes=("spo2", "fio2"),
    ),
    Criterion(
        id="pao2_fio2",
        name="PaO2/FiO2 ratio",
        description="PaO2 (mmHg) / FiO2 (fraction).",
        inputs=lambda: (PAO2, FIO2),
        evaluate=lambda i: _ratio_eval("pao2_fio2", PAO2, i),
        knowledge=_as_criterion("pao2_fio2"),
        gather=_gather_for(("pao2", "fio2")),
        severity=_lowest,
        codes=("pao2", "fio2"),
    ),
)
