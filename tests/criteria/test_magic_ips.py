"""MAGIC acute GVHD (Harris 2016 via PDQ NBK577669 Table 4) and IPS (ATS 2011 via PMC8428368 T1)."""

from __future__ import annotations

import pytest

from ruxtrack.criteria import Conclusion, Status, evaluate

# Skin: no active rash 0; <25% BSA 1; 25-50% 2; >50% 3; >50% with bullae/desquamation 4.
SKIN = [
    (0, None, 0),
    (24.9, None, 1),
    (25, None, 2),
    (50, None, 2),
    (50.1, False, 3),
    (50.1, True, 4),
]


@pytest.mark.parametrize(("pct", "bullae", "stage"), SKIN)
def test_skin_stage_edges(pct: float, bullae: bool | None, stage: int) -> None:
    inputs: dict[str, object] = {"skin_rash_bsa_pct": pct}
    if bullae is not None:
        inputs["skin_bullae"] = bullae
    assert evaluate("magic_agvhd", inputs).component("skin").stage == stage


def test_skin_above_50_percent_with_bullae_unknown_is_stage_3_or_4() -> None:
    c = evaluate("magic_agvhd", {"skin_rash_bsa_pct": 60}).component("skin")
    assert (c.stage, c.range) == (None, (3, 4))


# Liver, bilirubin mg/dL: <2 -> 0; 2-3 -> 1; 3.1-6 -> 2; 6.1-15 -> 3; >15 -> 4. The printed gaps
# (3.0-3.1, 6.0-6.1) are read as half-open intervals (3,6], (6,15] (amb-magic-bili-3.05).
LIVER = [
    ("1.99 mg/dL", 0),
    ("2 mg/dL", 1),
    ("3 mg/dL", 1),
    ("3.05 mg/dL", 2),
    ("6 mg/dL", 2),
    ("6.05 mg/dL", 3),
    ("15 mg/dL", 3),
    ("15.1 mg/dL", 4),
    # umol/L converts with the catalogue's molar mass (584.66 g/mol: 17.104 umol/L per
    # mg/dL), not the rounded 17.1 of restatements: 34.2 umol/L is 1.9995 mg/dL
    ("34.2 umol/L", 0),
    ("34.21 umol/L", 1),
]


@pytest.mark.parametrize(("bili", "stage"), LIVER)
def test_liver_stage_edges(bili: str, stage: int) -> None:
    assert evaluate("magic_agvhd", {"bili_total": bili}).component("liver").stage == stage


# Lower GI adult: <500 mL or <3 episodes 0; 500-999 or 3-4 1; 1000-1500 or 5-7 2; >1500 or >7 3.
# Child: <10 mL/kg or <4 episodes 0; 10-19.9 or 4-6 1; 20-30 or 7-10 2; >30 or >10 3.
LOWER = [
    ("adult", "499 mL/d", 2, 0),
    ("adult", "500 mL/d", 2, 1),
    ("adult", "999 mL/d", 0, 1),
    ("adult", "1000 mL/d", 0, 2),
    ("adult", "1500 mL/d", 0, 2),
    ("adult", "1501 mL/d", 0, 3),
    ("adult", "100 mL/d", 3, 1),
    ("adult", "100 mL/d", 4, 1),
    ("adult", "100 mL/d", 5, 2),
    ("adult", "100 mL/d", 7, 2),
    ("adult", "100 mL/d", 8, 3),
    ("pediatric", "9.9 mL/kg/d", 3, 0),
    ("pediatric", "10 mL/kg/d", 0, 1),
    ("pediatric", "19.9 mL/kg/d", 0, 1),
    ("pediatric", "20 mL/kg/d", 0, 2),
    ("pediatric", "30 mL/kg/d", 0, 2),
    ("pediatric", "30.1 mL/kg/d", 0, 3),
    ("pediatric", "1 mL/kg/d", 4, 1),
    ("pediatric", "1 mL/kg/d", 6, 1),
    ("pediatric", "1 mL/kg/d", 7, 2),
    ("pediatric", "1 mL/kg/d", 10, 2),
    ("pediatric", "1 mL/kg/d", 11, 3),
]


@pytest.mark.parametrize(("population", "volume", "episodes", "stage"), LOWER)
def test_lower_gi_stage_edges(population: str, volume: str, episodes: int, stage: int) -> None:
    e = evaluate(
        "magic_agvhd",
        {
            "population": population,
            "stool_volume": volume,
            "stool_episodes": episodes,
            "severe_pain_or_bleeding": False,
        },
    )
    assert e.component("lower_gi").stage == stage


