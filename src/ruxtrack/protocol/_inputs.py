"""What a decision is made from: labs with their times and status, facts, drugs and the dose state.

Inputs are gathered either from a patient's :class:`~ruxtrack.timeline.Timeline` (the dose state is
derived from the recorded ruxolitinib exposures, so a replay reproduces it) or ad hoc from values
typed at the bedside (no history). Every lab keeps the value it was received in, its canonical
value,
its time and its status (ok, missing, stale, unconvertible, incomplete).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, TypeVar

import numpy as np

from ruxtrack.errors import EvaluationError, RuxtrackError, TimelineError, UnitError
from ruxtrack.protocol._ctcae import GradeInterval, grade_interval, term_of
from ruxtrack.protocol._engine import (
    INTERVAL_LABS,
    LAB_STATUS,
    STATES,
    interval_columns,
    required_columns,
)
from ruxtrack.protocol._schema import (
    FACT_CODES,
    LAB_CODES,
    SCORE_CODES,
    Interactions,
    Regimen,
    load_inputs,
    load_interactions,
)
from ruxtrack.timeline import DrugExposure, Frequency, Timeline, format_offset

__all__ = [
    "DecisionInputs",
    "DoseState",
    "DrugFact",
    "LabReading",
    "TimeLabels",
    "adhoc_inputs",
    "course_day_of",
    "human",
    "inputs_from_timeline",
    "parse_current_dose",
    "parse_drug",
    "to_columns",
]

LabStatus = Literal["ok", "missing", "stale", "unconvertible", "incomplete"]
State = Literal["naive", "on", "interrupted", "unknown"]

#: Timeline codes and canonical units of the labs rules test.
_LAB_SOURCE: dict[str, tuple[str, str]] = {
    "plt": ("plt", "10*9/L"),
    "anc": ("anc", "10*9/L"),
    "bili_xuln": ("bili_total", "umol/L"),
    "crcl": ("crcl", "mL/min"),
}
_LAB_NAMES = {
    "plt": "platelets",
    "anc": "ANC",
    "bili_xuln": "total bilirubin (x ULN)",
    "crcl": "creatinine clearance",
}
DRUG = "ruxolitinib"
_DISPLAY_UNIT = {"10*9/L": "×10⁹/L", "x ULN": "× ULN"}


@dataclass(frozen=True)
class LabReading:
    """One lab as used by a decision (value canonical; ``bili_xuln`` as a multiple of ULN).

    A usable lab is either a number (``value``) or an interval (``interval``, from a
    clinician-stated CTCAE grade; ``value`` is then None): rules decide on an interval only when
    the whole interval lies on one side of their threshold.
    """

    code: str
    status: LabStatus
    value: float | None = None
    unit: str = ""
    time: datetime | None = None
    age_days: int | None = None
    received: str | None = None
    detail: str | None = None
    interval: GradeInterval | None = None
    basis: str | None = None

    @property
    def name(self) -> str:
        return _LAB_NAMES.get(self.code, self.code)

    def bounds(self) -> tuple[float, float]:
        """(low, high) as closed bounds for the array evaluator; NaN when not usable.

        An open bound becomes the next float inward, so a comparison with any float threshold
        is decided exactly as on the open interval.
        """
        if self.status != "ok":
            return math.nan, math.nan
        if self.interval is None:
            v = math.nan if self.value is None else float(self.value)
            return v, v
        iv = self.interval
        lo = iv.low if iv.low_inclusive or math.isinf(iv.low) else math.nextafter(iv.low, math.inf)
        hi = (
            iv.high
            if iv.high_inclusive or math.isinf(iv.high)
            else math.nextafter(iv.high, -math.inf)
        )
        return lo, hi

    def text(self) -> str:
        """The value as a person reads it: ``85 ×10⁹/L`` or ``25–<50 ×10⁹/L from ...``."""
        if self.status != "ok":
            return f"{self.name} {self.status}"
        unit = f" {_DISPLAY_UNIT.get(self.unit, self.unit)}" if self.unit else ""
        if self.interval is not None:
            return f"{self.interval.text()}{unit}" + (f" {self.basis}" if self.basis else "")
        return f"{human(self.value)}{unit}"


def human(x: float | int | None, decimals: int = 2) -> str:
    """A number for people: at most ``decimals`` decimals, no trailing zeros, no exponent.

    >>> human(59.86757928359568), human(20.0), human(0.75), human(None)
    ('59.87', '20', '0.75', '?')
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "?"
    if isinstance(x, bool):
        return str(x).lower()
    v = round(float(x), decimals)
    text = f"{v:,.{decimals}f}".rstrip("0").rstrip(".") if decimals else f"{v:,.0f}"
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True)
class TimeLabels:
    """How a patient's days are shown: ISO dates, or days from the reference anchor.

    A patient recorded only in relative days (``Timeline.time_basis == "relative"``) sits at a
    nominal date that means nothing; every day is then shown as ``hsct#2+131d`` or
    "day 131 after hsct#2", never as a calendar date.
    """

    relative: bool = False
    reference: str | None = None
    origin: date | None = None

    @classmethod
    def of(cls, tl: Timeline) -> TimeLabels:
        if tl.time_basis != "relative":
            return cls()
        for e in tl.events:
            if e.time.origin:
                t = tl.anchors.get(e.key)
                if t is not None:
                    return cls(True, e.label, t.date())
        raise TimelineError(f"patient {tl.patient.patient_id}: relative timeline without origin")

    def offset(self, d: date) -> int | None:
        """Days from the reference anchor (relative timelines), else None."""
        return None if not self.relative or self.origin is None else (d - self.origin).days

    def iso(self, d: date | None) -> str | None:
        """The calendar date, or None on a relative timeline (its dates are nominal)."""
        return None if d is None or self.relative else d.isoformat()

    def short(self, d: date) -> str:
        """``2020-05-03`` or ``hsct#2+131d``."""
        n = self.offset(d)
        if n is None:
            return d.isoformat()
        return f"{self.reference}{format_offset(timedelta(days=n))}"

    def day(self, d: date) -> str:
        """``2020-05-03`` or ``day 131 after hsct#2``."""
        n = self.offset(d)
        if n is None:
            return d.isoformat()
        return f"day {n} after {self.reference}" if n >= 0 else f"{-n} days before {self.reference}"

    def days(self, first: date, last: date) -> str:
        """A span: ``2020-05-03 to 2020-05-09`` or ``days 74–130 after hsct#2``."""
        if first == last:
            return self.day(first)
        a, b = self.offset(first), self.offset(last)
        if a is None or b is None:
            return f"{first.isoformat()} to {last.isoformat()}"
        if a >= 0:
            return f"days {a}–{b} after {self.reference}"
        return f"{self.short(first)} to {self.short(last)}"

    def instant(self, t: datetime | None) -> str | None:
        """ISO date-time, or ``hsct#2+131d`` (with hours when not at midnight)."""
        if t is None:
            return None
        if not self.relative or self.origin is None:
            return t.isoformat(timespec="minutes")
        delta = t - datetime.combine(self.origin, time(0))
        return f"{self.reference}{format_offset(delta)}"


