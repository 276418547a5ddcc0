"""A clinician-stated CTCAE grade as an interval input: three-valued rules on intervals.

An interval decides a rule only when the whole interval lies on one side of its threshold; a
point value is a zero-width interval; the CTCAE bands come from the criteria package's file and
agree with ``ruxtrack.criteria.evaluate`` on both sides of every bound.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ruxtrack.criteria import evaluate
from ruxtrack.protocol import (
    DecisionInputs,
    DoseState,
    GradeInterval,
    LabReading,
    Regimen,
    decide_inputs,
    decide_many,
    grade_interval,
    list_regimens,
    load_regimen,
)

REGIMENS = [load_regimen(r) for r in list_regimens()]
UNITS = {"plt": "10*9/L", "anc": "10*9/L"}
SETTINGS = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
THRESHOLDS = {"plt": [15, 20, 25, 50, 75, 100], "anc": [0.5, 0.75, 1.0, 1.5]}


def _inputs(reg: Regimen, plt: LabReading, anc: LabReading) -> DecisionInputs:
    """A patient on the regimen's top dose (or schedule day 3) with normal other inputs."""
    ok = {
        "bili_xuln": LabReading("bili_xuln", "ok", 1.0, "x ULN", None, 0),
        "crcl": LabReading("crcl", "ok", 90.0, "mL/min", None, 0),
    }
    top = reg.dose_levels[0].daily_mg if reg.dose_levels else 20.0
    return DecisionInputs(
        regimen_id=reg.id,
        on_date=None,
        course_day=3,
        days_on_drug=30,
        labs={"plt": plt, "anc": anc, **ok},
        facts={
            "liver_gvhd": False,
            "dialysis": False,
            "invasive_ventilation": False,
            "covid_pcr_confirmed": True,
            "who_viral_pneumonia": True,
            "other_interventional_trial": False,
        },
        state=DoseState("on", top, 0 if reg.dose_levels else None, None, 10, None, False),
        age_years=40.0,
        bsa_m2=1.8,
    )


def _point(code: str, v: float) -> LabReading:
    return LabReading(code, "ok", v, UNITS[code], None, 0)


def _interval(code: str, lo: float, lo_inc: bool, hi: float, hi_inc: bool) -> LabReading:
    iv = GradeInterval("test", "test", 3, lo, lo_inc, hi, hi_inc, UNITS[code], "test")
    return LabReading(code, "ok", None, UNITS[code], None, 0, interval=iv)


@st.composite
def interval_case(draw: Any) -> tuple[Regimen, str, LabReading]:
    reg = draw(st.sampled_from(REGIMENS))
    code = draw(st.sampled_from(["plt", "anc"]))
    edges = THRESHOLDS[code]
    value = st.one_of(st.sampled_from(edges), st.floats(0, 2 * max(edges), allow_nan=False))
    a, b = sorted((draw(value), draw(value)))
    lo_inc, hi_inc = draw(st.booleans()), draw(st.booleans())
    if a == b:
        lo_inc = hi_inc = True
    if draw(st.booleans()) and draw(st.booleans()):
        a, lo_inc = -math.inf, False
    return reg, code, _interval(code, a, lo_inc, b, hi_inc)


def _rule_state(reg: Regimen, x: DecisionInputs) -> list[tuple[bool, bool]]:
    res = decide_many(reg, [x])
    return [(bool(res.met[0, j]), bool(res.unknown[0, j])) for j in range(len(reg.rules))]


@SETTINGS
@given(interval_case())
def test_an_interval_never_decides_a_rule_its_endpoints_disagree_on(
    case: tuple[Regimen, str, LabReading],
) -> None:
    reg, code, r = case
    other = "anc" if code == "plt" else "plt"
    normal = _point(other, 150.0 if other == "plt" else 3.0)
    lo, hi = r.bounds()
    labs = {code: r, other: normal}
    on_interval = _rule_state(reg, _inputs(reg, labs["plt"], labs["anc"]))
    ends = []
    for v in (lo, hi):
        if math.isinf(v):
            continue
        p = {code: _point(code, v), other: normal}
        ends.append(_rule_state(reg, _inputs(reg, p["plt"], p["anc"])))
    for j, rule in enumerate(reg.rules):
        if rule.effect == "return_to_previous" or not any(
            n == code for n, _ in rule.when.numeric_clauses()
        ):
            continue
        met, unknown = on_interval[j]
        end_met = {e[j][0] for e in ends}
        if len(end_met) > 1:  # the endpoints disagree: the interval must not decide
            assert unknown and not met, rule.id
        if met:  # decided "applies": every endpoint applies too
            assert end_met <= {True}, rule.id
        elif not unknown:  # decided "does not apply": no endpoint applies
            assert end_met <= {False}, rule.id


