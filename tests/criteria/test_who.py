"""WHO Clinical Progression Scale (WHO 2020 via BMJ Open Table 1) and WHO severity (living
guideline restatements; ../shared/reference/criteria.md §6)."""

from __future__ import annotations

import pytest

from ruxtrack.criteria import Conclusion, evaluate, evaluate_timeline
from ruxtrack.timeline import Timeline

ALIVE = {"dead": False}
MV = {**ALIVE, "support": "imv", "dialysis": False}

# Levels 0-10 with every ratio edge: 7 needs PaO2/FiO2 >=150 (SpO2/FiO2 >=200); 8 <150 or
# vasopressors; 9 <150 and vasopressors, dialysis or ECMO.
CPS = [
    ({"dead": True}, 10),
    ({**ALIVE, "hospitalised": False, "viral_rna_detected": False}, 0),
    ({**ALIVE, "hospitalised": False, "viral_rna_detected": True, "symptomatic": False}, 1),
    (
        {
            **ALIVE,
            "hospitalised": False,
            "viral_rna_detected": True,
            "symptomatic": True,
            "assistance_needed": False,
        },
        2,
    ),
    (
        {
            **ALIVE,
            "hospitalised": False,
            "viral_rna_detected": True,
            "symptomatic": True,
            "assistance_needed": True,
        },
        3,
    ),
    ({**ALIVE, "hospitalised": True, "support": "room_air"}, 4),
    ({"support": "nasal_cannula"}, 5),
    ({"support": "face_mask"}, 5),
    ({"support": "hfnc"}, 6),
    ({"support": "niv"}, 6),
    ({**MV, "pao2_fio2": 150, "vasopressors": False}, 7),
    ({**MV, "pao2_fio2": 149.9, "vasopressors": False}, 8),
    ({**MV, "spo2_fio2": 200, "vasopressors": False}, 7),
    ({**MV, "spo2_fio2": 199, "vasopressors": False}, 8),
    ({**MV, "pao2_fio2": 200, "vasopressors": True}, 8),
    ({**MV, "pao2_fio2": 100, "vasopressors": True}, 9),
    ({**MV, "pao2_fio2": 100, "vasopressors": False, "dialysis": True}, 9),
    ({**ALIVE, "support": "ecmo", "pao2_fio2": 100, "vasopressors": False}, 9),
    # PaO2 75 mmHg on FiO2 50 % -> 150: FiO2 entered in % is divided by 100
    ({**MV, "pao2": "75 mm[Hg]", "fio2": "50 %", "vasopressors": False}, 7),
    ({**MV, "pao2": "74.9 mm[Hg]", "fio2": "50 %", "vasopressors": False}, 8),
]


@pytest.mark.parametrize(("inputs", "level"), CPS)
def test_cps_levels_and_edges(inputs: dict[str, object], level: int) -> None:
    e = evaluate("who_cps", inputs)
    assert (e.value, e.conclusion) == (level, Conclusion.established)


def test_cps_unknowns_give_the_range_they_allow() -> None:
    e = evaluate("who_cps", {"support": "imv", "dead": False})
    assert e.value is None and e.value_range == (7, 9)
    assert e.conclusion is Conclusion.undecidable