@dataclass(frozen=True)
class DrugFact:
    """A concomitant drug on the decision day, its interaction classes and daily dose."""

    name: str
    classes: tuple[str, ...]
    daily_mg: float | None


@dataclass(frozen=True)
class DoseState:
    """The ruxolitinib dose state before the decision day, as recorded."""

    state: State
    current_daily_mg: float | None = None
    current_level: int | None = None
    previous_level: int | None = None
    state_days: int | None = None
    since: date | None = None
    taper_in_progress: bool | None = None
    reason: str | None = None
    labs_at_change: Mapping[str, float | None] = field(default_factory=dict)
    drugs_at_change: tuple[DrugFact, ...] = ()
    #: (low, high) closed bounds of the labs at the change (intervals included; see LabReading)
    bounds_at_change: Mapping[str, tuple[float, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class DecisionInputs:
    """Everything one decision reads, for one regimen and one day."""

    regimen_id: str
    on_date: date | None
    course_day: int | None
    days_on_drug: int | None
    labs: Mapping[str, LabReading]
    facts: Mapping[str, bool | None]
    state: DoseState
    scores: Mapping[str, float | None] = field(default_factory=dict)
    age_years: float | None = None
    bsa_m2: float | None = None
    weight_kg: float | None = None
    height_cm: float | None = None
    baseline: Mapping[str, float | None] = field(default_factory=dict)
    drugs: tuple[DrugFact, ...] = ()
    patient_id: str | None = None
    adhoc: bool = False
    notes: tuple[str, ...] = ()
    labels: TimeLabels = field(default_factory=TimeLabels)


# -- columns --------------------------------------------------------------------------------------


def _f(x: float | int | bool | None) -> float:
    if x is None:
        return math.nan
    return float(x)


def to_columns(regimen: Regimen, rows: Sequence[DecisionInputs]) -> dict[str, np.ndarray]:
    """The column table the array evaluator reads, one row per input (see ``COLUMN_DOC``)."""
    data: dict[str, list[float]] = {
        k: [] for k in (*required_columns(regimen), *interval_columns())
    }
    classes = regimen.drug_classes()
    for x in rows:
        s = x.state
        data["state"].append(float(STATES.index(s.state)))
        data["course_day"].append(_f(x.course_day))
        data["days_on_drug"].append(_f(x.days_on_drug))
        data["current_daily"].append(_f(s.current_daily_mg))
        data["current_level"].append(_f(s.current_level))
        data["previous_level"].append(_f(s.previous_level))
        data["state_days"].append(_f(s.state_days))
        for lab in LAB_CODES:
            r = x.labs.get(lab)
            ok = r is not None and r.status == "ok"
            data[lab].append(_f(r.value) if ok and r is not None else math.nan)
            data[f"{lab}_status"].append(float(LAB_STATUS.index(r.status)) if r else 1.0)
            data[f"{lab}@change"].append(_f(s.labs_at_change.get(lab)))
            if lab in INTERVAL_LABS:
                lo, hi = r.bounds() if r is not None else (math.nan, math.nan)
                data[f"{lab}_lo"].append(lo)
                data[f"{lab}_hi"].append(hi)
                at = s.labs_at_change.get(lab)
                clo, chi = s.bounds_at_change.get(lab, (_f(at), _f(at)))
                data[f"{lab}@change_lo"].append(clo)
                data[f"{lab}@change_hi"].append(chi)
        for lab in ("plt", "anc"):
            base = x.baseline.get(lab)
            r = x.labs.get(lab)
            now = r.value if r is not None and r.status == "ok" else None
            fall = (base - now) / base * 100.0 if base and now is not None else None
            data[f"{lab}_fall_pct"].append(_f(fall))
        for fact in FACT_CODES:
            value = s.taper_in_progress if fact == "taper_in_progress" else x.facts.get(fact)
            data[fact].append(_f(value))
        for score in SCORE_CODES:
            data[score].append(_f(x.scores.get(score)))
        data["age_years"].append(_f(x.age_years))
        data["bsa_m2"].append(_f(x.bsa_m2))
        for cls in classes:
            for sfx, drugs in (("", x.drugs), ("@change", s.drugs_at_change)):
                hits = [d for d in drugs if cls in d.classes]
                if sfx == "@change" and s.state not in ("on", "interrupted"):
                    present, mg = math.nan, math.nan
                else:
                    present = 1.0 if hits else 0.0
                    doses = [d.daily_mg for d in hits]
                    mg = (
                        math.nan
                        if not hits or None in doses
                        else float(sum(d for d in doses if d is not None))
                    )
                data[f"drug:{cls}{sfx}"].append(present)
                data[f"drug_mg:{cls}{sfx}"].append(mg)
    return {k: np.asarray(v, dtype=np.float64) for k, v in data.items()}


# -- parsing of typed values ----------------------------------------------------------------------

_DOSE = re.compile(
    r"^\s*(?P<dose>\d+(?:\.\d+)?)\s*mg\s*(?P<freq>/\s*day|per\s+day|a\s+day|daily|once\s+daily|"
    r"twice\s+daily|bid|qd|od|tid|q12h|q24h|q48h|qod|every\s+other\s+day)?\s*$",
    re.IGNORECASE,
)
_FREQ_PER_DAY = {
    "/day": 1.0,
    "per day": 1.0,
    "a day": 1.0,
    "daily": 1.0,
    "once daily": 1.0,
    "qd": 1.0,
    "od": 1.0,
    "q24h": 1.0,
    "twice daily": 2.0,
    "bid": 2.0,
    "q12h": 2.0,
    "tid": 3.0,
    "q48h": 0.5,
    "qod": 0.5,
    "every other day": 0.5,
}


def _per_day(freq: str | None) -> float:
    if freq is None:
        return 1.0
    key = re.sub(r"\s+", " ", freq.strip().lower()).replace("/ day", "/day")
    return _FREQ_PER_DAY[key]


def parse_current_dose(text: str) -> float:
    """Daily ruxolitinib mg from text such as ``5 mg BID``, ``10 mg/day`` or ``5 mg once daily``.

    Raises
    ------
    EvaluationError
        When the text is not a dose in mg with a known frequency.

    Examples
    --------
    >>> parse_current_dose("5 mg BID"), parse_current_dose("10 mg/day")
    (10.0, 10.0)
    """
    m = _DOSE.match(text)
    if m is None:
        raise EvaluationError(
            f'current dose "{text}" is not understood: write e.g. "5 mg BID", "10 mg/day" or '
            '"5 mg once daily"'
        )
    return float(m["dose"]) * _per_day(m["freq"])


def with_combinations(
    facts: Sequence[DrugFact], table: Interactions, region: str | None = None
) -> tuple[DrugFact, ...]:
    """The drugs of a day plus one fact per combination they complete (``interactions.yaml``
    ``combinations``: e.g. letermovir with ciclosporin acts as a strong CYP3A inhibitor)."""
    del region  # combinations hold under every label read so far
    names = [f.name for f in facts]
    extra = [
        DrugFact(c.name, c.classes, None) for c in table.combined(names) if c.name not in names
    ]
    return (*facts, *extra)


def parse_drug(
    text: str, interactions: Interactions | None = None, region: str | None = None
) -> DrugFact:
    """A concomitant drug from ``NAME[:DOSE]``, e.g. ``fluconazole:200mg/day`` or ``posaconazole``.

    Raises
    ------
    EvaluationError
        When the dose part is not a dose in mg with a known frequency.

    Examples
    --------
    >>> parse_drug("fluconazole:400mg/day").daily_mg
    400.0
    """
    table = interactions or load_interactions()
    name, _, dose = text.partition(":")
    name = name.strip().lower()
    if not re.match(r"^[a-z][a-z0-9_ /+-]*$", name):
        raise EvaluationError(f'drug "{text}": the name must be a drug name such as fluconazole')
    daily: float | None = None
    if dose.strip():
        m = _DOSE.match(dose)
        if m is None:
            raise EvaluationError(
                f'drug "{text}": dose "{dose}" is not understood; write e.g. fluconazole:200mg/day'
            )
        daily = float(m["dose"]) * _per_day(m["freq"])
    entry = table.entry(name)
    return DrugFact(
        entry.name if entry else name, entry.classes_for(region) if entry else (), daily
    )


def _parse_number_unit(text: str | float, default_unit: str) -> tuple[float, str, str]:
    """(value, unit, as received) from ``85``, ``"85000/uL"`` or ``"51 umol/L"``."""
    from ruxtrack.units import parse_quantity

    if isinstance(text, int | float):
        return float(text), default_unit, f"{text:g} {default_unit}"
    try:
        parsed = parse_quantity(str(text))
    except UnitError as exc:  # QuantityParseError is not a UnitError; both handled below
        raise EvaluationError(f'"{text}": {exc}') from exc
    except ValueError as exc:
        raise EvaluationError(f'"{text}" is not a number with an optional unit: {exc}') from exc
    if parsed.comparator is not None:
        raise EvaluationError(
            f'"{text}": a censored value ({parsed.comparator}) cannot be placed against a dose '
            "threshold; give the measured number"
        )
    unit = parsed.unit or default_unit
    return float(parsed.value), unit, f"{parsed.value:g} {unit}"


def _lab_adhoc(
    code: str, text: str | float | None, default_unit: str, when: datetime | None
) -> LabReading:
    """A typed lab, converted with the units layer; an unusable unit gives a status, not a guess."""
    from ruxtrack.units import normalize

    if text is None:
        return LabReading(code, "missing", detail=f"{_LAB_NAMES[code]} not given")
    value, unit, received = _parse_number_unit(text, default_unit)
    src_code, canonical = _LAB_SOURCE[code]
    if code == "crcl":
        if unit.replace(" ", "").lower() != "ml/min":
            return LabReading(
                code,
                "unconvertible",
                received=received,
                detail=f'creatinine clearance in "{unit}": give mL/min (a CrCl, not '
                "an eGFR normalised to 1.73 m2)",
            )
        if value < 0 or value > 400:
            return LabReading(
                code,
                "unconvertible",
                received=received,
                detail=f"creatinine clearance {value:g} mL/min is not plausible",
            )
        return LabReading(code, "ok", value, canonical, when, 0, received)
    try:
        norm = normalize(src_code, value, unit)
    except UnitError as exc:
        return LabReading(code, "unconvertible", received=received, detail=str(exc))
    return LabReading(code, "ok", norm.value, canonical, when, 0, received)


def adhoc_inputs(
    regimen: Regimen,
    *,
    day: int | None = None,
    current_dose: str | None = None,
    platelets: str | float | None = None,
    anc: str | float | None = None,
    bilirubin: str | float | None = None,
    bilirubin_uln: str | float | None = None,
    liver_gvhd: bool | None = False,
    liver_gvhd_score: float | None = None,
    crcl: str | float | None = None,
    dialysis: bool | None = False,
    age: float | None = None,
    weight: str | float | None = None,
    height: str | float | None = None,
    drugs: Sequence[str] = (),
    covid_pcr_confirmed: bool | None = None,
    who_viral_pneumonia: bool | None = None,
    invasive_ventilation: bool | None = None,
    other_interventional_trial: bool | None = None,
    on_date: date | None = None,
    facts: Mapping[str, bool | None] | None = None,
    scores: Mapping[str, float | None] | None = None,
) -> DecisionInputs:
    """Inputs typed at the bedside, without history (labs are taken as measured today).

    ``facts`` and ``scores`` give any yes/no fact or graded finding of ``knowledge/inputs.yaml``
    by name (the named keywords are shortcuts for the common ones).

    Bare numbers are read in 10^9/L (platelets, ANC), mg/dL (bilirubin and its ULN), mL/min (CrCl),
    kg and cm; a unit written with the value is converted by :mod:`ruxtrack.units`.

    Raises
    ------
    EvaluationError
        When a value is not a number, the current dose or a drug dose cannot be read.
    """
    catalogue = load_inputs()
    for name in (*(facts or {}), *(scores or {})):
        spec = catalogue.get(name)
        kind = "fact" if name in (facts or {}) else "score"
        if spec is None or spec.kind != kind or not spec.adhoc:
            known = ", ".join(i.name for i in catalogue.inputs if i.kind == kind and i.adhoc)
            raise EvaluationError(f'{kind} "{name}" cannot be typed (inputs.yaml: {known})')
        value = (scores or {}).get(name)
        if kind == "score" and value is not None and spec.range is not None:
            lo, hi = spec.range
            if not lo <= value <= hi:
                raise EvaluationError(f"{name} {value:g}: outside {lo:g} to {hi:g}")
    if day == 0:
        raise EvaluationError(
            "course day 0 does not exist: day 1 is the day of the first dose and the day "
            "before it is day -1"
        )
    when = datetime.combine(on_date, time(0)) if on_date else None
    labs = {
        "plt": _lab_adhoc("plt", platelets, "10*9/L", when),
        "anc": _lab_adhoc("anc", anc, "10*9/L", when),
        "crcl": _lab_adhoc("crcl", crcl, "mL/min", when),
    }
    bili = _lab_adhoc("bili_xuln", bilirubin, "mg/dL", when)
    if bili.status == "ok" and bili.value is not None:
        bili_value = bili.value
        if bilirubin_uln is None:
            bili = LabReading(
                "bili_xuln",
                "incomplete",
                received=bili.received,
                detail="total bilirubin given without its upper limit of normal",
            )
        else:
            uln = _lab_adhoc("bili_xuln", bilirubin_uln, "mg/dL", when)
            if uln.status != "ok" or not uln.value:
                bili = LabReading(
                    "bili_xuln",
                    "unconvertible",
                    received=bili.received,
                    detail=f"bilirubin ULN: {uln.detail or 'not usable'}",
                )
            else:
                bili = LabReading(
                    "bili_xuln",
                    "ok",
                    bili_value / uln.value,
                    "x ULN",
                    when,
                    0,
                    f"{bili.received} (ULN {uln.received})",
                )
    labs["bili_xuln"] = bili
    weight_kg = _body(weight, "weight", "kg")
    height_cm = _body(height, "height", "cm")
    notes = [
        "Ad hoc decision: no history is known, so the current dose is taken as not yet "
        "modified for today's findings; holds, earlier reductions and tapers come from the "
        "patient's recorded history (the store form of the decision)."
    ]
    table = load_interactions()
    drug_facts = with_combinations(
        [parse_drug(d, table, regimen.region) for d in drugs], table, regimen.region
    )
    for d in drug_facts:
        if not d.classes:
            notes.append(
                f"{d.name}: not in the interaction table (interactions.yaml); no rule applies."
            )
    if current_dose is not None:
        daily = parse_current_dose(current_dose)
        state = DoseState("on", daily, _level_of(regimen, daily), taper_in_progress=False)
    elif day is None or day <= (regimen.schedule.first_day if regimen.schedule is not None else 1):
        # day 1 is the first dose: nothing has been given, so the starting dose applies
        state = DoseState("naive", taper_in_progress=False)
    else:
        state = DoseState("unknown", taper_in_progress=False)
    course_day = day
    if course_day is None and state.state == "naive" and regimen.schedule is not None:
        if regimen.schedule.anchor == "rux_start":
            course_day = regimen.schedule.first_day
    return DecisionInputs(
        regimen_id=regimen.id,
        on_date=on_date,
        course_day=course_day,
        days_on_drug=day,
        labs=labs,
        scores={"liver_gvhd_score": liver_gvhd_score, **(scores or {})},
        facts={
            "liver_gvhd": liver_gvhd
            if liver_gvhd_score is None
            else bool(liver_gvhd) or liver_gvhd_score > 0,
            "dialysis": dialysis,
            "invasive_ventilation": invasive_ventilation,
            "covid_pcr_confirmed": covid_pcr_confirmed,
            "who_viral_pneumonia": who_viral_pneumonia,
            "other_interventional_trial": other_interventional_trial,
        }
        | dict(facts or {}),
        state=state,
        age_years=age,
        bsa_m2=_bsa(weight_kg, height_cm),
        weight_kg=weight_kg,
        height_cm=height_cm,
        drugs=drug_facts,
        adhoc=True,
        notes=tuple(notes),
    )


def _body(text: str | float | None, code: str, unit: str) -> float | None:
    from ruxtrack.units import normalize

    if text is None:
        return None
    value, given, _ = _parse_number_unit(text, unit)
    try:
        return float(normalize(code, value, given).value)
    except UnitError as exc:
        raise EvaluationError(f"{code}: {exc}") from exc


def _bsa(weight_kg: float | None, height_cm: float | None) -> float | None:
    """Body-surface area by the criteria module's Mosteller formula, when both are known."""
    if weight_kg is None or height_cm is None:
        return None
    from ruxtrack.protocol._formulas import bsa_mosteller

    return bsa_mosteller(weight_kg, height_cm)


def _level_of(regimen: Regimen, daily: float | None) -> int | None:
    """Index of the dose level with this daily total (levels are matched by daily total)."""
    if daily is None:
        return None
    for i, lv in enumerate(regimen.dose_levels):
        if abs(lv.daily_mg - daily) < 1e-9:
            return i
    return None


# -- from a timeline ----------------------------------------------------------------------------


def _daily_mg(d: DrugExposure) -> float | None:
    per_day = d.frequency.per_day
    if per_day is None:
        return None
    factor = {"mg": 1.0, "g": 1000.0, "ug": 0.001}.get(d.unit.value)
    return None if factor is None else d.dose * per_day * factor


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time.max)


@dataclass(frozen=True)
class _Row:
    start: date
    end: date | None
    daily: float | None
    reason: str | None


def _rux_rows(tl: Timeline) -> list[_Row]:
    rows = []
    for d in tl.drugs:
        if d.drug != DRUG or d.frequency is Frequency.prn:
            continue
        s, e = tl.interval(d.start, d.end)
        rows.append(_Row(s.date(), None if e is None else e.date(), _daily_mg(d), d.reason))
    rows.sort(key=lambda r: (r.start, r.end or date.max))
    return rows


def _covers(r: _Row, day: date) -> bool:
    return r.start <= day and (r.end is None or day <= r.end)


def dose_state(
    tl: Timeline, regimen: Regimen, on: date, bilirubin_uln_umol_l: float | None = None
) -> DoseState:
    """The recorded dose state before ``on`` (see :class:`DoseState`)."""
    rows = _rux_rows(tl)
    yesterday = on - timedelta(days=1)
    covering = [r for r in rows if _covers(r, yesterday)]
    earlier = [r for r in rows if r.start <= yesterday]
    if covering:
        cur = max(covering, key=lambda r: r.start)
        dailies = [r.daily for r in covering]
        daily = None if None in dailies else float(sum(x for x in dailies if x is not None))
        since = cur.start
        state: State = "on"
        before = [r for r in earlier if r.start < cur.start and r.daily != daily]
    elif earlier:
        last = max(earlier, key=lambda r: r.end or date.max)
        assert last.end is not None
        daily = last.daily
        since = last.end + timedelta(days=1)
        state = "interrupted"
        cur = last
        before = [r for r in earlier if r.start < last.start and r.daily != daily]
    else:
        return DoseState("naive", taper_in_progress=False)
    prev = max(before, key=lambda r: r.start) if before else None
    reason = cur.reason if state == "on" else None
    taper = bool(reason and reason.strip().lower().startswith("taper"))
    window = _max_window(regimen)
    labels = TimeLabels.of(tl)
    readings = {
        code: _reading(tl, code, since, window, bilirubin_uln_umol_l, labels) for code in LAB_CODES
    }
    labs = {code: r.value for code, r in readings.items()}
    return DoseState(
        state=state,
        current_daily_mg=daily,
        current_level=_level_of(regimen, daily),
        previous_level=_level_of(regimen, prev.daily) if prev else None,
        state_days=(on - since).days,
        since=since,
        taper_in_progress=taper,
        reason=cur.reason,
        labs_at_change=labs,
        drugs_at_change=_drugs_on(tl, since, regimen.region),
        bounds_at_change={code: readings[code].bounds() for code in INTERVAL_LABS},
    )


def _max_window(regimen: Regimen) -> int:
    return max((r.max_age_days for r in regimen.required_labs), default=0)


def _reading(
    tl: Timeline,
    code: str,
    day: date,
    window: int,
    bilirubin_uln: float | None,
    labels: TimeLabels,
) -> LabReading:
    """The lab a decision on ``day`` uses: the latest number, or a later clinician-stated grade."""
    num = _lab_from_timeline(tl, code, day, window, bilirubin_uln, labels)
    stated = _stated_grade(tl, code, day, window, labels) if code in INTERVAL_LABS else None
    if stated is None:
        return num
    if num.time is not None and num.time >= (stated.time or num.time):
        return num  # a measured number at the same time or later wins
    return stated


def _stated_grade(
    tl: Timeline, code: str, day: date, window: int, labels: TimeLabels
) -> LabReading | None:
    """The latest clinician-stated CTCAE grade of the term that grades ``code``, as an interval."""
    best: tuple[datetime, str, int, str] | None = None
    for t, a in tl.assessments_of("ctcae_grade"):
        if t > _end_of(day):
            break
        term = term_of(a.code, code)
        g = a.as_float()
        if term is None or g is None or g != int(g):
            continue
        best = (t, term, int(g), a.value)
    if best is None:
        return None
    t, term, grade, raw = best
    age = (day - t.date()).days
    received = f"CTCAE grade {raw} ({term})"
    iv = grade_interval(term, grade)
    if iv is None:
        return LabReading(
            code,
            "unconvertible",
            None,
            "",
            t,
            age,
            received,
            f"CTCAE grade {grade} of {term} is not a range of {_LAB_NAMES[code]} values",
        )
    basis = f"from a clinician-stated CTCAE grade {grade} on {labels.day(t.date())}"
    if age > window:
        return LabReading(
            code,
            "stale",
            None,
            iv.unit,
            t,
            age,
            received,
            f"{_LAB_NAMES[code]} {basis} is {age} days old (freshness window {window} days)",
            interval=iv,
            basis=basis,
        )
    return LabReading(code, "ok", None, iv.unit, t, age, received, interval=iv, basis=basis)


def _lab_from_timeline(
    tl: Timeline,
    code: str,
    day: date,
    window: int,
    bilirubin_uln: float | None,
    labels: TimeLabels | None = None,
) -> LabReading:
    from ruxtrack.units import convert

    labels = labels or TimeLabels()

    src, canonical = _LAB_SOURCE[code]
    hit = tl.latest(src, _end_of(day))
    if hit is None:
        return LabReading(code, "missing", detail=f"no {_LAB_NAMES[code]} result on the timeline")
    t, obs = hit
    age = (day - t.date()).days
    received = (
        f"{obs.source_value if obs.source_value is not None else obs.value:g} "
        f"{obs.source_unit or obs.unit}"
    )
    if age > window:
        return LabReading(
            code,
            "stale",
            obs.value,
            obs.unit,
            t,
            age,
            received,
            f"{_LAB_NAMES[code]} from {labels.day(t.date())} is {age} days old "
            f"(freshness window {window} days)",
        )
    if obs.comparator is not None:
        return LabReading(
            code,
            "unconvertible",
            None,
            obs.unit,
            t,
            age,
            received,
            f"censored {_LAB_NAMES[code]} ({obs.comparator.value} {obs.value:g}) "
            "cannot be placed against a threshold",
        )
    value = obs.value
    if obs.unit != canonical:
        try:
            value = convert(src, obs.value, obs.unit, canonical)
        except RuxtrackError as exc:
            return LabReading(code, "unconvertible", None, obs.unit, t, age, received, str(exc))
    if code == "bili_xuln":
        if bilirubin_uln is None:
            return LabReading(
                code,
                "incomplete",
                None,
                "x ULN",
                t,
                age,
                received,
                "total bilirubin has no upper limit of normal: give bilirubin_uln",
            )
        return LabReading(
            code,
            "ok",
            value / bilirubin_uln,
            "x ULN",
            t,
            age,
            f"{received} (ULN {bilirubin_uln:g} umol/L)",
        )
    return LabReading(code, "ok", value, canonical, t, age, received)


def _crcl_from_creatinine(
    tl: Timeline, day: date, window: int, weight_window: int, labels: TimeLabels
) -> LabReading:
    """Cockcroft-Gault CrCl from the latest creatinine, age, weight and sex on the timeline."""
    from ruxtrack.protocol._formulas import crcl_cockcroft_gault
    from ruxtrack.units import convert

    hit = tl.latest("creat", _end_of(day))
    if hit is None:
        return LabReading(
            "crcl", "missing", detail="no creatinine clearance and no creatinine on the timeline"
        )
    t, obs = hit
    age_days = (day - t.date()).days
    received = f"creatinine {obs.value:g} {obs.unit}"
    if age_days > window:
        return LabReading(
            "crcl",
            "stale",
            None,
            "mL/min",
            t,
            age_days,
            received,
            f"creatinine from {labels.day(t.date())} is {age_days} days old "
            f"(freshness window {window} days)",
        )
    age = tl.age_at(_end_of(day))
    weight = tl.latest("weight", _end_of(day), timedelta(days=weight_window + 1))
    sex = tl.patient.sex.value
    if age is None or weight is None or sex not in ("female", "male") or obs.comparator:
        what = [
            name
            for name, gap in (
                ("age", age is None),
                (f"a weight from the last {weight_window} days", weight is None),
                ("sex (female/male)", sex not in ("female", "male")),
                ("an uncensored creatinine", obs.comparator is not None),
            )
            if gap
        ]
        return LabReading(
            "crcl",
            "incomplete",
            None,
            "mL/min",
            t,
            age_days,
            received,
            "Cockcroft-Gault needs " + ", ".join(what) + " with the creatinine",
        )
    try:
        creat_mg_dl = convert("creat", obs.value, obs.unit, "mg/dL")
    except RuxtrackError as exc:
        return LabReading("crcl", "unconvertible", None, obs.unit, t, age_days, received, str(exc))
    value = crcl_cockcroft_gault(age, weight[1].value, creat_mg_dl, sex)
    if value is None:
        return LabReading(
            "crcl",
            "incomplete",
            None,
            "mL/min",
            t,
            age_days,
            received,
            "the Cockcroft-Gault formula (ruxtrack.criteria) is not available",
        )
    return LabReading(
        "crcl",
        "ok",
        value,
        "mL/min",
        t,
        age_days,
        f"Cockcroft-Gault from {received}, age {age:.0f} y, weight {weight[1].value:g} kg "
        f"({labels.day(weight[0].date())}), {sex}",
    )


def _drugs_on(tl: Timeline, day: date, region: str | None) -> tuple[DrugFact, ...]:
    table = load_interactions()
    out = []
    for d in tl.drugs_on(_end_of(day)):
        if d.drug == DRUG:
            continue
        entry = table.entry(d.drug)
        name = entry.name if entry else d.drug
        out.append(DrugFact(name, entry.classes_for(region) if entry else (), _daily_mg(d)))
    return with_combinations(out, table, region)


T = TypeVar("T")


def _latest(
    tl: Timeline, kinds: Sequence[str], at: datetime, read: Callable[[Any], T | None]
) -> T | None:
    """The latest readable assessment of any of ``kinds`` on or before ``at``."""
    found: tuple[datetime, T] | None = None
    for kind in kinds:
        for t, a in tl.assessments_of(kind):
            if t > at:
                break
            value = read(a)
            if value is not None and (found is None or t >= found[0]):
                found = (t, value)
    return None if found is None else found[1]


def _score(tl: Timeline, kinds: Sequence[str], at: datetime) -> float | None:
    """The latest graded assessment (a stage or organ score) on or before ``at``."""
    return _latest(tl, kinds, at, lambda a: a.as_float())


def _as_fact(a: Any) -> bool | None:
    value: bool | None = a.as_bool()
    if value is None:
        number = a.as_float()
        value = None if number is None else number > 0
    return value


def _fact(tl: Timeline, kinds: Sequence[str], at: datetime) -> bool | None:
    return _latest(tl, kinds, at, _as_fact)


def _ventilated(tl: Timeline, at: datetime) -> bool | None:
    ep = tl.support_on(at)
    if ep is not None:
        return ep.mode.value in ("imv", "ecmo")
    intub = [t for (name, _), t in tl.anchors.items() if name == "intubation" and t <= at]
    extub = [t for (name, _), t in tl.anchors.items() if name == "extubation" and t <= at]
    if intub and (not extub or max(intub) > max(extub)):
        return True
    if tl.support or intub:
        return False
    return None


def inputs_from_timeline(
    timeline: Timeline,
    regimen: Regimen,
    on: date | datetime,
    *,
    bilirubin_uln_umol_l: float | None = None,
) -> DecisionInputs:
    """Gather one day's inputs from a patient's timeline.

    Labs count when reported on or before the decision day and no older than the regimen's
    freshness window (whole calendar days). The dose state comes from the ruxolitinib
    exposures recorded before that day.

    Parameters
    ----------
    timeline
        The patient's timeline.
    regimen
        The regimen the inputs are for (its schedule anchor, levels and freshness windows).
    on
        The calendar day decided (a datetime is taken as its day).
    bilirubin_uln_umol_l
        The upper limit of normal of total bilirubin in umol/L (the timeline does not hold it).
    """
    day = on.date() if isinstance(on, datetime) else on
    at = _end_of(day)
    labels = TimeLabels.of(timeline)
    windows = {r.column: r.max_age_days for r in regimen.required_labs}
    default_window = _max_window(regimen)
    weight_window = (
        regimen.body_measures.weight_max_age_days
        if regimen.body_measures is not None
        else default_window or 1
    )
    labs = {
        code: _reading(
            timeline, code, day, windows.get(code, default_window), bilirubin_uln_umol_l, labels
        )
        for code in LAB_CODES
    }
    if labs["crcl"].status == "missing":
        labs["crcl"] = _crcl_from_creatinine(
            timeline, day, windows.get("crcl", default_window), weight_window, labels
        )
    state = dose_state(timeline, regimen, day, bilirubin_uln_umol_l)
    rows = _rux_rows(timeline)
    first = rows[0].start if rows else None
    if first is None:
        ev = timeline.anchor("rux_start")
        first = ev.date() if ev is not None and ev.date() < day else None
    days_on = None if first is None or first > day else (day - first).days + 1
    course_day: int | None = None
    if regimen.schedule is not None:
        event, occ = regimen.schedule.anchor_key()
        anchor = timeline.anchor(event, occ)
        anchor_day = anchor.date() if anchor is not None else None
        if anchor_day is None and event == "rux_start":
            anchor_day = first if first is not None else (day if state.state == "naive" else None)
        if anchor_day is not None:
            course_day = course_day_of(day, anchor_day, regimen.schedule.day_one_is_anchor)
    baseline: dict[str, float | None] = {}
    if first is not None:
        for code in ("plt", "anc"):
            baseline[code] = _lab_from_timeline(timeline, code, first, default_window, None).value
    weight = timeline.latest("weight", at, timedelta(days=weight_window + 1))
    height = timeline.latest("height", at)
    weight_kg = weight[1].value if weight else None
    height_cm = height[1].value if height else None
    # Facts are read at the end of the day, except before the first dose: eligibility is judged
    # when the course starts (the recorded rux_start instant of that day), not hours later.
    fact_at = at
    start_ev = timeline.anchor("rux_start")
    if state.state == "naive" and start_ev is not None and start_ev.date() == day:
        fact_at = start_ev
    covid_pcr = _fact(timeline, ["covid_pcr"], fact_at)
    positive = any(n == "covid_positive" and t <= fact_at for (n, _), t in timeline.anchors.items())
    covid = covid_pcr if covid_pcr is not None else (True if positive else None)
    catalogue = load_inputs()
    facts: dict[str, bool | None] = {}
    scores: dict[str, float | None] = {}
    for spec in catalogue.inputs:
        if spec.timeline is None:
            continue
        when = fact_at if spec.timeline.at == "course_start" else at
        if spec.kind == "fact":
            facts[spec.name] = _fact(timeline, spec.timeline.assessments, when)
        elif spec.kind == "score":
            scores[spec.name] = _score(timeline, spec.timeline.assessments, when)
    # derived facts (inputs.yaml `derived:`)
    facts["invasive_ventilation"] = _ventilated(timeline, fact_at)
    facts["covid_pcr_confirmed"] = covid
    return DecisionInputs(
        regimen_id=regimen.id,
        on_date=day,
        course_day=course_day,
        days_on_drug=days_on,
        labs=labs,
        facts=facts,
        scores=scores,
        state=state,
        age_years=timeline.age_at(at),
        bsa_m2=_bsa(weight_kg, height_cm),
        weight_kg=weight_kg,
        height_cm=height_cm,
        baseline=baseline,
        drugs=_drugs_on(timeline, day, regimen.region),
        patient_id=timeline.patient.patient_id,
        labels=labels,
    )


def course_day_of(day: date, anchor_day: date, day_one_is_anchor: bool) -> int:
    """Schedule day of ``day``: with ``day_one_is_anchor`` the anchor is day 1 and there is no
    day 0 (the day before is day -1), as protocols count; otherwise the anchor is day 0.

    >>> from datetime import date
    >>> course_day_of(date(2020, 6, 30), date(2020, 6, 30), True)
    1
    >>> course_day_of(date(2020, 6, 29), date(2020, 6, 30), True)
    -1
    """
    delta = (day - anchor_day).days
    if not day_one_is_anchor:
        return delta
    return delta + 1 if delta >= 0 else delta