@SETTINGS
@given(
    st.sampled_from(REGIMENS),
    st.sampled_from(["plt", "anc"]),
    st.one_of(st.sampled_from([15.0, 20.0, 50.0, 100.0, 0.5, 0.75, 1.0]), st.floats(0, 300)),
)
def test_a_point_value_equals_a_zero_width_interval(reg: Regimen, code: str, v: float) -> None:
    other = "anc" if code == "plt" else "plt"
    normal = _point(other, 150.0 if other == "plt" else 3.0)
    as_point = {code: _point(code, v), other: normal}
    as_interval = {code: _interval(code, v, True, v, True), other: normal}
    a = decide_inputs(reg, _inputs(reg, as_point["plt"], as_point["anc"]))
    b = decide_inputs(reg, _inputs(reg, as_interval["plt"], as_interval["anc"]))
    assert (a.action, a.daily_total_mg) == (b.action, b.daily_total_mg)
    assert [r.rule for r in a.rationale if r.rule in {q.id for q in reg.rules}] == [
        r.rule for r in b.rationale if r.rule in {q.id for q in reg.rules}
    ]
    assert _rule_state(reg, _inputs(reg, as_point["plt"], as_point["anc"])) == _rule_state(
        reg, _inputs(reg, as_interval["plt"], as_interval["anc"])
    )


@pytest.mark.parametrize(
    ("term", "code", "grade", "expected"),
    [
        ("platelet_count_decreased", "plt", 2, (50.0, True, 75.0, False)),
        ("platelet_count_decreased", "plt", 3, (25.0, True, 50.0, False)),
        ("platelet_count_decreased", "plt", 4, (-math.inf, False, 25.0, False)),
        ("neutrophil_count_decreased", "anc", 2, (1.0, True, 1.5, False)),
        ("neutrophil_count_decreased", "anc", 3, (0.5, True, 1.0, False)),
        ("neutrophil_count_decreased", "anc", 4, (-math.inf, False, 0.5, False)),
    ],
)
def test_grade_bands_agree_with_the_criteria_package(
    term: str, code: str, grade: int, expected: tuple[float, bool, float, bool]
) -> None:
    """CTCAE v5.0: 'Platelet count decreased ... G3 <50.0-25.0'; 'Neutrophil count decreased ...
    G3 <1.0-0.5 x10e9/L' -- and ruxtrack.criteria grades both sides of each bound the same way."""
    iv = grade_interval(term, grade)
    assert iv is not None
    assert (iv.low, iv.low_inclusive, iv.high, iv.high_inclusive) == expected

    def graded(v: float) -> int | None:
        comp = evaluate("ctcae", {"term": term, code: v}).components[0]
        return comp.grade

    eps = 0.001  # the criteria package reads numbers at a clinical precision
    if not math.isinf(iv.low):
        assert graded(iv.low) == grade  # the lower bound is inside (>=)
        assert graded(iv.low - eps) == grade + 1
    assert graded(iv.high - eps) == grade  # just below the upper bound
    assert graded(iv.high) != grade  # the upper bound itself is outside (<)


def test_stated_grades_of_other_terms_are_not_counts() -> None:
    from ruxtrack.protocol._ctcae import term_of

    assert term_of("thrombocytopenia", "plt") == "platelet_count_decreased"
    assert term_of("Neutrophil count decreased", "anc") == "neutrophil_count_decreased"
    assert term_of("anemia", "plt") is None and term_of("platelet_count_decreased", "anc") is None
    assert grade_interval("platelet_count_decreased", 5) is None
