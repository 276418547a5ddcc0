"""Seed 004 (Sarmiento et al., Acta Haematol 2021): the schedule and each modification rule.

Each test quotes the sentence of the paper's Methods ("Intervention", "Patients") it checks.
"""

from __future__ import annotations

import pytest
from protocol_helpers import TimelineBuilder, day

from ruxtrack.protocol import adhoc_inputs, decide, decide_inputs, load_regimen

REG = load_regimen("sarmiento-2021-covid")
OK = {"platelets": 200, "anc": 3.0, "crcl": 90, "invasive_ventilation": False}


def dose(**kw: object):
    return decide_inputs(REG, adhoc_inputs(REG, **{**OK, **kw}))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("course_day", "total", "per_dose", "n_doses"),
    [(2, 20, 10, 2), (7, 20, 10, 2), (8, 10, 5, 2), (13, 10, 5, 2), (14, 5, 5, 1), (15, 5, 5, 1)],
)
def test_schedule_days_match_the_paper(
    course_day: int, total: float, per_dose: float, n_doses: int
) -> None:
    """ "Ruxolitinib was administered as a 15-day regimen, consisting of 10 mg BID for 7 days,
    followed by 5 mg BID for 6 days, and finally, 5 mg each day for 2 days"."""
    d = dose(day=course_day, current_dose=None)
    assert d.action == "continue"
    assert d.daily_total_mg == total
    assert [a.dose_mg for a in d.administrations] == [per_dose] * n_doses


def test_day_16_is_complete() -> None:
    """A 15-day regimen: nothing is given from day 16."""
    d = dose(day=16)
    assert d.action == "complete" and d.daily_total_mg == 0 and d.administrations == ()


@pytest.mark.parametrize(
    ("plt", "expected"), [(99.9, 10.0), (100, 20.0), ("99000/uL", 10.0), (50, 10.0)]
)
def test_platelets_below_100_halve_the_dose(plt: object, expected: float) -> None:
    """ "In the event of thrombocytopenia with <100,000 cells/μL, the dosage was reduced by 50%"."""
    d = dose(day=3, platelets=plt)
    assert d.daily_total_mg == expected
    if expected < 20:
        assert d.action == "reduce"
        assert any(r.rule == "platelets_below_100" for r in d.rationale)


@pytest.mark.parametrize(
    ("plt", "action"), [(49.9, "discontinue"), ("49000/uL", "discontinue"), (50, "reduce")]
)
def test_platelets_below_50_discontinue_and_transfuse(plt: object, action: str) -> None:
    """ "if <50,000 cells/μL, treatment was discontinued and transfusion support was initiated to
    maintain counts greater than the observed value"."""
    d = dose(day=3, platelets=plt)
    assert d.action == action
    if action == "discontinue":
        assert d.daily_total_mg == 0
        assert any("transfusion" in a.text for a in d.actions)


@pytest.mark.parametrize(("anc", "expected"), [(0.99, 10.0), (1.0, 20.0), ("999/uL", 10.0)])
def test_anc_below_1_adjusts_to_50_percent(anc: object, expected: float) -> None:
    """ "If the presence of neutropenia <1,000 cells/μL, the dosage was adjusted to 50%"."""
    assert dose(day=5, anc=anc).daily_total_mg == expected


@pytest.mark.parametrize(("anc", "action"), [(0.49, "discontinue"), (0.5, "reduce")])
def test_anc_below_0_5_discontinues_without_gcsf(anc: float, action: str) -> None:
    """ "if neutropenia presented <500 cells/μL, the drug was discontinued, with no granulocyte
    colony-stimulating factor therapy owing to the theoretical risk of worsening the cytokine
    storm"."""
    d = dose(day=5, anc=anc)
    assert d.action == action
    if action == "discontinue":
        assert any("G-CSF" in a.text for a in d.actions)


def test_platelet_and_neutrophil_halvings_do_not_stack() -> None:
    """The paper is silent; the file chooses one 50% step (most restrictive), and says so."""
    d = dose(day=3, platelets=80, anc=0.8)
    assert d.daily_total_mg == 10.0
    assert any(r.rule == "combine" and r.status.value == "project_judgement" for r in d.rationale)


def test_fifty_percent_of_5mg_once_daily_is_flagged_as_sub_tablet() -> None:
    """Days 14-15 at 50% give 2.5 mg: no tablet gives it, so the pharmacy is alerted."""
    d = dose(day=14, platelets=80)
    assert d.daily_total_mg == 2.5
    assert any("smallest tablet" in a.text for a in d.alerts)


def test_no_hepatic_adjustment() -> None:
    """ "No dose adjustment was performed in patients with liver dysfunction."."""
    d = dose(day=3, bilirubin=10, bilirubin_uln=1.2, liver_gvhd=True)
    assert d.daily_total_mg == 20
    assert any(r.rule == "no_hepatic_adjustment" for r in d.rationale)


