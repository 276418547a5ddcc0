"""Each explainer of a decision, tested on its own: it adds what its concern explains, and
nothing that belongs to another."""

from __future__ import annotations

from typing import Any

from ruxtrack.protocol import AlertCode, adhoc_inputs, decide_many, load_regimen
from ruxtrack.protocol._decision import (
    EXPLAINERS,
    Action,
    Explanation,
    explain_administration,
    explain_base_dose,
    explain_eligibility,
    explain_holds_and_limits,
    explain_notes,
    explain_required_labs,
    explain_rules,
    explain_stated_grades,
)
from ruxtrack.protocol._engine import ACTIONS

LABS: dict[str, Any] = {
    "platelets": 150,
    "anc": 3,
    "bilirubin": 0.5,
    "bilirubin_uln": 1,
    "crcl": 90,
}


def ctx(regimen: str, **kw: Any) -> Explanation:
    reg = load_regimen(regimen)
    x = adhoc_inputs(reg, **kw)
    res = decide_many(reg, [x])
    return Explanation(
        reg=reg,
        x=x,
        res=res,
        action=Action(ACTIONS[int(res.action[0])]),
        flags={k: bool(v[0]) for k, v in res.flags.items()},
    )


def test_the_explainers_run_in_a_fixed_order() -> None:
    assert EXPLAINERS[0] is explain_base_dose and EXPLAINERS[-1] is explain_notes
    assert len(set(EXPLAINERS)) == len(EXPLAINERS) == 8


def test_base_dose_names_the_schedule_day() -> None:
    c = ctx("sarmiento-2021-covid", day=9, **LABS)
    explain_base_dose(c)
    assert [r.rule for r in c.rationale] == ["schedule"]
    assert "5 mg BID" in c.rationale[0].text and not c.alerts


def test_base_dose_names_the_starting_band() -> None:
    c = ctx("jakavi-eu-agvhd", day=1, age=8, **LABS)
    explain_base_dose(c)
    assert [r.rule for r in c.rationale] == ["start"]
    assert "5 mg BID" in c.rationale[0].text


def test_base_dose_asks_for_the_current_dose_after_day_1() -> None:
    c = ctx("jakafi-us-cgvhd", day=12, age=40, **LABS)
    explain_base_dose(c)
    assert [a.code for a in c.alerts] == [AlertCode.current_dose_unknown]


def test_eligibility_lists_each_unknown_criterion() -> None:
    c = ctx("sarmiento-2021-covid", day=1, **LABS)
    explain_eligibility(c)
    codes = {a.code for a in c.alerts}
    assert codes == {AlertCode.eligibility_unknown}
    assert len(c.alerts) == 5  # age, PCR, WHO pneumonia, ventilation, other trial


def test_required_labs_name_what_is_missing_and_when_it_is_due() -> None:
    c = ctx("jakafi-us-agvhd", day=1, age=40, platelets=150)
    explain_required_labs(c)
    needed = [a for a in c.alerts if a.code is AlertCode.required_input_unusable]
    assert {a.rule for a in needed} == {
        "required_lab.anc",
        "required_lab.bilirubin",
        "required_lab.crcl",
    }
    assert {m.what for m in c.monitoring if m.due == "now"} >= {"ANC", "creatinine clearance"}


def test_rules_mark_what_fired_and_alert_on_what_cannot_be_decided() -> None:
    c = ctx("jakavi-eu-agvhd", day=1, age=40, **{**LABS, "platelets": 18})
    explain_rules(c)
    fired = [r.rule for r in c.rationale if r.fired]
    assert "platelets_15_to_20" in fired
    d = ctx("jakafi-us-cgvhd", day=1, age=40, liver_gvhd=True, **LABS)
    explain_rules(d)
    assert [a.code for a in d.alerts if a.rule == "liver_cgvhd_score_3"] == [
        AlertCode.rule_input_unknown
    ]


def test_stated_grades_explain_only_interval_inputs() -> None:
    c = ctx("jakavi-eu-agvhd", day=1, age=40, **LABS)
    explain_stated_grades(c)
    assert c.rationale == [] and c.alerts == []


def test_holds_and_limits_explain_the_alternate_off_day() -> None:
    c = ctx("sarmiento-2021-covid", day=2, **{**LABS, "crcl": 20})
    explain_holds_and_limits(c)
    assert [r.rule for r in c.rationale] == ["alternate_off_day"]


def test_administration_flags_a_dose_no_tablet_gives() -> None:
    c = ctx("jakavi-eu-agvhd", day=1, age=8, drugs=["posaconazole"], **LABS)
    explain_administration(c)
    assert [a.code for a in c.alerts] == [AlertCode.not_whole_tablet]
    assert "0.5 mL" in c.alerts[0].text


def test_administration_names_a_hold() -> None:
    c = ctx("jakavi-eu-agvhd", day=1, age=40, **{**LABS, "platelets": 10})
    explain_administration(c)
    assert [a.code for a in c.alerts] == [AlertCode.hold_today]


def test_notes_add_the_regimen_monitoring_schedule() -> None:
    c = ctx("jakafi-us-agvhd", day=1, age=40, **LABS)
    explain_notes(c)
    assert any(m.reason == "regimen schedule" for m in c.monitoring)
    assert [a.code for a in c.alerts] == [AlertCode.note]


def test_required_lab_alerts_and_monitoring_carry_codes_and_parameters() -> None:
    from ruxtrack.protocol import MonitoringCode

    c = ctx("jakafi-us-agvhd", day=1, age=40, platelets=150)
    explain_required_labs(c)
    unusable = AlertCode.required_input_unusable
    needed = {a.input: a.input_status for a in c.alerts if a.code is unusable}
    assert needed == {"anc": "missing", "bilirubin": "missing", "crcl": "missing"}
    now = {m.input for m in c.monitoring if m.code is MonitoringCode.required_input_now}
    assert now == {"anc", "bilirubin", "crcl"}
    assert all(m.max_age_days for m in c.monitoring if m.input is not None)
    window = [m for m in c.monitoring if m.code is MonitoringCode.required_input_window]
    assert [m.input for m in window] == ["plt"] and window[0].due_date is None


def test_rule_monitoring_names_its_rule() -> None:
    from ruxtrack.protocol import MonitoringCode

    c = ctx("jakafi-us-cgvhd", day=1, age=40, liver_gvhd_score=3, **LABS)
    explain_rules(c)
    ruled = [m for m in c.monitoring if m.code is MonitoringCode.rule_monitoring]
    assert ruled and all(m.rule for m in ruled)
