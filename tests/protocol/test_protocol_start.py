# ruff: noqa: E501  (a label table: one row per line)
"""Starting doses: every label row at the start of therapy (day 1, nothing given yet), ad hoc and
from the store, and the corrected interaction facts (issue 10).

Rows cite ../shared/reference/ruxolitinib.md (A = US aGVHD, B = US cGVHD, E = EU, K = section 7
corrections). During-therapy rows are in test_protocol_label_tables.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from protocol_helpers import TimelineBuilder, day

from ruxtrack.protocol import AlertCode, adhoc_inputs, decide, decide_inputs, load_regimen

START: dict[str, Any] = {
    "day": 1,
    "platelets": 150,
    "anc": 3.0,
    "bilirubin": 0.5,
    "bilirubin_uln": 1.0,
    "crcl": 90,
    "age": 40,
}
US_A, US_C = "jakafi-us-agvhd", "jakafi-us-cgvhd"
EU_A, EU_C = "jakavi-eu-agvhd", "jakavi-eu-cgvhd"
EU = (EU_A, EU_C)


def start(regimen: str, **kw: Any) -> Any:
    reg = load_regimen(regimen)
    return decide_inputs(reg, adhoc_inputs(reg, **{**START, **kw}))


def doses(d: Any) -> list[tuple[str, float]]:
    return [(a.slot, a.dose_mg) for a in d.administrations]


CASES: list[tuple[str, str, dict[str, Any], str, float]] = [
    (US_A, "A2 start 5 mg BID", {}, "start", 10),
    (US_A, "A8 CLcr 59.9 -> 5 mg QD from the start", {"crcl": 59.9}, "start", 5),
    (US_A, "A9 ESRD on dialysis -> 5 mg after dialysis", {"crcl": 10, "dialysis": True}, "start", 5),
    (US_A, "A10 ESRD without dialysis: avoid", {"crcl": 14.9}, "not_eligible", 0),
    (US_A, "A7b ANC < 1.0: do not start", {"anc": 0.99}, "hold", 0),
    (US_A, "A7c bili 3.0 xULN -> one level below the start", {"bilirubin": 3.0}, "start", 5),
    (US_A, "A7d bili 5.01 xULN: do not start", {"bilirubin": 5.01}, "hold", 0),
    (US_A, "A13 posaconazole: monitor only", {"drugs": ["posaconazole"]}, "start", 10),
    (US_A, "A14 fluconazole 400 mg: aGVHD exception", {"drugs": ["fluconazole:400mg/day"]}, "start", 10),
    (US_A, "A1 below 12 years", {"age": 11.9}, "not_eligible", 0),
    (US_C, "B1 start 10 mg BID", {}, "start", 20),
    (US_C, "B5 platelets 19.9 -> 5 mg BID", {"platelets": 19.9}, "start", 10),
    (US_C, "B6 ANC 0.74 -> 5 mg BID", {"anc": 0.74}, "start", 10),
    (US_C, "B9 CLcr 59.9 -> 5 mg BID", {"crcl": 59.9}, "start", 10),
    (US_C, "B10 dialysis -> 10 mg after dialysis", {"crcl": 10, "dialysis": True}, "start", 10),
    (US_C, "B11 ESRD without dialysis: avoid", {"crcl": 14.9}, "not_eligible", 0),
    (US_C, "B12 fluconazole 200 mg -> 5 mg BID", {"drugs": ["fluconazole:200mg/day"]}, "start", 10),
    (US_C, "B13 fluconazole 400 mg: avoid", {"drugs": ["fluconazole:400mg/day"]}, "no_recommendation", 0),
    (US_C, "B14 posaconazole: monitor only", {"drugs": ["posaconazole"]}, "start", 20),
    *[(r, "E2 start 10 mg BID", {}, "start", 20) for r in EU],
    *[(r, "E3 6 to <12 y: 5 mg BID", {"age": 8}, "start", 10) for r in EU],
    *[(r, "E8 platelets 19.9 -> 5 mg BID", {"platelets": 19.9}, "start", 10) for r in EU],
    *[(r, "E9 platelets 14.9: do not start", {"platelets": 14.9}, "hold", 0) for r in EU],
    *[(r, "E10 ANC 0.74 -> 5 mg BID", {"anc": 0.74}, "start", 10) for r in EU],
    *[(r, "E16 CLcr 29 -> about 50%", {"crcl": 29}, "start", 10) for r in EU],
    *[(r, "E12 bili 3.01 xULN -> 5 mg BID", {"bilirubin": 3.01}, "start", 10) for r in EU],
    *[(r, "E15 posaconazole -> 5 mg BID", {"drugs": ["posaconazole"]}, "start", 10) for r in EU],
    *[(r, "K1 atazanavir: moderate, no adjustment", {"drugs": ["atazanavir"]}, "start", 20) for r in EU],
    *[(r, "K1 atazanavir/ritonavir: strong", {"drugs": ["atazanavir/ritonavir"]}, "start", 10) for r in EU],
    *[(r, "K1 atazanavir/cobicistat: strong", {"drugs": ["evotaz"]}, "start", 10) for r in EU],
    *[(r, "K3 letermovir alone: moderate", {"drugs": ["letermovir"]}, "start", 20) for r in EU],
    *[
        (r, "K3 letermovir + ciclosporin: strong", {"drugs": ["letermovir", "cyclosporine"]}, "start", 10)
        for r in EU
    ],
]  # fmt: skip


@pytest.mark.parametrize(
    ("regimen", "row", "kw", "action", "total"), CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES]
)
def test_label_row_at_start(
    regimen: str, row: str, kw: dict[str, Any], action: str, total: float
) -> None:
    d = start(regimen, **kw)
    assert (d.action, d.daily_total_mg) == (action, total), row
    assert not any(a.code is AlertCode.current_dose_unknown for a in d.alerts)


def test_day_1_is_never_the_current_dose_is_unknown() -> None:
    # issue 10: "dose --regimen jakafi-us-agvhd --day 1 ..." answered NO RECOMMENDATION
    d = start(US_A, bilirubin=0.8, bilirubin_uln=1.2)
    assert (d.action, doses(d)) == ("start", [("morning", 5.0), ("evening", 5.0)])


def test_history_still_matters_after_day_1() -> None:
    d = start(US_A, day=9)
    assert d.action == "no_recommendation"
    assert any(a.code is AlertCode.current_dose_unknown for a in d.alerts)


@pytest.mark.parametrize("regimen", EU)
def test_eu_strong_inhibitor_halves_each_dose_and_keeps_twice_daily(regimen: str) -> None:
    # K/issue fact 6: 5 mg BID (6 to < 12 y) with a strong inhibitor is 2.5 mg BID, not 5 mg QD
    d = start(regimen, age=8, drugs=["posaconazole"])
    assert doses(d) == [("morning", 2.5), ("evening", 2.5)]
    assert any(a.code is AlertCode.not_whole_tablet for a in d.alerts)
    adult = start(regimen, drugs=["voriconazole"])
    assert doses(adult) == [("morning", 5.0), ("evening", 5.0)]


@pytest.mark.parametrize("regimen", EU)
def test_eu_moderate_inhibitor_asks_for_cytopenia_monitoring(regimen: str) -> None:
    d = start(regimen, drugs=["erythromycin"])
    assert d.daily_total_mg == 20
    assert any(r.rule == "moderate_cyp3a4_inhibitor" and r.fired for r in d.rationale)
    assert any("moderate CYP3A4" in m.what for m in d.monitoring)


def test_us_labels_keep_their_own_atazanavir_classification() -> None:
    d = start(US_C, drugs=["atazanavir"])
    assert any(r.rule == "strong_cyp3a4_inhibitor" and r.fired for r in d.rationale)


@pytest.mark.parametrize(("regimen", "age"), [(EU_A, 3), (EU_C, 3)])
def test_eu_under_6_start_names_the_reach4_discrepancy(regimen: str, age: float) -> None:
    d = start(regimen, age=age, weight=14, height=95)
    assert d.action == "start"
    caution = [a for a in d.alerts if a.code is AlertCode.start_band_caution]
    assert caution and "4 mg/m2" in caution[0].text and "Table 3" in caution[0].text
    assert abs(d.daily_total_mg - 16 * (14 * 95 / 3600) ** 0.5) < 1e-6  # 8 mg/m2 BID x BSA


def test_start_from_the_store_with_no_exposure_yet() -> None:
    b = TimelineBuilder(age=40).event("rux_start", 3)
    b.cbc(2, 150, 3).drug("posaconazole", 300, "QD", 0)
    d = decide(b.build(), EU_A, day(3), bilirubin_uln_umol_l=20.5)
    assert (d.action, d.daily_total_mg) == ("start", 10.0)
    assert any(r.rule == "strong_cyp3a4_inhibitor" and r.fired for r in d.rationale)
    assert not any(a.code is AlertCode.current_dose_unknown for a in d.alerts)


def test_store_letermovir_with_ciclosporin_is_a_strong_inhibitor() -> None:
    b = TimelineBuilder(age=40).event("rux_start", 3)
    b.cbc(2, 150, 3).drug("letermovir", 240, "QD", 0).drug("ciclosporin", 100, "BID", 0)
    d = decide(b.build(), EU_C, day(3), bilirubin_uln_umol_l=20.5)
    assert (d.action, d.daily_total_mg) == ("start", 10.0)
    used = [i.name for r in d.rationale if r.rule == "strong_cyp3a4_inhibitor" for i in r.inputs]
    assert "letermovir+ciclosporin" in used


# K5 (issue 10, fact 5): US cGVHD separates liver score 1-2 (no adjustment) from score 3.
@pytest.mark.parametrize(
    ("score", "fired", "not_fired"),
    [
        (1, "liver_cgvhd_score_1_2", "liver_cgvhd_score_3"),
        (2, "liver_cgvhd_score_1_2", "liver_cgvhd_score_3"),
        (3, "liver_cgvhd_score_3", "liver_cgvhd_score_1_2"),
    ],
)
def test_us_cgvhd_liver_score_rows(score: int, fired: str, not_fired: str) -> None:
    for day_kw in ({}, {"day": 30, "current_dose": "10 mg BID"}):  # at start and during
        d = start(US_C, liver_gvhd=True, liver_gvhd_score=score, **day_kw)
        assert d.daily_total_mg == 20
        on = {r.rule for r in d.rationale if r.fired}
        assert fired in on and not_fired not in on
    monitored = any("liver cGVHD score 3" in m.what for m in d.monitoring)
    assert monitored is (score == 3)


def test_us_cgvhd_liver_without_score_asks_for_it_and_never_blocks() -> None:
    d = start(US_C, liver_gvhd=True)
    assert (d.action, d.daily_total_mg) == ("start", 20)
    unknown = [a for a in d.alerts if a.code is AlertCode.rule_input_unknown]
    assert [a.rule for a in unknown] == ["liver_cgvhd_score_3"]
    assert unknown[0].severity == "warning"


def test_us_cgvhd_liver_with_high_bilirubin_says_no_row_was_read() -> None:
    d = start(US_C, liver_gvhd=True, liver_gvhd_score=3, bilirubin=4.0)
    assert d.daily_total_mg == 20
    assert any(
        a.code is AlertCode.rule_alert and a.rule == "bilirubin_above_3_liver_cgvhd"
        for a in d.alerts
    )


def test_us_agvhd_stage_4_liver_asks_for_closer_monitoring() -> None:
    d = start(US_A, liver_gvhd=True, liver_gvhd_score=4)
    assert any(r.rule == "liver_agvhd_stage_4" and r.fired for r in d.rationale)
    three = start(US_A, liver_gvhd=True, liver_gvhd_score=3)
    assert not any(r.rule == "liver_agvhd_stage_4" and r.fired for r in three.rationale)


def test_liver_score_from_the_store() -> None:
    b = TimelineBuilder(age=40).event("rux_start", 3).cbc(2, 150, 3)
    b.fact("gvhd_stage_liver", 1, "3")
    d = decide(b.build(), US_C, day(3), bilirubin_uln_umol_l=20.5)
    assert any(r.rule == "liver_cgvhd_score_3" and r.fired for r in d.rationale)