@pytest.mark.parametrize(
    ("course_day", "expected"),
    [(5, 10.0), (2, 0.0), (3, 10.0), (8, 0.0), (9, 5.0), (14, 0.0), (15, 2.5)],
)
def test_crcl_below_30_reading_r2_alternate_days(course_day: int, expected: float) -> None:
    """ "In patients with acute renal failure presenting a creatinine clearance <30 mL/min, the
    dose was reduced to 25% per day, every other day." Reading R2: half the day's dose once, on
    odd course days (an average of 25% per day)."""
    d = dose(day=course_day, crcl=29.9)
    assert d.daily_total_mg == expected


def test_crcl_rationale_states_the_chosen_and_the_alternative_reading() -> None:
    """The ambiguous sentence: the rationale names R2 and shows what R1 would give today."""
    d = dose(day=3, crcl=20)
    entry = next(r for r in d.rationale if r.rule == "crcl_below_30")
    assert "R2" in entry.text and "R1" in entry.text
    assert "today's dose would be 5 mg" in entry.text  # R1: 25% of 20 mg
    assert dose(day=3, crcl=30).daily_total_mg == 20  # "<30" is strict


def test_eligible_adult_starts_at_10mg_bid() -> None:
    """ "Inclusion criteria were as follows: (1) aged 18 or older; (2) SARS-CoV-2 active infection
    confirmed by reverse transcription-polymerase chain reaction; and (3) diagnosis of viral
    pneumonia according to the WHO criteria"."""
    d = dose(
        age=18, covid_pcr_confirmed=True, who_viral_pneumonia=True, other_interventional_trial=False
    )
    assert d.action == "start" and d.daily_total_mg == 20


@pytest.mark.parametrize(
    ("change", "criterion"),
    [
        ({"age": 17.9}, "age_18_or_older"),
        ({"covid_pcr_confirmed": False}, "rt_pcr_confirmed"),
        ({"who_viral_pneumonia": False}, "who_viral_pneumonia"),
        ({"invasive_ventilation": True}, "not_mechanically_ventilated"),
        ({"other_interventional_trial": True}, "not_in_other_interventional_trial"),
    ],
)
def test_failing_eligibility_is_not_eligible_naming_the_criterion(
    change: dict[str, object], criterion: str
) -> None:
    """ "we excluded patients on mechanical ventilation or participating in other investigational
    interventions like randomized controlled trials (i.e., convalescent plasma)"."""
    base = {
        "age": 50,
        "covid_pcr_confirmed": True,
        "who_viral_pneumonia": True,
        "other_interventional_trial": False,
    }
    d = dose(**{**base, **change})
    assert d.action == "not_eligible" and d.daily_total_mg == 0
    assert any(r.rule == f"eligibility.{criterion}" and "NOT met" in r.text for r in d.rationale)


def test_unknown_eligibility_gives_no_recommendation_naming_it() -> None:
    """Starting without knowing an inclusion criterion would be a guess."""
    d = dose(age=50, covid_pcr_confirmed=True, other_interventional_trial=False)
    assert d.action == "no_recommendation"
    assert any("viral pneumonia" in a.text and "unknown" in a.text for a in d.alerts)


def test_missing_platelets_give_no_recommendation_naming_them() -> None:
    d = dose(day=3, platelets=None)
    assert d.action == "no_recommendation" and d.daily_total_mg == 0
    assert any("platelets" in a.text and a.severity == "critical" for a in d.alerts)


def test_unconvertible_unit_gives_no_recommendation() -> None:
    d = dose(day=3, platelets="85 mg/dL")
    assert d.action == "no_recommendation"
    assert any("platelets" in a.text for a in d.alerts)


def test_course_from_timeline_discontinued_stays_stopped_without_restart_rule() -> None:
    """After a discontinuation the paper gives no restart rule: a clinician decides."""
    b = TimelineBuilder().event("rux_start", 0).rux(10, "BID", 0, 2)
    b.cbc(2, plt=40, anc=3).cbc(4, plt=120, anc=3)
    tl = b.build()
    assert decide(tl, REG, day(2)).action == "discontinue"
    later = decide(tl, REG, day(4))
    assert later.action == "no_recommendation"
    assert any("no restart rule" in a.text for a in later.alerts)


def test_stale_platelets_from_timeline_block_the_dose() -> None:
    b = TimelineBuilder().event("rux_start", 0).rux(10, "BID", 0, None).cbc(0, plt=200, anc=3)
    tl = b.build()
    assert decide(tl, REG, day(2)).daily_total_mg == 20
    stale = decide(tl, REG, day(3))
    assert stale.action == "no_recommendation"
    assert any("3 days old" in a.text for a in stale.alerts)
