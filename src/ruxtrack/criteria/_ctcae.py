"""CTCAE v5.0 grades of laboratory terms, with the baseline-dependent definitions.

Multiples of ULN and of baseline are compared as exact fractions (1.5 × 1.2 is 1.8, not
1.7999…). A clinician-stated grade (``ctcae_grade`` assessment) counts as the grade.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from ruxtrack.criteria._common import Criterion, int_bounds, lab_value, sources_of
from ruxtrack.criteria._gather import Context, days, lab_datum
from ruxtrack.criteria._knowledge import Band, CriterionFile, Freshness, check_partition, load_file
from ruxtrack.criteria._model import Component, Conclusion, Evaluation, InputSpec, Status
from ruxtrack.criteria._values import (
    CriterionInputError,
    Datum,
    Inputs,
    Interval,
    Measured,
    classify,
)
from ruxtrack.knowledge import SourceRef

if TYPE_CHECKING:
    from ruxtrack.timeline import Timeline

_F = ConfigDict(frozen=True, extra="forbid")
MAX_GRADE = 4


class Term(BaseModel):
    model_config = _F
    label: str
    code: str
    direction: Literal["decreased", "increased"]
    unit: str | None = None
    grade1_floor: float | None = None
    bands: tuple[Band, ...] = ()
    max_lab_grade: int | None = None
    max_lab_grade_note: str | None = None
    uln_bands: tuple[Band, ...] = ()
    baseline_rule: Literal["if_abnormal", "worse_of"] | None = None
    baseline_bands: tuple[Band, ...] = ()
    source: SourceRef
    baseline_rule_source: SourceRef | None = None

    @model_validator(mode="after")
    def _shape(self) -> Term:
        if self.direction == "decreased":
            if self.unit is None or self.grade1_floor is None or not self.bands:
                raise ValueError("a decreased term needs unit, grade1_floor and bands")
            check_partition(self.bands, full=False)
            top = max(self.bands, key=lambda b: b.upper[0] if b.upper else 0)
            if top.upper is None or float(top.upper[0]) != self.grade1_floor or top.upper[1]:
                raise ValueError("the highest band must end below grade1_floor (lt)")
        else:
            if not self.uln_bands or self.baseline_rule is None:
                raise ValueError("an increased term needs uln_bands and baseline_rule")
            check_partition(self.uln_bands, full=False)
            check_partition(self.baseline_bands, full=False)
        return self


class CtcaeFile(CriterionFile):
    freshness: Freshness
    aliases: dict[str, str]
    terms: dict[str, Term]

    @model_validator(mode="after")
    def _aliases(self) -> CtcaeFile:
        bad = sorted(set(self.aliases.values()) - set(self.terms))
        if bad:
            raise ValueError(f"aliases point to unknown terms {bad}")
        return self


def knowledge() -> CtcaeFile:
    return load_file("ctcae", CtcaeFile)


def _inputs() -> tuple[InputSpec, ...]:
    f = knowledge()
    specs: list[InputSpec] = [
        InputSpec(
            key="term",
            kind="enum",
            choices=tuple(f.terms),
            description="grade this term only (default: every term)",
        ),
    ]
    for term_id, t in f.terms.items():
        unit = t.unit or _canonical(t.code)
        specs.append(
            InputSpec(
                key=t.code, kind="lab", code=t.code, unit=unit, description=f"{t.label}: the value"
            )
        )
        if t.direction == "decreased":
            specs.append(
                InputSpec(
                    key=f"{t.code}_lln",
                    kind="lab",
                    code=t.code,
                    unit=unit,
                    description=f"{t.label}: lower limit of normal (local lab)",
                )
            )
        else:
            specs.append(
                InputSpec(
                    key=f"{t.code}_uln",
                    kind="lab",
                    code=t.code,
                    unit=unit,
                    description=f"{t.label}: upper limit of normal (local lab)",
                )
            )
            specs.append(
                InputSpec(
                    key=f"{t.code}_baseline",
                    kind="lab",
                    code=t.code,
                    unit=unit,
                    description=f"{t.label}: baseline value",
                )
            )
        specs.append(
            InputSpec(
                key=f"{term_id}_stated_grade",
                kind="number",
                description=f"{t.label}: grade stated by the clinician (0-5)",
            )
        )
    return tuple(specs)


_CANONICAL = {"bili_total": "umol/L", "ast": "U/L", "alt": "U/L", "creat": "umol/L"}


def _canonical(code: str) -> str:
    return _CANONICAL[code]


def _exact_limit(inputs: Inputs, key: str) -> Measured | None:
    m = inputs.lab(key)
    if m is None:
        return None
    if m.comparator is not None:
        raise CriterionInputError(key, "a reference limit or baseline must be a plain number")
    if m.value <= 0:
        raise CriterionInputError(key, "a reference limit or baseline must be above zero")
    return m


def _grades_in(iv: Interval, bands: Iterable[Band]) -> set[int]:
    bands = tuple(bands)
    out = {b.grade for b in classify(iv, bands) if b.grade is not None}
    lowest = min((b for b in bands if b.lower is not None), key=lambda b: b.lower[0])  # type: ignore[index]
    assert lowest.lower is not None
    below = Interval(None, False, lowest.lower[0], not lowest.lower[1])
    if iv.meets(below):
        out.add(0)
    return out


def _decreased(t: Term, m: Measured, lln_m: Measured | None) -> tuple[set[int], str | None]:
    unit = t.unit or m.unit
    iv = m.in_unit(unit).interval()
    lln = None if lln_m is None else lln_m.in_unit(unit).value
    grades = {b.grade for b in classify(iv, t.bands) if b.grade is not None}
    floor = Fraction(str(t.grade1_floor))
    above = Interval(floor, True, None, False)
    note = None
    if iv.meets(above):
        part = iv.intersect(above)
        if lln is None:
            grades |= {0, 1}
            note = "give the local LLN to tell grade 0 from grade 1"
        else:
            if part.meets(Interval(None, False, lln, False)):
                grades.add(1)
            if part.meets(Interval(lln, True, None, False)):
                grades.add(0)
    if t.max_lab_grade is not None and max(grades) >= t.max_lab_grade:
        note = t.max_lab_grade_note
    return grades, note


def _increased(
    t: Term, m: Measured, uln: Measured | None, baseline: Measured | None
) -> tuple[set[int], str | None]:
    all_grades = set(range(MAX_GRADE + 1))
    if uln is None:
        base = None
        if t.baseline_rule == "worse_of" and baseline is not None:
            base = _grades_in(m.over(baseline), t.baseline_bands)
            return set(range(min(base), MAX_GRADE + 1)), "give the local ULN"
        return all_grades, "give the local ULN"
    by_uln = _grades_in(m.over(uln), t.uln_bands)
    if t.baseline_rule == "worse_of":
        if baseline is None:
            possible = {max(g, b) for g in by_uln for b in range(0, _top(t.baseline_bands) + 1)}
            return possible, "give the baseline: the baseline criteria can raise the grade"
        by_base = _grades_in(m.over(baseline), t.baseline_bands)
        return {
            max(g, b) for g in by_uln for b in by_base
        }, "worse of ULN- and baseline-based grade"
    if baseline is None:
        if by_uln == {0}:
            return {0}, None
        return set(range(0, max(by_uln) + 1)), (
            "give the baseline: an abnormal baseline (>ULN) grades against the baseline"
        )
    base_ratio = baseline.over(uln).lo
    assert base_ratio is not None
    if base_ratio > 1:
        return _grades_in(
            m.over(baseline), t.baseline_bands
        ), "baseline abnormal: graded against baseline"
    return by_uln, "baseline normal: graded against ULN"


def _top(bands: Iterable[Band]) -> int:
    return max(b.grade or 0 for b in bands)


def _band_text(t: Term) -> str:
    if t.direction == "decreased":
        parts = [f"G1 <LLN–{t.grade1_floor:g}"]
        parts += [
            f"G{b.grade} {b.text_range(t.unit or '')}"
            for b in sorted(t.bands, key=lambda b: b.grade or 0)
        ]
        return "; ".join(parts)
    uln = "; ".join(f"G{b.grade} {b.text_range('×ULN')}" for b in t.uln_bands)
    base = "; ".join(f"G{b.grade} {b.text_range('×baseline')}" for b in t.baseline_bands)
    rule = "if baseline abnormal" if t.baseline_rule == "if_abnormal" else "worse of the two"
    return f"{uln} | {rule}: {base}"


def grade_term(term_id: str, inputs: Inputs) -> Component:
    """Grade one CTCAE term from the inputs (a stated grade counts as the grade)."""
    f = knowledge()
    t = f.terms[term_id]
    stated = inputs.datum(f"{term_id}_stated_grade")
    m = inputs.lab(t.code)
    base = {
        "name": term_id,
        "label": t.label,
        "threshold": _band_text(t),
        "source": t.source.label(),
    }
    computed: set[int] | None = None
    note: str | None = None
    if m is not None:
        if t.direction == "decreased":
            computed, note = _decreased(t, m, _exact_limit(inputs, f"{t.code}_lln"))
        else:
            computed, note = _increased(
                t,
                m,
                _exact_limit(inputs, f"{t.code}_uln"),
                _exact_limit(inputs, f"{t.code}_baseline"),
            )
    if stated is not None:
        g = int(stated.value)
        if not 0 <= g <= MAX_GRADE + 1 or g != stated.value:
            raise CriterionInputError(
                f"{term_id}_stated_grade", f"{stated.value!r} is not a grade 0-5"
            )
        extra = ""
        if computed is not None and computed != {g}:
            extra = f"; laboratory value {m.text() if m else ''} gives grade " + "/".join(
                str(x) for x in sorted(computed)
            )
        return Component(
            **base,
            status=Status.met if g >= 1 else Status.not_met,
            value=f"grade {g} (stated by clinician)",
            grade=g,
            time=stated.time,
            basis="stated by clinician",
            note=("clinician-stated grade counts as the grade" + extra),
        )
    if m is None:
        return Component(
            **base, status=Status.unknown, range=(0, MAX_GRADE), note=f"no {t.code} value"
        )
    lo, hi = min(computed or {0}), max(computed or {0})
    keys = [t.code, f"{t.code}_lln", f"{t.code}_uln", f"{t.code}_baseline"]
    return Component(
        **base,
        status=Status.met if lo >= 1 else Status.not_met if hi == 0 else Status.unknown,
        value=lab_value(m),
        unit=m.unit,
        time=inputs.time_of(t.code),
        grade=lo if lo == hi else None,
        range=None if lo == hi else (lo, hi),
        basis=inputs.basis_of(*[k for k in keys if inputs.datum(k) is not None]),
        note=note,
    )


def from_components(comps: Iterable[Component], *, alerts: Iterable[str] = ()) -> Evaluation:
    """The overall evaluation (worst grade) from graded term components."""
    f = knowledge()
    comps = tuple(comps)
    lows = [int_bounds(c, "grade")[0] for c in comps]
    highs = [int_bounds(c, "grade")[1] for c in comps]
    lo, hi = max(lows, default=0), max(highs, default=0)
    value = lo if lo == hi else None
    if lo >= 1:
        conclusion = Conclusion.established
    elif hi == 0:
        conclusion = Conclusion.excluded
    else:
        conclusion = Conclusion.undecidable
    out_alerts = list(alerts)
    if lo != hi:
        open_terms = [c.name for c in comps if c.grade is None]
        out_alerts.append(
            f"worst grade between {lo} and {hi}: not graded: " + ", ".join(open_terms)
        )
    return Evaluation(
        id="ctcae",
        name=f.name,
        total=None,
        value=value,
        value_range=None if lo == hi else (lo, hi),
        unit="CTCAE grade",
        components=comps,
        conclusion=conclusion,
        alerts=tuple(out_alerts),
        sources=sources_of(f),
    )


def evaluate(inputs: Inputs) -> Evaluation:
    f = knowledge()
    chosen = inputs.choice("term")
    terms = [chosen] if chosen else list(f.terms)
    return from_components(grade_term(t, inputs) for t in terms)


def canonical_term(name: str) -> str | None:
    """The CTCAE term id for a written term or alias (``Neutrophil count decreased`` -> id)."""
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    return knowledge().aliases.get(key)


def gather(tl: Timeline, at: datetime, ctx: Any) -> Inputs:
    f = knowledge()
    fr = f.freshness
    context = ctx if isinstance(ctx, Context) else Context()
    data: dict[str, Datum] = {}
    for term_id, t in f.terms.items():
        lab = lab_datum(tl, t.code, t.code, at, fr.labs_days)
        stated = _stated(tl, term_id, at, fr.stated_days)
        if stated is not None and (lab is None or (stated.instant or at) >= (lab.instant or at)):
            data[f"{term_id}_stated_grade"] = stated
        elif lab is not None:
            data[t.code] = lab
        lln, uln = context.limits.get(t.code, (None, None))
        for suffix, limit in (("lln", lln), ("uln", uln)):
            if limit is not None:
                data[f"{t.code}_{suffix}"] = Datum(
                    f"{t.code}_{suffix}",
                    Measured(t.code, Fraction(str(limit)), t.unit or _canonical(t.code)),
                    basis="local reference limit",
                )
        if t.direction == "increased":
            b = _baseline(tl, t.code, context, fr)
            if b is not None:
                data[f"{t.code}_baseline"] = b
    return Inputs(data)


def _baseline(tl: Timeline, code: str, ctx: Context, fr: Freshness) -> Datum | None:
    when = ctx.baseline_at
    if when is None:
        for ev in fr.baseline_anchors:
            when = tl.anchor(ev)
            if when is not None:
                break
    if when is None:
        return None
    d = lab_datum(tl, f"{code}_baseline", code, when, fr.baseline_max_age_days)
    return (
        None
        if d is None
        else Datum(d.key, d.value, d.time, d.instant, basis="baseline observation")
    )


def _stated(tl: Timeline, term_id: str, at: datetime, max_age: float | None) -> Datum | None:
    horizon = days(max_age)
    best = None
    for t, a in tl.assessments_of("ctcae_grade"):
        if t > at or (horizon is not None and at - t > horizon):
            continue
        if a.code is None or canonical_term(a.code) != term_id:
            continue
        g = a.as_float()
        if g is None:
            continue
        best = Datum(
            f"{term_id}_stated_grade", g, time=str(a.time), instant=t, basis="stated by clinician"
        )
    return best


def severity(e: Evaluation) -> tuple[float, ...]:
    lo, hi = e.value_range if e.value_range else (e.value or 0, e.value or 0)
    return (float(lo), float(hi))


def worst_component(comps: Iterable[Component]) -> Component:
    """The worse of several gradings of one term (highest lower bound, then highest upper)."""
    return max(comps, key=lambda c: int_bounds(c, "grade"))


CRITERION = Criterion(
    id="ctcae",
    name="CTCAE v5.0 laboratory terms",
    description="Grades of neutrophil, platelet, white-cell and lymphocyte count decreased, "
    "anemia, and blood bilirubin, AST, ALT and creatinine increased (baseline-dependent "
    "definitions); the worst grade over the terms graded.",
    inputs=lambda: _inputs(),
    evaluate=evaluate,
    knowledge=knowledge,
    gather=gather,
    severity=severity,
    per_component_worst=True,
    codes=("anc", "plt", "wbc", "lymph", "hb", "bili_total", "ast", "alt", "creat"),
    kinds=("ctcae_grade",),
)