# Severity: critical (ARDS, sepsis, septic shock, life-sustaining therapy); severe (SpO2 <90% on
# room air, RR >30/min adults, severe distress); moderate (pneumonia, SpO2 >=90%); mild.
NONE_CRITICAL = {
    "ards": False,
    "sepsis": False,
    "septic_shock": False,
    "life_sustaining_therapy": False,
}
NOT_SEVERE = {
    **NONE_CRITICAL,
    "severe_respiratory_distress": False,
    "rr": "20 /min",
    "age_years": 50,
}
SEVERITY = [
    ({**NOT_SEVERE, "spo2": "90 %", "pneumonia": True}, "moderate"),
    ({**NOT_SEVERE, "spo2": "89.9 %", "pneumonia": True}, "severe"),
    ({**NOT_SEVERE, "spo2": "95 %", "pneumonia": False}, "mild"),
    ({**NOT_SEVERE, "spo2": "95 %", "rr": "30 /min", "pneumonia": False}, "mild"),
    ({**NOT_SEVERE, "spo2": "95 %", "rr": "31 /min", "pneumonia": False}, "severe"),
    ({**NOT_SEVERE, "spo2": "95 %", "severe_respiratory_distress": True}, "severe"),
    ({**NOT_SEVERE, "spo2": "95 %", "pneumonia": False, "ards": True}, "critical"),
    # children: >=60 under 2 months, >=50 at 2-11 months, >=40 at 1-5 years
    (
        {
            **NOT_SEVERE,
            "spo2": "95 %",
            "pneumonia": False,
            "age_years": None,
            "age_days": 30,
            "rr": "60 /min",
        },
        "severe",
    ),
    (
        {
            **NOT_SEVERE,
            "spo2": "95 %",
            "pneumonia": False,
            "age_years": None,
            "age_days": 30,
            "rr": "59 /min",
        },
        "mild",
    ),
    ({**NOT_SEVERE, "spo2": "95 %", "pneumonia": False, "age_years": 3, "rr": "40 /min"}, "severe"),
    ({**NOT_SEVERE, "spo2": "95 %", "pneumonia": False, "age_years": 3, "rr": "39 /min"}, "mild"),
]


@pytest.mark.parametrize(("inputs", "category"), SEVERITY)
def test_severity_categories_and_edges(inputs: dict[str, object], category: str) -> None:
    e = evaluate("who_severity", {k: v for k, v in inputs.items() if v is not None})
    assert (e.value, e.conclusion) == (category, Conclusion.established)


def test_severity_with_unknown_critical_items_is_a_range() -> None:
    e = evaluate("who_severity", {"spo2": "88 %"})
    assert e.value_range == ("severe", "critical")


def test_severity_spo2_on_oxygen_below_90_still_counts() -> None:
    e = evaluate("who_severity", {**NOT_SEVERE, "spo2": "88 %", "on_room_air": False})
    assert e.value == "severe"
    e2 = evaluate(
        "who_severity", {**NOT_SEVERE, "spo2": "95 %", "on_room_air": False, "pneumonia": False}
    )
    assert e2.value is None  # room-air SpO2 unknown


def test_ratios_divide_by_fio2_as_fraction() -> None:
    assert evaluate("spo2_fio2", {"spo2": "94 %", "fio2": "21 %"}).value == pytest.approx(94 / 0.21)
    assert evaluate(
        "pao2_fio2", {"pao2": "80 mm[Hg]", "fio2": {"value": 0.4, "unit": "1"}}
    ).value == pytest.approx(200)


# Dobutamine is an inotrope, not a vasopressor (issue 10, fact 9): it never lifts the WHO
# clinical progression scale from 8 to 9; a vasopressor does.
def _ventilated_with(drug: str) -> Timeline:
    from criteria_builders import TimelineBuilder

    b = TimelineBuilder(age_years=60)
    b.on("imv", "2020-05-01T00:00", "2020-05-05T00:00", fio2=100)
    b.lab("pao2", "2020-05-02T06:00", 80, "mm[Hg]")
    b.drug(drug, 5, "mg", "QD", "2020-05-02T00:00", "2020-05-03T00:00", route="iv")
    return b.build()


@pytest.mark.parametrize(("drug", "read"), [("dobutamine", None), ("norepinephrine", True)])
def test_dobutamine_is_not_a_vasopressor(drug: str, read: bool | None) -> None:
    e = evaluate_timeline("who_cps", _ventilated_with(drug), at="2020-05-02T12:00")
    (vaso,) = [c for c in e.components if c.name == "vasopressors"]
    assert vaso.value is read  # dobutamine leaves "vasopressors" unknown, never met
