"""Seed 000 (Tomomasa et al., Clin Case Rep 2021) replayed against the EU paediatric label."""

from __future__ import annotations

from pathlib import Path

import pytest

import ruxtrack
from ruxtrack.protocol import audit, load_regimen, replay
from ruxtrack.timeline import DrugExposure, Event, Observation, Patient, Timeline

P = "tomomasa2021"
ULN = 20.5  # umol/L, given for the replay: the paper reports no bilirubin ULN


def _paper_timeline() -> Timeline:
    """The course as the paper states it; the labs are placeholders at normal values on the days
    the paper mentions, with the grade 3 cytopenias before the day-131 reduction."""

    def rx(dose: float, start: int, end: int, reason: str) -> DrugExposure:
        return DrugExposure(
            patient_id=P,
            drug="ruxolitinib",
            dose=dose,
            unit="mg",
            frequency="QD",
            start=f"hsct#2+{start}d",
            end=f"hsct#2+{end}d",
            reason=reason,
        )

    obs = []
    for d in range(74, 380, 7):
        low = d in (123, 130)
        for code, v, u in (
            ("plt", 40 if low else 150, "10*9/L"),
            ("anc", 0.8 if low else 2.0, "10*9/L"),
            ("bili_total", 10, "umol/L"),
            ("crcl", 120, "mL/min"),
        ):
            obs.append(Observation(patient_id=P, code=code, time=f"hsct#2+{d}d", value=v, unit=u))
    return Timeline(
        patient=Patient(patient_id=P, sex="female", age_years=11, age_at="hsct#2"),
        events=(
            Event(patient_id=P, event="hsct", time="origin"),
            Event(patient_id=P, event="hsct", occurrence=2, time="hsct+65d"),
        ),
        drugs=(
            rx(20, 74, 130, "IPS (with methylprednisolone pulse)"),
            rx(5, 131, 144, "grade 3 cytopenias"),
            rx(10, 145, 378, "rising KL-6"),
        ),
        observations=tuple(obs),
    )


def test_recorded_course_regimen_reproduces_the_paper() -> None:
    """ "we simultaneously started ruxolitinib (20 mg/day) on day 74" ... "reduction in
    ruxolitinib to 5 mg/day on day 131" ... "increased to 10 mg/day on day 145" ... "stopped on
    day 378"."""
    rp = replay(_paper_timeline(), "tomomasa-2021-ips")
    assert {d.category for d in rp.days} == {"agrees"}
    assert rp.days[0].day == 74 and rp.days[-1].decision.action == "complete"


def test_course_against_the_eu_label_lists_where_they_differ_and_why() -> None:
    rp = replay(_paper_timeline(), "jakavi-eu-agvhd", bilirubin_uln_umol_l=ULN)
    by_day = {d.day: d for d in rp.days}
    start = by_day[1]  # day 74 after the transplant = treatment day 1
    assert start.category == "higher_than_regimen"
    assert start.decision.daily_total_mg == 10  # 6 to <12 years: 5 mg BID (E3)
    assert any("20 mg/day" not in r or "10 mg/day" in r for r in start.reasons)
    cut = by_day[58]  # day 131: 5 mg/day for grade 3 cytopenias (ANC 0.8, platelets 40)
    assert cut.category == "lower_than_regimen"
    assert any("grade 3 cytopenias" in r and "no rule" in r for r in cut.reasons)
    kl6 = by_day[72]  # day 145: increase for rising KL-6, which no label rule covers
    assert kl6.category == "higher_than_regimen"
    assert any("rising KL-6" in r and "no rule" in r for r in kl6.reasons)


def test_audit_summarises_deviations_by_category() -> None:
    a = audit([_paper_timeline()], load_regimen("jakavi-eu-agvhd"), bilirubin_uln_umol_l=ULN)
    assert a.patients == 1 and a.patient_days > 300
    assert a.by_category["higher_than_regimen"] >= 2
    assert sum(a.by_category.values()) == len(a.deviations)


def test_us_label_is_not_for_an_11_year_old() -> None:
    """US Jakafi aGVHD is labelled from 12 years (A1): every day is outside its population."""
    rp = replay(_paper_timeline(), "jakafi-us-agvhd", bilirubin_uln_umol_l=ULN)
    assert rp.days[0].category == "given_when_not_eligible"


DEMO = Path(ruxtrack.__file__).parent / "demo" / "data" / "tomomasa-2021"


@pytest.mark.skipif(not DEMO.exists(), reason="demo dataset tomomasa-2021 not in this checkout")
def test_demo_dataset_replays_against_the_eu_label() -> None:
    from ruxtrack.sources import read_folder

    timelines = read_folder(DEMO)
    # the recorded-course regimen reproduces the demo course exactly
    rp = replay(timelines[0], "tomomasa-2021-ips")
    assert {d.category for d in rp.days} == {"agrees"}
    # against the EU label: the demo has no blood counts, so no day gets a dose recommendation,
    # and each day says what is needed and what the label's base dose would be
    a = audit(timelines, "jakavi-eu-agvhd", bilirubin_uln_umol_l=ULN)
    assert a.patients == 1
    start = a.deviations[0]
    assert start.category == "no_recommendation" and start.recorded_daily_mg == 20
    assert "platelets" in start.reason and "base dose for the day is 10 mg/day" in start.reason
    kl6 = next(r for r in a.deviations if r.day == 72)
    assert "KL-6" in kl6.reason and "no rule of jakavi-eu-agvhd covers it" in kl6.reason
