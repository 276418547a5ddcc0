"""The tomomasa-2021 case: each fact, its time and its quote (Tomomasa 2021, seed 000).

Every row carries its provenance; each fact below is checked against the value recorded and
against the quote kept beside it. When the seed paper is present (../shared/seeds), every quoted
fragment is also checked to occur in its text.
"""

from __future__ import annotations

import csv
import re
from datetime import timedelta
from pathlib import Path

import pytest

from ruxtrack.demo import demo_dataset
from ruxtrack.sources import read_folder
from ruxtrack.timeline import Timeline

FOLDER = demo_dataset("tomomasa-2021")
PAPER = Path(__file__).resolve().parents[3] / "shared" / "seeds" / "000_2baba1f7e6cd4371.txt"


@pytest.fixture(scope="module")
def tl() -> Timeline:
    (timeline,) = read_folder(FOLDER)
    return timeline


def _rows(name: str) -> list[dict[str, str]]:
    with (FOLDER / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _quotes(provenance: str) -> list[str]:
    return re.findall(r"'([^']+)'", provenance)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("*", "")).strip()


@pytest.mark.parametrize("name", ["events", "observations", "drugs", "support", "assessments"])
def test_every_row_quotes_its_source(name: str) -> None:
    for i, row in enumerate(_rows(name), start=2):
        prov = row["provenance"]
        assert re.match(r"^(Case presentation|Table 1|Figure 2 legend)", prov), (name, i)
        assert _quotes(prov), (name, i)


@pytest.mark.skipif(not PAPER.exists(), reason="seed paper not available in this checkout")
def test_every_quoted_fragment_occurs_in_the_paper() -> None:
    paper = _norm(PAPER.read_text(encoding="utf-8"))
    for name in ("events", "observations", "drugs", "support", "assessments"):
        for row in _rows(name):
            for quote in _quotes(row["provenance"]):
                for part in quote.split("..."):
                    assert _norm(part) in paper, (name, part)


def test_patient_is_the_papers_girl(tl: Timeline) -> None:
    p = tl.patient
    assert (p.sex.value, p.age_years, p.synthetic) == ("female", 11, False)
    assert [c.name for c in p.comorbidities] == ["mds_eb_1"]
    assert tl.time_basis == "relative"


def _event(tl: Timeline, name: str, occurrence: int = 1):  # type: ignore[no-untyped-def]
    (ev,) = [e for e in tl.events if e.event == name and e.occurrence == occurrence]
    return ev


def _day(tl: Timeline, ref: object) -> float:
    return tl.day(tl.at(ref), "hsct", 2)  # type: ignore[arg-type,return-value]


@pytest.mark.parametrize(
    ("event", "day", "quote"),
    [
        ("engraftment", 29, "Neutrophil engraftment was achieved on day 29"),
        ("rux_start", 74, "started ruxolitinib (20 mg/day) on day 74"),
        ("rux_stop", 378, "stopped on days 378 and 519"),
        ("tacrolimus_stop", 519, "stopped on days 378 and 519"),
        ("last_followup", 524, "Alive (day 524)"),
        ("gvhd_onset", 30, "stage III gut GVHD around day 30"),
        ("engraftment_syndrome", 9, "oxygen requirement on day 9"),
    ],
)
def test_event_days_match_their_quotes(tl: Timeline, event: str, day: int, quote: str) -> None:
    ev = _event(tl, event)
    assert _day(tl, ev.time) == day
    assert quote in (ev.provenance or "")
    assert str(day) in quote


def test_transplants_match_table1(tl: Timeline) -> None:
    first, second = _event(tl, "hsct", 1), _event(tl, "hsct", 2)
    assert str(second.time) == "origin" and _day(tl, first.time) == -65
    assert "on day 65 after first HSCT" in (second.provenance or "")
    t1, t2 = first.transplant, second.transplant
    assert t1 is not None and t2 is not None
    assert (t1.donor_type, t1.hla_match, t1.cell_source) == ("haplo_related", "5/8", "bm")
    assert (t2.donor_type, t2.hla_match, t2.cell_source) == ("ucb", "6/8", "cb")
    assert [str(a) for a in t1.conditioning] == [
        "Flu 120 mg/m2",
        "Bu cAUC 75 mg.h/L",
        "Mel 140 mg/m2",
    ]
    assert [str(a) for a in t2.conditioning] == [
        "Flu 125 mg/m2", "VP-16 450 mg/m2", "Mel 80 mg/m2", "TBI 4 Gy",
    ]  # fmt: skip
    assert t1.gvhd_prophylaxis == ("cyclophosphamide", "mycophenolate_mofetil", "tacrolimus")
    assert t2.gvhd_prophylaxis == ("tacrolimus", "short-course methotrexate")
    assert "fludarabine 120 mg/m² total dose" in (first.provenance or "")
    assert "total body irradiation 4 Gy" in (second.provenance or "")


