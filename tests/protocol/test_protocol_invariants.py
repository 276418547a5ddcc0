"""Safety invariants over every shipped regimen (hypothesis, 1,000 examples per property).

Per decision: never above the regimen's maximum; no dose when a hold/discontinuation threshold is
crossed (checked by an independent reading of the rule's lab thresholds); no dose with a missing,
stale, unconvertible or incomplete required lab; a reduction never increases the dose; identical
inputs give identical outputs; every decision has a rationale entry with a source. Across paths:
the vectorised evaluation of a batch equals the per-decision results, row by row.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ruxtrack.protocol import (
    INTERVAL_LABS,
    DecisionInputs,
    DoseState,
    DrugFact,
    LabReading,
    Regimen,
    decide_inputs,
    decide_many,
    grade_interval,
    list_regimens,
    load_regimen,
)

REGIMENS = [load_regimen(r) for r in list_regimens()]
UNITS = {"plt": "10*9/L", "anc": "10*9/L", "bili_xuln": "x ULN", "crcl": "mL/min"}
RANGES = {"plt": (0.0, 400.0), "anc": (0.0, 10.0), "bili_xuln": (0.0, 15.0), "crcl": (0.0, 150.0)}
# values on and next to every threshold the files use, so both sides are hit often
EDGES = {
    "plt": [15, 20, 50, 100],
    "anc": [0.5, 0.75, 1.0],
    "bili_xuln": [1.5, 3, 5, 10],
    "crcl": [15, 30, 60],
}
SETTINGS = settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def lab_value(code: str) -> st.SearchStrategy[float]:
    lo, hi = RANGES[code]
    edges = [e + d for e in EDGES[code] for d in (-0.01, 0.0, 0.01)]
    return st.one_of(st.sampled_from(edges), st.floats(lo, hi, allow_nan=False))


TERMS = {"plt": "platelet_count_decreased", "anc": "neutrophil_count_decreased"}


def stated(code: str, grade: int) -> LabReading:
    """A lab known as a clinician-stated CTCAE grade: the grade's interval, no number."""
    iv = grade_interval(TERMS[code], grade)
    assert iv is not None
    return LabReading(code, "ok", None, UNITS[code], None, 0, f"grade {grade}", interval=iv)


def lab(code: str) -> st.SearchStrategy[LabReading]:
    ok = lab_value(code).map(lambda v: LabReading(code, "ok", v, UNITS[code], None, 0, None))
    bad = st.sampled_from(["missing", "stale", "unconvertible", "incomplete"]).map(
        lambda s: LabReading(code, s, None, "", None, None, None, f"{code} {s}")
    )
    if code in INTERVAL_LABS:
        graded = st.integers(0, 4).map(lambda g: stated(code, g))
        return st.one_of(ok, ok, ok, bad, graded)
    return st.one_of(ok, ok, ok, bad)


def _points(r: LabReading) -> list[float]:
    """Values a reading allows: the number, or an interval's extreme and middle values."""
    if r.interval is None:
        return [] if r.value is None else [r.value]
    lo, hi = r.bounds()
    lo, hi = max(lo, -1e6), min(hi, 1e6)
    return [lo, hi, (lo + hi) / 2]


tri = st.sampled_from([True, False, None])


