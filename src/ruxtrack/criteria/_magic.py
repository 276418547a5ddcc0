"""MAGIC acute GVHD: organ stages (skin, liver, upper GI, lower GI) and the overall grade."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from ruxtrack.criteria._common import Criterion, lab_value, sources_of
from ruxtrack.criteria._gather import add_findings, lab_datum
from ruxtrack.criteria._knowledge import (
    Band,
    CriterionFile,
    Freshness,
    check_partition,
    exact,
    load_file,
)
from ruxtrack.criteria._model import Component, Conclusion, Evaluation, InputSpec, Status
from ruxtrack.criteria._values import CriterionInputError, Datum, Inputs, Interval, classify
from ruxtrack.knowledge import SourceRef

if TYPE_CHECKING:
    from ruxtrack.timeline import Timeline

_F = ConfigDict(frozen=True, extra="forbid")
ORGANS = ("skin", "liver", "upper_gi", "lower_gi")
GRADES = ("0", "I", "II", "III", "IV")


def _partitioned(bands: tuple[Band, ...]) -> tuple[Band, ...]:
    check_partition(bands, full=True)
    return bands


class _Skin(BaseModel):
    model_config = _F
    unit: str
    bins: tuple[Band, ...]
    bullae_stage: int
    bullae_requires_above: float

    @model_validator(mode="after")
    def _p(self) -> _Skin:
        _partitioned(self.bins)
        return self


class _Liver(BaseModel):
    model_config = _F
    unit: str
    bins: tuple[Band, ...]

    @model_validator(mode="after")
    def _p(self) -> _Liver:
        _partitioned(self.bins)
        return self


class _LowerGi(BaseModel):
    model_config = _F
    volume_unit: str
    volume_bins: tuple[Band, ...]
    episode_bins: tuple[Band, ...]

    @model_validator(mode="after")
    def _p(self) -> _LowerGi:
        _partitioned(self.volume_bins)
        _partitioned(self.episode_bins)
        return self


class _GradeRule(BaseModel):
    model_config = _F
    grade: Literal["I", "II", "III", "IV"]
    any_of: dict[Literal["skin", "liver", "upper_gi", "lower_gi"], tuple[int, ...]]


class MagicFile(CriterionFile):
    freshness: Freshness
    staging_source: SourceRef
    gap_convention_source: SourceRef
    adult_weight_above_kg: float
    adult_weight_source: SourceRef
    skin: _Skin
    liver: _Liver
    upper_gi: dict[str, int]
    lower_gi_adult: _LowerGi
    lower_gi_pediatric: _LowerGi
    severe_pain_or_bleeding_stage: int
    grade_source: SourceRef
    grades: tuple[_GradeRule, ...]


def knowledge() -> MagicFile:
    return load_file("magic_agvhd", MagicFile)


INPUTS = (
    InputSpec(
        key="population",
        kind="enum",
        choices=("adult", "pediatric"),
        description="which lower-GI volumes apply (default: adult above 50 kg)",
    ),
    InputSpec(key="weight", kind="lab", code="weight", unit="kg", description="body weight"),
    InputSpec(
        key="skin_rash_bsa_pct",
        kind="number",
        unit="%",
        description="active erythematous GVHD rash, % body-surface area",
    ),
    InputSpec(
        key="skin_bullae", kind="bool", description="bullous formation and desquamation >5% BSA"
    ),
    InputSpec(
        key="bili_total",
        kind="lab",
        code="bili_total",
        unit="umol/L",
        description="total bilirubin",
    ),
    InputSpec(
        key="upper_gi_symptoms",
        kind="enum",
        choices=("none", "intermittent", "persistent"),
        description="nausea, vomiting or anorexia",
    ),
    InputSpec(
        key="stool_volume",
        kind="text",
        unit="mL/d or mL/kg/d",
        description='stool volume per day, 3-day average, e.g. "1200 mL/d" or "25 mL/kg/d"',
    ),
    InputSpec(key="stool_episodes", kind="number", unit="/d", description="stool episodes per day"),
    InputSpec(
        key="severe_pain_or_bleeding",
        kind="bool",
        description="severe abdominal pain (opioids, impact on performance status) with or "
        "without ileus, or grossly bloody stool",
    ),
    *(
        InputSpec(key=f"{o}_stage", kind="number", description=f"{o} stage stated by the clinician")
        for o in ORGANS
    ),
)

_VOLUME = re.compile(r"^\s*(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>mL/d|mL/kg/d|mL/\(kg\.d\))\s*$")


def _parse_volume(raw: Any) -> tuple[Fraction, str]:
    if isinstance(raw, Mapping):
        raw = f"{raw.get('value')} {raw.get('unit')}"
    m = _VOLUME.match(str(raw))
    if m is None:
        raise CriterionInputError("stool_volume", f'{raw!r}: write "1200 mL/d" or "25 mL/kg/d"')
    unit = "mL/kg/d" if m["unit"] != "mL/d" else "mL/d"
    return exact(m["num"]), unit


def _stages_of(iv: Interval, bands: Iterable[Band]) -> set[int]:
    return {b.stage for b in classify(iv, tuple(bands)) if b.stage is not None}


def _skin(f: MagicFile, inputs: Inputs) -> tuple[set[int], Any, tuple[str, ...]]:
    pct = inputs.number("skin_rash_bsa_pct")
    bullae = inputs.flag("skin_bullae")
    if pct is None:
        return set(range(5)), None, ()
    if not 0 <= pct <= 100:
        raise CriterionInputError("skin_rash_bsa_pct", f"{pct:g} is not a percentage 0-100")
    stages = _stages_of(Interval.point(exact(pct)), f.skin.bins)
    if pct > f.skin.bullae_requires_above:
        stages = (
            {f.skin.bullae_stage}
            if bullae
            else stages | ({f.skin.bullae_stage} if bullae is None else set())
        )
    return stages, pct, ("skin_rash_bsa_pct", "skin_bullae")


def _liver(f: MagicFile, inputs: Inputs) -> tuple[set[int], Any, tuple[str, ...]]:
    m = inputs.lab("bili_total")
    if m is None:
        return set(range(5)), None, ()
    shown = m.in_unit(f.liver.unit)
    return _stages_of(shown.interval(), f.liver.bins), lab_value(shown), ("bili_total",)


def _upper(f: MagicFile, inputs: Inputs) -> tuple[set[int], Any, tuple[str, ...]]:
    v = inputs.choice("upper_gi_symptoms")
    if v is None:
        return set(f.upper_gi.values()), None, ()
    return {f.upper_gi[v]}, v, ("upper_gi_symptoms",)


def _populations(f: MagicFile, inputs: Inputs) -> list[str]:
    pop = inputs.choice("population")
    if pop is not None:
        return [pop]
    w = inputs.lab("weight")
    if w is None:
        return ["adult", "pediatric"]
    return ["adult"] if w.number > f.adult_weight_above_kg else ["pediatric"]


def _lower(f: MagicFile, inputs: Inputs) -> tuple[set[int], Any, tuple[str, ...], list[str]]:
    alerts: list[str] = []
    severe = inputs.flag("severe_pain_or_bleeding")
    if severe:
        return (
            {f.severe_pain_or_bleeding_stage},
            "severe pain or bleeding",
            ("severe_pain_or_bleeding",),
            alerts,
        )
    raw = inputs.datum("stool_volume")
    episodes = inputs.number("stool_episodes")
    weight = inputs.lab("weight")
    stages: set[int] = set()
    pops = _populations(f, inputs)
    if len(pops) > 1:
        alerts.append("lower GI: give population or weight (adult volumes above 50 kg)")
    for pop in pops:
        table = f.lower_gi_adult if pop == "adult" else f.lower_gi_pediatric
        vol: set[int] = set(range(4))
        if raw is not None:
            amount, unit = _parse_volume(raw.value)
            if unit != table.volume_unit:
                if weight is None:
                    amount = Fraction(-1)
                elif unit == "mL/d":
                    amount = amount / weight.value
                else:
                    amount = amount * weight.value
            if amount >= 0:
                vol = _stages_of(Interval.point(amount), table.volume_bins)
            else:
                alerts.append(
                    f"lower GI: stool volume in {unit} needs the weight for {pop} staging"
                )
        epi: set[int] = set(range(4))
        if episodes is not None:
            if episodes != int(episodes) or episodes < 0:
                raise CriterionInputError("stool_episodes", f"{episodes:g} is not a whole number")
            epi = _stages_of(Interval.point(exact(episodes)), table.episode_bins)
        stages |= {max(a, b) for a in vol for b in epi}
    if raw is not None and episodes is None and max(stages) > min(stages):
        alerts.append("lower GI: stool episodes unknown; they can raise the stage ('or' in MAGIC)")
    if severe is None:
        stages.add(f.severe_pain_or_bleeding_stage)
    value = None if raw is None else str(raw.value)
    return (
        stages,
        value,
        ("stool_volume", "stool_episodes", "severe_pain_or_bleeding", "weight"),
        alerts,
    )


def grade_of(stages: Mapping[str, int], rules: Iterable[_GradeRule]) -> str:
    """Overall grade from organ stages: the first rule (highest grade first) any organ meets."""
    for rule in rules:
        if any(stages[organ] in allowed for organ, allowed in rule.any_of.items()):
            return rule.grade
    return "0"


_LABELS = {
    "skin": "Skin",
    "liver": "Liver (bilirubin)",
    "upper_gi": "Upper GI",
    "lower_gi": "Lower GI",
}


def evaluate(inputs: Inputs) -> Evaluation:
    f = knowledge()
    src = f.staging_source.label()
    lower, lower_value, lower_keys, alerts = _lower(f, inputs)
    computed = {
        "skin": _skin(f, inputs),
        "liver": _liver(f, inputs),
        "upper_gi": _upper(f, inputs),
        "lower_gi": (lower, lower_value, lower_keys),
    }
    comps = []
    lo_stage: dict[str, int] = {}
    hi_stage: dict[str, int] = {}
    for organ in ORGANS:
        stages, value, keys = computed[organ]
        stated = inputs.datum(f"{organ}_stage")
        basis = inputs.basis_of(*[k for k in keys if inputs.datum(k) is not None])
        time = inputs.time_of(*keys)
        note = None
        unit = {"skin": "% BSA", "liver": f.liver.unit}.get(organ)
        if stated is not None:
            s = int(stated.value)
            if s != stated.value or not 0 <= s <= 4:
                raise CriterionInputError(f"{organ}_stage", f"{stated.value!r} is not a stage 0-4")
            if value is not None and stages != {s}:
                note = "clinician-stated stage counts; the inputs give " + "/".join(
                    map(str, sorted(stages))
                )
            stages, value, basis, time, unit = (
                {s},
                f"stage {s} (stated by clinician)",
                "stated by clinician",
                stated.time,
                None,
            )
        lo, hi = min(stages), max(stages)
        lo_stage[organ], hi_stage[organ] = lo, hi
        comps.append(
            Component(
                name=organ,
                label=_LABELS[organ],
                status=Status.met if lo >= 1 else Status.not_met if hi == 0 else Status.unknown,
                value=value,
                unit=unit,
                time=time,
                stage=lo if lo == hi else None,
                range=None if lo == hi else (lo, hi),
                threshold=_threshold(f, organ),
                source=src,
                basis=basis,
                note=note,
            )
        )
    g_lo, g_hi = grade_of(lo_stage, f.grades), grade_of(hi_stage, f.grades)
    if g_lo != "0":
        conclusion = Conclusion.established
    elif g_hi == "0":
        conclusion = Conclusion.excluded
    else:
        conclusion = Conclusion.undecidable
    alerts.append(f"overall grade table: {f.grade_source.label()}")
    return Evaluation(
        id="magic_agvhd",
        name=f.name,
        total=None,
        value=g_lo if g_lo == g_hi else None,
        value_range=None if g_lo == g_hi else (g_lo, g_hi),
        unit="MAGIC grade",
        components=tuple(comps),
        conclusion=conclusion,
        alerts=tuple(alerts),
        sources=sources_of(f),
    )


def _threshold(f: MagicFile, organ: str) -> str:
    if organ == "skin":
        return "; ".join(f"{b.stage}: {b.text_range('%')}" for b in f.skin.bins) + (
            f"; 4: >{f.skin.bullae_requires_above:g}% with bullae/desquamation"
        )
    if organ == "liver":
        return "; ".join(f"{b.stage}: {b.text_range(f.liver.unit)}" for b in f.liver.bins)
    if organ == "upper_gi":
        return "persistent nausea, vomiting or anorexia → 1"
    a, p = f.lower_gi_adult, f.lower_gi_pediatric
    return (
        "adult: "
        + "; ".join(f"{b.stage}: {b.text_range(a.volume_unit)}" for b in a.volume_bins)
        + " or episodes "
        + "; ".join(f"{b.stage}: {b.text_range()}" for b in a.episode_bins)
        + " | child: "
        + "; ".join(f"{b.stage}: {b.text_range(p.volume_unit)}" for b in p.volume_bins)
        + " or episodes "
        + "; ".join(f"{b.stage}: {b.text_range()}" for b in p.episode_bins)
        + " | 4: severe pain or bleeding"
    )


def gather(tl: Timeline, at: datetime, ctx: Any) -> Inputs:
    f = knowledge()
    data: dict[str, Datum] = {}
    for key in ("bili_total", "weight"):
        d = lab_datum(
            tl, key, key, at, f.freshness.labs_days if key != "weight" else f.freshness.body_days
        )
        if d is not None:
            data[key] = d
    for organ in ORGANS:
        hits = [
            (t, a)
            for t, a in tl.assessments_of(f"gvhd_stage_{organ}")
            if t <= at
            and (at - t).days <= (f.freshness.findings_days or 0)
            and a.as_float() is not None
        ]
        if hits:
            t, a = hits[-1]
            data[f"{organ}_stage"] = Datum(
                f"{organ}_stage",
                a.as_float(),
                time=str(a.time),
                instant=t,
                basis="stated by clinician",
            )
    add_findings(
        data, tl, ("skin_bullae", "severe_pain_or_bleeding"), at, f.freshness.findings_days
    )
    for kind, key in (("stool_count", "stool_episodes"),):
        hits = [
            (t, a)
            for t, a in tl.assessments_of(kind)
            if t <= at
            and (at - t).days <= (f.freshness.findings_days or 0)
            and a.as_float() is not None
        ]
        if hits:
            t, a = hits[-1]
            data[key] = Datum(key, a.as_float(), time=str(a.time), instant=t, basis="assessment")
    hits = [
        (t, a)
        for t, a in tl.assessments_of("stool_volume")
        if t <= at and (at - t).days <= (f.freshness.findings_days or 0)
    ]
    if hits:
        t, a = hits[-1]
        data["stool_volume"] = Datum(
            "stool_volume", a.value, time=str(a.time), instant=t, basis="assessment"
        )
    return Inputs(data)


def severity(e: Evaluation) -> tuple[float, ...]:
    lo = e.value_range[0] if e.value_range else e.value
    hi = e.value_range[1] if e.value_range else e.value
    return (float(GRADES.index(str(lo))), float(GRADES.index(str(hi))))


CRITERION = Criterion(
    id="magic_agvhd",
    name="MAGIC acute GVHD",
    description="Harris 2016: organ stages of skin, liver, upper and lower GI (adult and "
    "paediatric stool volumes) and the overall grade 0-IV.",
    inputs=lambda: INPUTS,
    evaluate=evaluate,
    knowledge=knowledge,
    gather=gather,
    severity=severity,
    codes=("bili_total", "weight"),
    kinds=(*(f"gvhd_stage_{o}" for o in ORGANS), "stool_count", "stool_volume", "finding"),
)