@pytest.mark.parametrize(
    ("drug", "dose", "unit", "freq", "start", "end", "quote"),
    [
        ("ruxolitinib", 20, "mg", "QD", 74, 130, "started ruxolitinib (20 mg/day) on day 74"),
        ("ruxolitinib", 5, "mg", "QD", 131, 144, "reduction in ruxolitinib to 5 mg/day on day 131"),
        ("ruxolitinib", 10, "mg", "QD", 145, 378, "increased to 10 mg/day on day 145"),
        ("methylprednisolone", 1, "mg/kg", "QD", 16, None, "(1 mg/kg/day) was initiated on day 16"),
        ("methylprednisolone", 10, "mg/kg", "QD", 74, 76, "pulse therapy (10 mg/kg/day, 3 days)"),
        ("budesonide", 6, "mg", "QD", 55, 64, "budesonide (6 mg/day) orally once daily on day 55"),
        ("cyclophosphamide", 50, "mg/kg", "QD", -62, -61, "50 mg/kg/dose i.v. on days 3 and 4"),
        ("mycophenolate_mofetil", 15, "mg/kg", "TID", -60, -30, "daily from days 5 to 35"),
    ],
)  # fmt: skip
def test_drug_rows_match_their_quotes(
    tl: Timeline, drug: str, dose: float, unit: str, freq: str, start: int, end: int | None,
    quote: str,
) -> None:  # fmt: skip
    (d,) = [x for x in tl.drugs if x.drug == drug and x.dose == dose]
    assert (d.unit.value, d.frequency.value) == (unit, freq)
    assert _day(tl, d.start) == start
    assert (None if d.end is None else _day(tl, d.end)) == end
    assert quote in (d.provenance or "")


def test_ruxolitinib_split_is_recorded_as_not_stated(tl: Timeline) -> None:
    first = next(d for d in tl.drugs if d.drug == "ruxolitinib")
    assert "split into doses is not stated" in (first.provenance or "")
    assert "not 10 mg BID" in (first.provenance or "")


@pytest.mark.parametrize(
    ("mode", "start", "end", "quote"),
    [
        ("nasal_cannula", 9, 24, "oxygen was discontinued on day 24"),
        ("nasal_cannula", 57, 73, "Nasal cannula (NC) oxygenation was started on day 57"),
        ("hfnc", 73, 85, "cessation of HFNC oxygenation on day 85"),
        ("nasal_cannula", 85, 89, "no further requirement for oxygenation on day 89"),
    ],
)
def test_support_episodes_match_their_quotes(
    tl: Timeline, mode: str, start: int, end: int, quote: str
) -> None:
    (ep,) = [e for e in tl.support if e.mode.value == mode and _day(tl, e.start) == start]
    assert _day(tl, ep.end) == end
    assert quote in (ep.provenance or "")


def test_only_stated_numbers_are_observations(tl: Timeline) -> None:
    obs = {o.code: o for o in tl.observations}
    assert set(obs) == {"tg", "ferritin"}
    assert obs["tg"].source_value == 5180 and obs["tg"].source_unit == "mg/dL"
    assert obs["tg"].value == pytest.approx(58.48, abs=0.01)  # mmol/L, catalogue factor
    assert "maximum, 5180 mg/dl" in (obs["tg"].provenance or "")
    assert obs["ferritin"].value == 17509 and obs["ferritin"].unit == "ug/L"
    assert "maximum, 17,509 ng/ml" in (obs["ferritin"].provenance or "")
    for o in obs.values():
        assert "time approximate" in (o.provenance or "")


