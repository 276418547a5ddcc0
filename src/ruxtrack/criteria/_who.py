"""COVID-19: WHO Clinical Progression Scale (0-10) and WHO severity category.

Both are computed over every completion of the unknown inputs: the level or category is given
when all completions agree, otherwise the range they span (``undecidable``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import datetime
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from ruxtrack.criteria._common import Criterion, lab_value, sources_of, status_of
from ruxtrack.criteria._gather import add_findings, lab_datum
from ruxtrack.criteria._knowledge import CriterionFile, Freshness, exact, load_file
from ruxtrack.criteria._model import Component, Conclusion, Evaluation, InputSpec, Status
from ruxtrack.criteria._values import CriterionInputError, Datum, Inputs, Tri, any_of
from ruxtrack.knowledge import SourceRef

if TYPE_CHECKING:
    from ruxtrack.timeline import Timeline

_F = ConfigDict(frozen=True, extra="forbid")
SUPPORT = ("room_air", "nasal_cannula", "face_mask", "hfnc", "niv", "imv", "ecmo")
CATEGORIES = ("mild", "moderate", "severe", "critical")


class CpsFile(CriterionFile):
    levels_source: SourceRef
    freshness: Freshness
    pao2_fio2_below: float
    spo2_fio2_below: float
    levels: dict[int, str]
    support_levels: dict[str, int]
    vasopressor_drugs: tuple[str, ...]
    inotrope_drugs: tuple[str, ...] = ()
    vasopressor_source: SourceRef


class _RrBand(BaseModel):
    model_config = _F
    age_days_below: float
    rr_at_least: float


class SeverityFile(CriterionFile):
    freshness: Freshness
    spo2_below: float
    spo2_source: SourceRef
    rr_adult_above: float
    rr_child: tuple[_RrBand, ...]
    rr_source: SourceRef
    adult_age_years_at_least: float
    critical_source: SourceRef
    life_sustaining_support: tuple[str, ...]


def cps_knowledge() -> CpsFile:
    return load_file("who_cps", CpsFile)


def severity_knowledge() -> SeverityFile:
    return load_file("who_severity", SeverityFile)


# ---------------------------------------------------------------------------------- ratios
def fio2_fraction(fio2_percent: Fraction) -> Fraction:
    """FiO2 in % (canonical) as a fraction of 1 (converted by the lab catalogue)."""
    from ruxtrack.units import convert

    return exact(convert("fio2", float(fio2_percent), "%", "1"))


def _ratio(inputs: Inputs, given: str, num: str) -> tuple[Fraction | None, str | None]:
    """A ratio given directly, or computed from ``num`` and ``fio2`` (exact values only)."""
    if inputs.number(given) is not None:
        return exact(inputs.number(given) or 0), inputs.time_of(given)
    n, f = inputs.lab(num), inputs.lab("fio2")
    if n is None or f is None or n.comparator or f.comparator:
        return None, None
    return n.value / fio2_fraction(f.value), inputs.time_of(num, "fio2")


# ---------------------------------------------------------------------------------- WHO CPS
CPS_INPUTS = (
    InputSpec(key="dead", kind="bool", description="dead"),
    InputSpec(key="hospitalised", kind="bool", description="in hospital (not for isolation only)"),
    InputSpec(
        key="support",
        kind="enum",
        choices=SUPPORT,
        description="most intensive respiratory support (oxygen counts as hospital care)",
    ),
    InputSpec(key="pao2_fio2", kind="number", unit="mm[Hg]", description="PaO2/FiO2 ratio"),
    InputSpec(key="spo2_fio2", kind="number", description="SpO2/FiO2 ratio"),
    InputSpec(
        key="pao2",
        kind="lab",
        code="pao2",
        unit="mm[Hg]",
        description="PaO2 (with fio2 gives PaO2/FiO2)",
    ),
    InputSpec(
        key="spo2",
        kind="lab",
        code="spo2",
        unit="%",
        description="SpO2 (with fio2 gives SpO2/FiO2)",
    ),
    InputSpec(key="fio2", kind="lab", code="fio2", unit="%", description="FiO2"),
    InputSpec(key="vasopressors", kind="bool", description="vasopressors"),
    InputSpec(key="dialysis", kind="bool", description="dialysis / renal replacement"),
    InputSpec(key="ecmo", kind="bool", description="ECMO"),
    InputSpec(key="viral_rna_detected", kind="bool", description="SARS-CoV-2 RNA detected"),
    InputSpec(key="symptomatic", kind="bool", description="symptomatic"),
    InputSpec(key="assistance_needed", kind="bool", description="needs assistance (ambulatory)"),
)


def flags_dead_unknown(inputs: Inputs) -> bool:
    return inputs.flag("dead") is None


def cps_level(
    dead: bool,
    hosp: bool,
    support: str,
    ratio_low: bool,
    vaso: bool,
    dialysis: bool,
    ecmo: bool,
    rna: bool,
    sympt: bool,
    assist: bool,
    f: CpsFile,
) -> int:
    """The WHO CPS level of one fully known state."""
    if dead:
        return 10
    if support in ("imv", "ecmo") or ecmo:
        organ = vaso or dialysis or ecmo or support == "ecmo"
        if ratio_low and organ:
            return 9
        if ratio_low or vaso:
            return 8
        return 7
    if support in f.support_levels and support != "room_air":
        return f.support_levels[support]
    if hosp:
        return f.support_levels["room_air"]
    if not rna:
        return 0
    if not sympt:
        return 1
    return 3 if assist else 2


def _options(v: Any, choices: Sequence[Any]) -> Sequence[Any]:
    return choices if v is None else (v,)


def evaluate_cps(inputs: Inputs) -> Evaluation:
    f = cps_knowledge()
    pf, pf_time = _ratio(inputs, "pao2_fio2", "pao2")
    sf, sf_time = _ratio(inputs, "spo2_fio2", "spo2")
    ratio_low: Tri
    if pf is not None:
        ratio_low, ratio_note = pf < exact(f.pao2_fio2_below), f"PaO2/FiO2 {float(pf):.0f}"
    elif sf is not None:
        ratio_low, ratio_note = sf < exact(f.spo2_fio2_below), f"SpO2/FiO2 {float(sf):.0f}"
    else:
        ratio_low, ratio_note = None, None
    support = inputs.choice("support")
    ecmo = inputs.flag("ecmo")
    if support is not None and flags_dead_unknown(inputs):
        # respiratory support being given means the patient is alive
        inputs = inputs.with_data(dead=Datum("dead", False, basis="respiratory support"))
    if support is not None and ecmo is None:
        # ``support`` is the most intensive support: ECMO exactly when it says so
        ecmo = support == "ecmo"
    flags = {
        k: inputs.flag(k)
        for k in (
            "dead",
            "hospitalised",
            "vasopressors",
            "dialysis",
            "viral_rna_detected",
            "symptomatic",
            "assistance_needed",
        )
    }
    if flags["hospitalised"] is False and ((support or "room_air") != "room_air" or ecmo):
        raise CriterionInputError(
            "hospitalised",
            f"false contradicts support {support!r}: oxygen and ventilation "
            "count as hospital care on this scale",
        )
    tf = (False, True)
    # oxygen or ventilation counts as hospital care: out of hospital means room air
    levels = {
        cps_level(d, h, s, r, v, dl, e, rna, sy, a, f)
        for d, h, s, r, v, dl, e, rna, sy, a in itertools.product(
            _options(flags["dead"], tf),
            _options(flags["hospitalised"], tf),
            _options(support, SUPPORT),
            _options(ratio_low, tf),
            _options(flags["vasopressors"], tf),
            _options(flags["dialysis"], tf),
            _options(ecmo, tf),
            _options(flags["viral_rna_detected"], tf),
            _options(flags["symptomatic"], tf),
            _options(flags["assistance_needed"], tf),
        )
        if h or (s == "room_air" and not e)
    }
    lo, hi = min(levels), max(levels)
    src = f.levels_source.label()
    comps = [
        _flag("dead", "Dead", inputs, src),
        _flag("hospitalised", "Hospitalised", inputs, src),
        Component(
            name="support",
            label="Respiratory support",
            status=Status.unknown if support is None else status_of(support != "room_air"),
            value=support,
            time=inputs.time_of("support"),
            threshold="oxygen / NIV / HFNC / IMV",
            source=src,
            basis=inputs.basis_of("support"),
        ),
        Component(
            name="oxygenation_ratio_low",
            label=f"PaO2/FiO2 <{f.pao2_fio2_below:g} (SpO2/FiO2 <{f.spo2_fio2_below:g})",
            status=status_of(ratio_low),
            value=ratio_note,
            time=pf_time or sf_time,
            threshold=f"PaO2/FiO2 <{f.pao2_fio2_below:g} or SpO2/FiO2 <{f.spo2_fio2_below:g}",
            source=src,
            basis=inputs.basis_of("pao2_fio2", "pao2", "spo2_fio2", "spo2", "fio2"),
        ),
        _flag("vasopressors", "Vasopressors", inputs, src),
        _flag("dialysis", "Dialysis", inputs, src),
        Component(
            name="ecmo",
            label="ECMO",
            status=status_of(ecmo),
            value=ecmo,
            time=inputs.time_of("ecmo", "support"),
            threshold="present",
            source=src,
            basis=inputs.basis_of("ecmo") or inputs.basis_of("support"),
        ),
        _flag("viral_rna_detected", "Viral RNA detected", inputs, src),
        _flag("symptomatic", "Symptomatic", inputs, src),
        _flag("assistance_needed", "Assistance needed", inputs, src),
    ]
    alerts = []
    if lo != hi:
        alerts.append(f"the data allow levels {lo} to {hi}")
    return Evaluation(
        id="who_cps",
        name=f.name,
        value=lo if lo == hi else None,
        value_range=None if lo == hi else (lo, hi),
        unit="WHO CPS level",
        components=tuple(comps),
        conclusion=Conclusion.established if lo == hi else Conclusion.undecidable,
        alerts=tuple(alerts) + ((f"level {lo}: {f.levels[lo]}",) if lo == hi else ()),
        sources=sources_of(f),
    )


def _flag(key: str, label: str, inputs: Inputs, src: str) -> Component:
    v = inputs.flag(key)
    return Component(
        name=key,
        label=label,
        status=status_of(v),
        value=v,
        time=inputs.time_of(key),
        threshold="present",
        source=src,
        basis=inputs.basis_of(key),
    )


def _alive(tl: Timeline, at: datetime) -> bool | None:
    death = tl.anchor("death")
    if death is not None:
        return death > at
    # any record at or after ``at`` shows the patient alive then
    later = list(tl.anchors.values())
    later += [tl.at(o.time) for o in tl.observations]
    later += [tl.at(a.time) for a in tl.assessments]
    for start, end in [(r.start, r.end) for r in tl.support] + [(r.start, r.end) for r in tl.drugs]:
        later.append(tl.at(start))
        if end is not None:
            later.append(tl.at(end))
    return True if any(t >= at for t in later) else None


def _hospitalised(tl: Timeline, at: datetime) -> bool | None:
    admissions = sorted(t for (ev, _), t in tl.anchors.items() if ev == "admission")
    if not admissions:
        return None
    discharge = tl.anchor("discharge")
    past = [t for t in admissions if t <= at]
    if not past:
        return False
    if discharge is not None and past[-1] <= discharge <= at:
        return False
    return True


def gather_cps(tl: Timeline, at: datetime, ctx: Any) -> Inputs:
    f = cps_knowledge()
    data: dict[str, Datum] = {}
    alive = _alive(tl, at)
    if alive is not None:
        data["dead"] = Datum("dead", not alive, basis="events")
    hosp = _hospitalised(tl, at)
    if hosp is not None:
        data["hospitalised"] = Datum("hospitalised", hosp, basis="events")
    ep = tl.support_on(at)
    if ep is not None:
        data["support"] = Datum(
            "support",
            ep.mode.value,
            time=str(ep.start),
            instant=tl.at(ep.start),
            basis="support episode",
        )
        if ep.fio2 is not None:
            from ruxtrack.criteria._values import Measured

            data["fio2"] = Datum(
                "fio2",
                Measured("fio2", exact(ep.fio2), "%"),
                time=str(ep.start),
                instant=tl.at(ep.start),
                basis="support episode",
            )
    for key in ("pao2", "spo2", "fio2"):
        if key in data:
            continue
        d = lab_datum(tl, key, key, at, f.freshness.labs_days)
        if d is not None:
            data[key] = d
    if any(d.drug in f.vasopressor_drugs for d in tl.drugs_on(at)):
        data["vasopressors"] = Datum("vasopressors", True, basis="drug exposure")
    add_findings(
        data,
        tl,
        (
            "vasopressors",
            "dialysis",
            "ecmo",
            "viral_rna_detected",
            "symptomatic",
            "assistance_needed",
        ),
        at,
        f.freshness.findings_days,
        keep_existing=True,
    )
    pos = tl.anchor("covid_positive")
    if "viral_rna_detected" not in data and pos is not None and pos <= at:
        data["viral_rna_detected"] = Datum("viral_rna_detected", True, basis="covid_positive event")
    return Inputs(data)


# ------------------------------------------------------------------------------ WHO severity
SEVERITY_INPUTS = (
    InputSpec(key="spo2", kind="lab", code="spo2", unit="%", description="SpO2 on room air"),
    InputSpec(
        key="on_room_air",
        kind="bool",
        description="whether spo2 was measured on room air (default: yes)",
    ),
    InputSpec(key="rr", kind="lab", code="rr", unit="/min", description="respiratory rate"),
    InputSpec(
        key="age_years",
        kind="number",
        unit="a",
        description="age (children have other RR thresholds)",
    ),
    InputSpec(key="age_days", kind="number", unit="d", description="age in days (infants)"),
    InputSpec(key="pneumonia", kind="bool", description="clinical signs of pneumonia"),
    InputSpec(
        key="severe_respiratory_distress",
        kind="bool",
        description="signs of severe respiratory distress",
    ),
    InputSpec(key="ards", kind="bool", description="acute respiratory distress syndrome"),
    InputSpec(key="sepsis", kind="bool", description="sepsis"),
    InputSpec(key="septic_shock", kind="bool", description="septic shock"),
    InputSpec(
        key="life_sustaining_therapy",
        kind="bool",
        description="life-sustaining therapy (invasive or non-invasive ventilation, vasopressors)",
    ),
)


def _rr_high(f: SeverityFile, inputs: Inputs) -> tuple[Tri, str]:
    m = inputs.lab("rr")
    age_days = inputs.number("age_days")
    if age_days is None and inputs.number("age_years") is not None:
        age_days = (inputs.number("age_years") or 0) * 365.25
    if m is None:
        return None, f"adults >{f.rr_adult_above:g}/min"
    if age_days is None:
        return None, "give the age: RR thresholds differ in children"
    if age_days >= f.adult_age_years_at_least * 365.25:
        return m.value > exact(f.rr_adult_above), f">{f.rr_adult_above:g}/min (adult)"
    for band in f.rr_child:
        if age_days < band.age_days_below:
            return m.value >= exact(band.rr_at_least), f"≥{band.rr_at_least:g}/min (child)"
    return None, "no confirmed RR threshold at this age (5-17 years)"


def evaluate_severity(inputs: Inputs) -> Evaluation:
    f = severity_knowledge()
    crit_src, spo2_src = f.critical_source.label(), f.spo2_source.label()
    spo2 = inputs.lab("spo2")
    room_air = inputs.flag("on_room_air")
    spo2_low: Tri = None
    spo2_note = None
    if spo2 is not None:
        below = spo2.value < exact(f.spo2_below) if spo2.comparator is None else None
        if room_air is False:
            spo2_low = True if below else None
            spo2_note = "measured on supplemental oxygen: below 90% still meets it"
        else:
            spo2_low = below
    rr_high, rr_text = _rr_high(f, inputs)
    rr = inputs.lab("rr")
    items: list[tuple[str, str, Tri, str, Any]] = [
        ("ards", "ARDS", inputs.flag("ards"), crit_src, inputs.flag("ards")),
        ("sepsis", "Sepsis", inputs.flag("sepsis"), crit_src, inputs.flag("sepsis")),
        (
            "septic_shock",
            "Septic shock",
            inputs.flag("septic_shock"),
            crit_src,
            inputs.flag("septic_shock"),
        ),
        (
            "life_sustaining_therapy",
            "Life-sustaining therapy",
            inputs.flag("life_sustaining_therapy"),
            crit_src,
            inputs.flag("life_sustaining_therapy"),
        ),
        (
            "spo2_below_90",
            f"SpO2 <{f.spo2_below:g}% on room air",
            spo2_low,
            spo2_src,
            None if spo2 is None else lab_value(spo2),
        ),
        (
            "respiratory_rate_high",
            "Respiratory rate high",
            rr_high,
            f.rr_source.label(),
            None if rr is None else lab_value(rr),
        ),
        (
            "severe_respiratory_distress",
            "Signs of severe respiratory distress",
            inputs.flag("severe_respiratory_distress"),
            f.source.label(),
            inputs.flag("severe_respiratory_distress"),
        ),
        (
            "pneumonia",
            "Pneumonia",
            inputs.flag("pneumonia"),
            f.source.label(),
            inputs.flag("pneumonia"),
        ),
    ]
    keys = {"spo2_below_90": ("spo2", "on_room_air"), "respiratory_rate_high": ("rr",)}
    comps = [
        Component(
            name=n,
            label=lab,
            status=status_of(t),
            value=v,
            time=inputs.time_of(*keys.get(n, (n,))),
            threshold=rr_text if n == "respiratory_rate_high" else "present",
            source=s,
            basis=inputs.basis_of(*keys.get(n, (n,))),
            note=spo2_note if n == "spo2_below_90" else None,
        )
        for n, lab, t, s, v in items
    ]
    critical = any_of(t for n, _, t, _, _ in items[:4])
    severe = any_of(t for n, _, t, _, _ in items[4:7])
    pneumonia = items[7][2]
    possible: set[str] = set()
    tf = (False, True)
    for c, s, p in itertools.product(
        _options(critical, tf), _options(severe, tf), _options(pneumonia, tf)
    ):
        possible.add("critical" if c else "severe" if s else "moderate" if p else "mild")
    ordered = sorted(possible, key=CATEGORIES.index)
    lo, hi = ordered[0], ordered[-1]
    return Evaluation(
        id="who_severity",
        name=f.name,
        value=lo if lo == hi else None,
        value_range=None if lo == hi else (lo, hi),
        unit="WHO severity",
        components=tuple(comps),
        conclusion=Conclusion.established if lo == hi else Conclusion.undecidable,
        alerts=() if lo == hi else (f"the data allow {' to '.join((lo, hi))}",),
        sources=sources_of(f),
    )


def gather_severity(tl: Timeline, at: datetime, ctx: Any) -> Inputs:
    f = severity_knowledge()
    cps = cps_knowledge()
    data: dict[str, Datum] = {}
    for key in ("spo2", "rr"):
        d = lab_datum(tl, key, key, at, f.freshness.labs_days)
        if d is not None:
            data[key] = d
    ep = tl.support_on(at)
    if ep is not None:
        data["on_room_air"] = Datum(
            "on_room_air", ep.mode.value == "room_air", basis="support episode"
        )
        if ep.mode.value in f.life_sustaining_support:
            data["life_sustaining_therapy"] = Datum(
                "life_sustaining_therapy",
                True,
                time=str(ep.start),
                instant=tl.at(ep.start),
                basis="support episode",
            )
    life_sustaining = (*cps.vasopressor_drugs, *cps.inotrope_drugs)
    if any(d.drug in life_sustaining for d in tl.drugs_on(at)):
        data["life_sustaining_therapy"] = Datum(
            "life_sustaining_therapy", True, basis="drug exposure"
        )
    add_findings(
        data,
        tl,
        (
            "pneumonia",
            "severe_respiratory_distress",
            "ards",
            "sepsis",
            "septic_shock",
            "life_sustaining_therapy",
        ),
        at,
        f.freshness.findings_days,
        keep_existing=True,
    )
    age = tl.age_at(at)
    if age is not None:
        data["age_years"] = Datum("age_years", age, basis="patient record")
    return Inputs(data)


def _level_severity(e: Evaluation) -> tuple[float, ...]:
    lo = e.value_range[0] if e.value_range else e.value
    hi = e.value_range[1] if e.value_range else e.value
    return (float(lo), float(hi))  # type: ignore[arg-type]


def _category_severity(e: Evaluation) -> tuple[float, ...]:
    lo = e.value_range[0] if e.value_range else e.value
    hi = e.value_range[1] if e.value_range else e.value
    return (float(CATEGORIES.index(str(lo))), float(CATEGORIES.index(str(hi))))


_sev: Callable[[Evaluation], tuple[float, ...]] = _category_severity

CPS = Criterion(
    id="who_cps",
    name="WHO Clinical Progression Scale",
    description="WHO 2020: level 0 (uninfected) to 10 (dead) from respiratory support, "
    "oxygenation ratio, vasopressors, dialysis, ECMO and outcomes.",
    inputs=lambda: CPS_INPUTS,
    evaluate=evaluate_cps,
    knowledge=cps_knowledge,
    gather=gather_cps,
    severity=_level_severity,
    codes=("pao2", "spo2", "fio2"),
    kinds=(
        "vasopressors",
        "dialysis",
        "ecmo",
        "viral_rna_detected",
        "symptomatic",
        "assistance_needed",
        "finding",
    ),
)

SEVERITY = Criterion(
    id="who_severity",
    name="WHO COVID-19 severity",
    description="WHO living guideline: critical (ARDS, sepsis, septic shock, life-sustaining "
    "therapy), severe (SpO2 <90% on room air, high respiratory rate, severe distress), "
    "moderate (pneumonia) or mild.",
    inputs=lambda: SEVERITY_INPUTS,
    evaluate=evaluate_severity,
    knowledge=severity_knowledge,
    gather=gather_severity,
    severity=_sev,
    codes=("spo2", "rr"),
    kinds=(
        "pneumonia",
        "severe_respiratory_distress",
        "ards",
        "sepsis",
        "septic_shock",
        "life_sustaining_therapy",
        "finding",
    ),
)
