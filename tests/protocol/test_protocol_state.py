"""Stateful rules across days, derived from the recorded exposures and prior labs (replayable)."""

from __future__ import annotations

from protocol_helpers import TimelineBuilder, day

from ruxtrack.protocol import decide, load_regimen, replay

EU = load_regimen("jakavi-eu-cgvhd")
US_C = load_regimen("jakafi-us-cgvhd")
ULN = 20.0  # umol/L; the builder's bilirubin is 10 umol/L = 0.5 x ULN


def test_hold_until_platelets_recover_then_resume_one_level_lower() -> None:
    """E9: platelets < 15: hold until >= 20, then resume one dose level lower."""
    b = TimelineBuilder().event("rux_start", 0).rux(10, "BID", 0, 9)
    b.cbc(0, 150, 3).cbc(10, 12, 3).cbc(12, 17, 3).cbc(14, 25, 3)
    tl = b.build()
    assert decide(tl, EU, day(10), bilirubin_uln_umol_l=ULN).action == "hold"
    still = decide(tl, EU, day(12), bilirubin_uln_umol_l=ULN)
    assert still.action == "hold"
    assert any(r.rule == "hold_continues" for r in still.rationale)
    back = decide(tl, EU, day(14), bilirubin_uln_umol_l=ULN)
    assert (back.action, back.daily_total_mg) == ("resume", 10.0)


def test_a_reduction_already_applied_is_not_applied_again() -> None:
    """E8: platelets < 20 -> one level lower, once per episode (not one more level each day)."""
    b = TimelineBuilder().event("rux_start", 0).rux(10, "BID", 0, 9).rux(5, "BID", 10, None)
    b.cbc(0, 150, 3).cbc(10, 18, 3).cbc(12, 18, 3)
    tl = b.build()
    d = decide(tl, EU, day(12), bilirubin_uln_umol_l=ULN)
    assert (d.action, d.daily_total_mg) == ("continue", 10.0)


def test_platelets_recovered_within_7_days_offer_return_as_an_option() -> None:
    """E8: if >= 20 within 7 days, *may* increase to the initial level (an option, not a dose)."""
    b = TimelineBuilder().event("rux_start", 0).rux(10, "BID", 0, 9).rux(5, "BID", 10, None)
    b.cbc(0, 150, 3).cbc(10, 18, 3).cbc(14, 25, 3).cbc(19, 25, 3)
    tl = b.build()
    d = decide(tl, EU, day(14), bilirubin_uln_umol_l=ULN)
    assert d.daily_total_mg == 10.0
    assert any(a.kind == "option" and "initial" in a.text for a in d.actions)
    late = decide(tl, EU, day(19), bilirubin_uln_umol_l=ULN)  # 9 days after the reduction
    assert not any(a.kind == "option" and "initial" in a.text for a in late.actions)


def test_anc_recovery_resumes_the_initial_level() -> None:
    """E10: after a reduction for ANC 0.5 to < 0.75, resume the initial level if ANC > 1.0."""
    b = TimelineBuilder().event("rux_start", 0).rux(10, "BID", 0, 9).rux(5, "BID", 10, None)
    b.cbc(0, 150, 3).cbc(10, 150, 0.6).cbc(15, 150, 1.1)
    d = decide(b.build(), EU, day(15), bilirubin_uln_umol_l=ULN)
    assert (d.action, d.daily_total_mg) == ("resume", 20.0)


def test_taper_steps_one_level_after_8_weeks() -> None:
    """B4: taper one dose level approximately every 8 weeks."""
    b = TimelineBuilder().event("rux_start", 0).rux(10, "BID", 0, 199)
    b.rux(5, "BID", 200, None, reason="taper")
    for d in (200, 250, 255, 256):
        b.cbc(d, 150, 3)
    tl = b.build()
    assert decide(tl, US_C, day(250), bilirubin_uln_umol_l=ULN).daily_total_mg == 10
    step = decide(tl, US_C, day(256), bilirubin_uln_umol_l=ULN)
    assert (step.action, step.daily_total_mg) == ("reduce", 5.0)
    assert any(r.rule == "taper_step" for r in step.rationale)


def test_unexplained_interruption_gives_no_recommendation() -> None:
    b = TimelineBuilder().event("rux_start", 0).rux(10, "BID", 0, 4).cbc(6, 150, 3)
    d = decide(b.build(), EU, day(6), bilirubin_uln_umol_l=ULN)
    assert d.action == "no_recommendation"
    assert any("no rule of this regimen explains" in a.text for a in d.alerts)


def test_concomitant_posaconazole_on_the_timeline_halves_the_eu_dose() -> None:
    b = TimelineBuilder().event("rux_start", 0).rux(10, "BID", 0, None).cbc(5, 150, 3)
    b.drug("posaconazole", 300, "QD", 3)
    d = decide(b.build(), EU, day(5), bilirubin_uln_umol_l=ULN)
    assert (d.action, d.daily_total_mg) == ("reduce", 10.0)
    used = next(r for r in d.rationale if r.rule == "strong_cyp3a4_inhibitor").inputs
    assert used[0].name == "posaconazole" and used[0].value == 300


def test_missing_bilirubin_uln_is_named() -> None:
    b = TimelineBuilder().event("rux_start", 0).rux(10, "BID", 0, None).cbc(5, 150, 3)
    d = decide(b.build(), EU, day(5))
    assert d.action == "no_recommendation"
    assert any("upper limit of normal" in a.text for a in d.alerts)


def test_replay_flags_recorded_doses_that_differ() -> None:
    b = TimelineBuilder().event("rux_start", 0).rux(10, "BID", 0, 3).rux(20, "BID", 4, 5)
    for d in range(0, 7):
        b.cbc(d, 150, 3)
    rp = replay(b.build(), EU, bilirubin_uln_umol_l=ULN)
    cats = {d.date: d.category for d in rp.days}
    assert cats[day(1).isoformat()] == "agrees"
    assert cats[day(4).isoformat()] == "higher_than_regimen"
    # 40 mg/day is not a dose level: the next day cannot be stepped from it
    assert cats[day(5).isoformat()] == "no_recommendation"
    assert any("not a dose level" in r for r in rp.days[5].reasons)