def test_hlh2004_six_of_eight_are_derivable_at_day_74(tl: Timeline) -> None:
    """Fever, spleen, cytopenias (stated), TG, haemophagocytosis, ferritin; NK, sCD25 unknown."""
    at = tl.at("hsct#2+74d")
    week, month = timedelta(days=7), timedelta(days=28)

    def finding(kind: str) -> list[str]:
        return [a.value for t, a in tl.assessments_of(kind) if at - month <= t <= at]

    assert finding("fever") == ["true"]
    assert finding("splenomegaly") == ["true"]
    assert finding("hemophagocytosis") == ["true"]
    assert "pancytopenia" in finding("finding")
    tg = tl.latest("tg", at, week)
    ferritin = tl.latest("ferritin", at, week)
    assert tg is not None and tg[1].value >= 3.0  # HLH-2004: fasting TG >= 3.0 mmol/L
    assert ferritin is not None and ferritin[1].value >= 500  # HLH-2004: ferritin >= 500 ug/L
    assert tl.series("sil2r_units") == [] and tl.series("sil2r_mass") == []
    assert finding("nk_activity_low") == []
    assert tl.series("fibrinogen") == []
    assert finding("hlh2004_criteria_met") == ["6"]


def test_ctcae_grade_3_cytopenias_before_the_reduction_on_day_131(tl: Timeline) -> None:
    grades = {a.code: (a.value, _day(tl, a.time)) for _, a in tl.assessments_of("ctcae_grade")}
    assert grades == {
        "neutrophil_count_decreased": ("3", 131),
        "anemia": ("3", 131),
        "platelet_count_decreased": ("3", 131),
    }
    (reduction,) = [d for d in tl.drugs if d.drug == "ruxolitinib" and d.dose == 5]
    assert _day(tl, reduction.start) == 131


@pytest.mark.parametrize(
    ("kind", "value", "code", "day", "quote"),
    [
        ("gvhd_stage_lower_gi", "3", "acute_gvhd", 30, "stage III gut GVHD around day 30"),
        ("gvhd_grade", "2", "acute_gvhd", 30, "Acute GVHD grade II (gut)"),
        ("chimerism", "complete", "str", 64, "on days 64, 98, and 365"),
        ("chimerism", "complete", "str", 98, "on days 64, 98, and 365"),
        ("chimerism", ">95%", "str", 365, "Chimerism >95% (day 365)"),
        ("imaging", "infiltration_entire_lung_fields", "ct_chest", 61, "on days 61 and 69"),
        ("imaging", "infiltration_entire_lung_fields", "ct_chest", 69, "on days 61 and 69"),
        ("imaging", "no_infiltration", "ct_chest", 96, "no infiltration shadows on day 96"),
        ("finding", "stool_normal", None, 91, "became normal on day 91"),
        ("finding", "low", "haptoglobin", 64, "continuous low haptoglobin below the cut off"),
        ("finding", "elevated", "kl6", 50, "elevation of serum KL-6"),
        ("cardiac_dysfunction", "false", None, 73, "Cardiac dysfunction, renal failure"),
        ("acute_renal_failure", "false", None, 73, "renal failure, and iatrogenic"),
        ("fluid_overload", "false", None, 73, "iatrogenic fluid overload were absent"),
        ("infection_workup", "sputum_negative", "multiplex_pcr", 73, "negative in sputum"),
        ("infection_workup", "negative", "cmv_pcr", 73, "cytomegalovirus"),
        ("infection_workup", "negative", "pjp_pcr", 73, "Pneumocystis jirovecii"),
        ("infection_workup", "negative", "sars_cov_2_pcr", 73, "SARS-CoV-2"),
        ("infection_workup", "not_elevated", "beta_d_glucan", 73, "Beta-d-glucan was not elevated"),
    ],
)  # fmt: skip
def test_assessments_match_their_quotes(
    tl: Timeline, kind: str, value: str, code: str | None, day: int, quote: str
) -> None:
    hits = [a for _, a in tl.assessments_of(kind)
            if a.value == value and a.code == code and _day(tl, a.time) == day]  # fmt: skip
    assert len(hits) == 1, (kind, value, code, day)
    assert quote in (hits[0].provenance or "")