def test_paediatric_volume_from_ml_per_day_and_weight() -> None:
    e = evaluate(
        "magic_agvhd",
        {
            "weight": "30 kg",
            "stool_volume": "600 mL/d",
            "stool_episodes": 0,
            "severe_pain_or_bleeding": False,
        },
    )
    assert e.component("lower_gi").stage == 2  # 20 mL/kg/d; PDQ: adult volumes only >50 kg


def test_severe_pain_or_bleeding_is_stage_4_whatever_the_volume() -> None:
    e = evaluate("magic_agvhd", {"severe_pain_or_bleeding": True, "stool_volume": "100 mL/d"})
    assert e.component("lower_gi").stage == 4


# Overall grade (Harris 2016 Table 1 as commonly reproduced, unverified).
GRADES = [
    ({"skin": 0, "liver": 0, "upper_gi": 0, "lower_gi": 0}, "0"),
    ({"skin": 2, "liver": 0, "upper_gi": 0, "lower_gi": 0}, "I"),
    ({"skin": 3, "liver": 0, "upper_gi": 0, "lower_gi": 0}, "II"),
    ({"skin": 0, "liver": 1, "upper_gi": 0, "lower_gi": 0}, "II"),
    ({"skin": 1, "liver": 0, "upper_gi": 1, "lower_gi": 0}, "II"),
    ({"skin": 0, "liver": 0, "upper_gi": 0, "lower_gi": 1}, "II"),
    ({"skin": 3, "liver": 2, "upper_gi": 1, "lower_gi": 0}, "III"),
    ({"skin": 0, "liver": 0, "upper_gi": 0, "lower_gi": 3}, "III"),
    ({"skin": 4, "liver": 0, "upper_gi": 0, "lower_gi": 0}, "IV"),
    ({"skin": 0, "liver": 4, "upper_gi": 0, "lower_gi": 0}, "IV"),
    ({"skin": 0, "liver": 0, "upper_gi": 1, "lower_gi": 4}, "IV"),
]


@pytest.mark.parametrize(("stages", "grade"), GRADES)
def test_overall_grade_from_stated_stages(stages: dict[str, int], grade: str) -> None:
    e = evaluate("magic_agvhd", {f"{k}_stage": v for k, v in stages.items()})
    assert e.value == grade
    assert e.conclusion is (Conclusion.excluded if grade == "0" else Conclusion.established)


def test_unknown_organs_give_a_grade_range() -> None:
    e = evaluate("magic_agvhd", {"skin_rash_bsa_pct": 30})
    assert e.value is None and e.value_range == ("I", "IV")
    assert e.conclusion is Conclusion.established  # at least grade I whatever the rest


# IPS: all 7 met -> established; any not met -> excluded; else undecidable. The infection work-up
# meets criterion II only when BAL is negative; without BAL it stays unknown (criteria.md §5).
ALL_MET = {
    "multilobar_infiltrates": True,
    "pneumonia_signs": True,
    "abnormal_pulmonary_physiology": True,
    "infection_excluded": True,
    "cardiac_dysfunction": False,
    "acute_renal_failure": False,
    "fluid_overload": False,
}


def test_ips_all_met_is_established() -> None:
    e = evaluate("ips", ALL_MET)
    assert e.conclusion is Conclusion.established and e.total == 7


@pytest.mark.parametrize("key", sorted(ALL_MET))
def test_ips_any_failed_component_excludes(key: str) -> None:
    e = evaluate("ips", {**ALL_MET, key: not ALL_MET[key]})
    assert e.conclusion is Conclusion.excluded


@pytest.mark.parametrize(
    ("workup", "status"),
    [
        ("bal_negative", Status.met),
        ("non_bal_negative", Status.unknown),
        ("not_done", Status.unknown),
        ("infection_found", Status.not_met),
    ],
)
def test_ips_infection_workup(workup: str, status: Status) -> None:
    inputs = {k: v for k, v in ALL_MET.items() if k != "infection_excluded"}
    e = evaluate("ips", {**inputs, "infection_workup": workup})
    assert e.component("infection_excluded").status is status


def test_ips_seed_000_without_bal_is_undecidable() -> None:
    # Tomomasa 2021: sputum multiplex PCR negative; BAL could not be done.
    inputs = {k: v for k, v in ALL_MET.items() if k != "infection_excluded"}
    e = evaluate("ips", {**inputs, "infection_workup": "non_bal_negative"})
    assert e.conclusion is Conclusion.undecidable