@st.composite
def inputs(draw: Any, regimen: Regimen) -> DecisionInputs:
    levels = [lv.daily_mg for lv in regimen.dose_levels] or [20.0, 10.0, 5.0]
    state = draw(st.sampled_from(["naive", "on", "interrupted", "unknown"]))
    cur = (
        None
        if state in ("naive", "unknown")
        else draw(st.one_of(st.sampled_from(levels), st.sampled_from([2.5, 15.0, 40.0]), st.none()))
    )
    level = levels.index(cur) if cur in levels and regimen.dose_levels else None
    prev = draw(st.one_of(st.none(), st.integers(0, max(len(regimen.dose_levels) - 1, 0))))
    at_change = {c: draw(st.one_of(st.none(), lab_value(c))) for c in UNITS}
    bounds_at_change = {}
    for c in INTERVAL_LABS:
        if at_change[c] is None and draw(st.booleans()):
            bounds_at_change[c] = stated(c, draw(st.integers(0, 4))).bounds()
    drugs = []
    for name, cls in (("posaconazole", ("strong_cyp3a4",)), ("fluconazole", ("fluconazole",))):
        if draw(st.booleans()):
            drugs.append(
                DrugFact(
                    name, cls, draw(st.one_of(st.none(), st.sampled_from([100.0, 200.0, 400.0])))
                )
            )
    return DecisionInputs(
        regimen_id=regimen.id,
        on_date=None,
        course_day=draw(st.one_of(st.none(), st.integers(-3, 400))),
        days_on_drug=draw(st.one_of(st.none(), st.integers(1, 400))),
        labs={c: draw(lab(c)) for c in UNITS},
        facts={
            f: draw(tri)
            for f in (
                "liver_gvhd",
                "dialysis",
                "invasive_ventilation",
                "covid_pcr_confirmed",
                "who_viral_pneumonia",
                "other_interventional_trial",
            )
        },
        state=DoseState(
            state,
            cur,
            level if state in ("on", "interrupted") else None,
            prev if state == "on" else None,
            draw(st.one_of(st.none(), st.integers(0, 120))),
            None,
            draw(tri) if state == "on" else False,
            None,
            at_change,
            tuple(drugs),
            bounds_at_change,
        ),
        age_years=draw(st.one_of(st.none(), st.floats(0, 95))),
        bsa_m2=draw(st.one_of(st.none(), st.floats(0.2, 2.5))),
        baseline={
            "plt": draw(st.one_of(st.none(), st.floats(1, 400))),
            "anc": draw(st.one_of(st.none(), st.floats(0.1, 10))),
        },
        drugs=tuple(drugs),
    )


any_input = st.sampled_from(REGIMENS).flatmap(lambda r: st.tuples(st.just(r), inputs(r)))


def _in(v: float, rng: Any) -> bool:
    return (
        (rng.lt is None or v < rng.lt)
        and (rng.le is None or v <= rng.le)
        and (rng.gt is None or v > rng.gt)
        and (rng.ge is None or v >= rng.ge)
    )


def stop_threshold_crossed(reg: Regimen, x: DecisionInputs) -> bool:
    """Independent reading: a hold/discontinue/avoid rule whose lab and fact clauses all hold."""
    for rule in reg.rules:
        if rule.effect not in ("hold", "discontinue", "avoid"):
            continue
        ok = True
        for name, rng in rule.when.numeric_clauses():
            r = x.labs.get(name)
            pts = [] if r is None or r.status != "ok" else _points(r)
            if not pts or not all(_in(v, rng) for v in pts):
                ok = False
        for fact, expected in rule.when.fact_clauses():
            if x.facts.get(fact) is not expected:
                ok = False
        if ok:
            return True
    return False


@SETTINGS
@given(any_input)
def test_safety_invariants_hold_for_every_regimen(case: tuple[Regimen, DecisionInputs]) -> None:
    reg, x = case
    d = decide_inputs(reg, x)
    # never above the regimen's maximum
    assert d.daily_total_mg <= reg.max_daily_mg
    assert math.isclose(sum(a.dose_mg for a in d.administrations), d.daily_total_mg)
    # no dose when a hold / discontinuation threshold is crossed
    if stop_threshold_crossed(reg, x):
        assert d.daily_total_mg == 0, d.action
    # no dose with a missing, stale or unusable required lab
    if any(x.labs[q.column].status != "ok" for q in reg.required_labs):
        assert d.daily_total_mg == 0
    # a reduction never increases the dose
    if d.action == "reduce":
        if x.state.current_daily_mg is not None:
            assert d.daily_total_mg <= x.state.current_daily_mg
        if d.scheduled_daily_mg is not None:
            assert d.daily_total_mg <= d.scheduled_daily_mg
    # doses only come with a dosing action
    if d.action not in ("start", "continue", "reduce", "resume"):
        assert d.daily_total_mg == 0 and d.administrations == ()
    # identical inputs, identical outputs
    assert decide_inputs(reg, x) == d
    # every decision explains itself with a source
    assert d.rationale and all(r.source for r in d.rationale)


@SETTINGS
@given(
    st.sampled_from(REGIMENS).flatmap(
        lambda r: st.tuples(st.just(r), st.lists(inputs(r), min_size=1, max_size=12))
    )
)
def test_vectorised_and_per_decision_paths_agree(
    case: tuple[Regimen, list[DecisionInputs]],
) -> None:
    reg, rows = case
    batch = decide_many(reg, rows)
    for i, x in enumerate(rows):
        one = decide_inputs(reg, x)
        assert batch.action_names()[i] == one.action
        assert batch.daily_total_mg[i] == one.daily_total_mg
        fired = {reg.rules[j].id for j in range(len(reg.rules)) if batch.met[i, j]}
        assert fired == {r.rule for r in one.rationale if r.rule in {q.id for q in reg.rules}}
