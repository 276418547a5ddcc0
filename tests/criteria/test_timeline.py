"""Criteria over a patient's timeline: at a time, worst / first over a window, per day."""

from __future__ import annotations

import pytest
from criteria_builders import TimelineBuilder, seed_000_builder

from ruxtrack.criteria import Conclusion, Status, evaluate_days, evaluate_timeline
from ruxtrack.errors import EvaluationError
from ruxtrack.timeline import Timeline


def test_seed_000_hlh2004_six_of_eight_established(seed_000: Timeline) -> None:
    # Tomomasa 2021: "Six of the eight HLH 2004 diagnostic criteria were fulfilled"
    e = evaluate_timeline("hlh2004", seed_000, at="hsct#2+74d")
    met = {c.name for c in e.components if c.counted and c.status is Status.met}
    assert met == {
        "fever",
        "splenomegaly",
        "cytopenias",
        "hypertriglyceridemia_or_hypofibrinogenemia",
        "hemophagocytosis",
        "ferritin",
    }
    assert e.count(Status.unknown) == 2 and e.total == 6
    assert e.conclusion is Conclusion.established
    cyto = e.component("cytopenias")
    assert cyto.basis == "stated finding" and cyto.time == "hsct#2+73d"
    assert e.component("ferritin").value == 17509 and e.at == "hsct#2+74d"


def test_seed_000_ctcae_grade_3_before_day_131(seed_000: Timeline) -> None:
    # "Neutropenia (grade 3), anemia (grade 3), and thrombocytopenia (grade 3) were manageable by
    # reduction in ruxolitinib to 5 mg/day on day 131"
    e = evaluate_timeline("ctcae", seed_000, window=("hsct#2+74d", "hsct#2+130d"), mode="worst")
    for term in ("neutrophil_count_decreased", "anemia", "platelet_count_decreased"):
        c = e.component(term)
        assert c.grade == 3 and c.basis == "stated by clinician", term
        assert "stated by clinician" in str(c.value)
    # the other terms were not graded: the worst grade over all terms is 3 or 4
    assert e.value_range == (3, 4) and e.mode == "worst"


def test_inputs_older_than_the_freshness_window_are_unknown(seed_000: Timeline) -> None:
    # hlh2004 labs are fresh for 7 days (knowledge/criteria/hlh2004.yaml, project judgement)
    e = evaluate_timeline("hlh2004", seed_000, at="hsct#2+81d")
    assert e.component("ferritin").status is Status.unknown
    assert e.component("fever").status is Status.met  # findings stay 28 days


def test_worst_and_first_over_a_window(seed_000: Timeline) -> None:
    first = evaluate_timeline(
        "hlh2004", seed_000, window=("hsct#2+60d", "hsct#2+90d"), mode="first"
    )
    assert first.at == "hsct#2+73d" and first.conclusion is Conclusion.established
    before = evaluate_timeline(
        "hlh2004", seed_000, window=("hsct#2+60d", "hsct#2+72d"), mode="first"
    )
    assert before.conclusion is not Conclusion.established
    assert any("not established" in a for a in before.alerts)


def test_ctcae_from_lab_values_with_local_limits() -> None:
    b = TimelineBuilder(age_years=40).event("rux_start", "2020-05-01")
    b.lab("anc", "2020-05-03", 0.4, "10*9/L").lab("anc", "2020-05-10", 1.2, "10*9/L")
    b.lab("ast", "2020-04-30", 35, "U/L").lab("ast", "2020-05-10", 130, "U/L")
    tl = b.build()
    at = evaluate_timeline("ctcae", tl, at="2020-05-10", limits={"ast": (None, 40)})
    assert at.component("neutrophil_count_decreased").grade == 2
    # baseline read at ruxolitinib start (35 U/L, normal): graded against ULN -> 130/40 = 3.25 -> G2
    assert at.component("ast_increased").grade == 2
    worst = evaluate_timeline("ctcae", tl, window=("2020-05-01", "2020-05-12"), mode="worst")
    assert worst.component("neutrophil_count_decreased").grade == 4
    assert worst.component("neutrophil_count_decreased").time == "2020-05-03"


def test_clinician_stated_grade_wins_when_more_recent_than_the_lab() -> None:
    b = TimelineBuilder().event("admission", "2020-01-01")
    b.lab("plt", "2020-01-02", 60, "10*9/L")
    b.find("ctcae_grade", "2020-01-03", "3", code="Platelet count decreased")
    e = evaluate_timeline("ctcae", b.build(), at="2020-01-03")
    c = e.component("platelet_count_decreased")
    assert (c.grade, c.basis) == (3, "stated by clinician")


def test_who_cps_per_day_from_support_episodes(seed_000: Timeline) -> None:
    days = evaluate_days("who_cps", seed_000, "hsct#2+71d", "hsct#2+74d")
    assert [d.value for d in days] == [5, 5, 6, 6]  # NC until day 72, HFNC from day 73
    assert [d.at for d in days] == ["hsct#2+71d", "hsct#2+72d", "hsct#2+73d", "hsct#2+74d"]


def test_who_cps_death_is_10() -> None:
    b = TimelineBuilder().event("admission", "2020-01-01").event("death", "2020-01-09")
    b.on("imv", "2020-01-05", "2020-01-09")
    assert evaluate_timeline("who_cps", b.build(), at="2020-01-10").value == 10


def test_steroid_exposure_needs_the_weight_for_mg_per_kg(seed_000: Timeline) -> None:
    e = evaluate_timeline("steroid_equivalent", seed_000, window=("hsct#2+70d", "hsct#2+80d"))
    assert e.conclusion is Conclusion.undecidable and e.value is None  # no weight recorded
    b = seed_000_builder().lab("weight", "hsct#2+60d", 30, "kg")
    e2 = evaluate_timeline("steroid_equivalent", b.build(), window=("hsct#2+70d", "hsct#2+80d"))
    # methylpred 1 mg/kg x 4 days (70-73) + 10 mg/kg x 3 days (74-76), 30 kg, x 5/4 to prednisone
    assert e2.value == pytest.approx((4 * 30 + 3 * 300) * 5 / 4)
    assert e2.conclusion is Conclusion.established


def test_budesonide_is_reported_but_not_counted(seed_000: Timeline) -> None:
    e = evaluate_timeline("steroid_equivalent", seed_000, window=("hsct#2+55d", "hsct#2+60d"))
    bud = [c for c in e.components if c.name.startswith("budesonide")]
    assert bud and bud[0].status is Status.not_met
    assert any("budesonide" in a for a in e.alerts)


def test_window_modes_need_a_window(seed_000: Timeline) -> None:
    with pytest.raises(EvaluationError, match="window"):
        evaluate_timeline("hlh2004", seed_000, mode="worst")
    with pytest.raises(EvaluationError, match="no order of severity"):
        evaluate_timeline(
            "mosteller_bsa", seed_000, window=("hsct#2+1d", "hsct#2+2d"), mode="worst"
        )
