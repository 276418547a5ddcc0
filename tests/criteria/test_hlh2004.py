"""HLH-2004 (Henter 2007, Table 1 via Jordan 2011 Table 2; ../shared/reference/criteria.md §1)."""

from __future__ import annotations

import pytest

from ruxtrack.criteria import Conclusion, Status, evaluate

# Every edge on both sides. Source: Henter 2007 Table 1 — Hb <90 g/L (<100 g/L under 4 weeks),
# platelets <100 x10^9/L, neutrophils <1.0 x10^9/L (all strict); TG >=3.0 mmol/L;
# fibrinogen <=1.5 g/L; ferritin >=500 ug/L; sCD25 >=2400 U/mL.
LAB_EDGES = [
    ("ferritin", "499.9 ug/L", Status.not_met),
    ("ferritin", "500 ug/L", Status.met),  # ">=500": some reviews write ">500"; Henter uses >=
    ("ferritin", "500 ng/mL", Status.met),  # 1 ng/mL = 1 ug/L
    ("sil2r_units", "2399 U/mL", Status.not_met),
    ("sil2r_units", "2400 U/mL", Status.met),
]


@pytest.mark.parametrize(("key", "value", "status"), LAB_EDGES)
def test_single_lab_criteria_edges(key: str, value: str, status: Status) -> None:
    e = evaluate("hlh2004", {key: value})
    name = {"ferritin": "ferritin", "sil2r_units": "soluble_cd25"}[key]
    assert e.component(name).status is status


TG_FIB_EDGES = [
    ({"tg": "2.99 mmol/L", "fibrinogen": "1.6 g/L"}, Status.not_met),
    ({"tg": "3.0 mmol/L"}, Status.met),
    ({"tg": "265 mg/dL", "fibrinogen": "2 g/L"}, Status.not_met),  # 265 mg/dL = 2.99 mmol/L
    ({"fibrinogen": "1.5 g/L"}, Status.met),
    ({"fibrinogen": "150 mg/dL"}, Status.met),
    ({"fibrinogen": "1.51 g/L", "tg": "1 mmol/L"}, Status.not_met),
    ({"fibrinogen": "1.51 g/L"}, Status.unknown),  # TG unknown could still meet it
    ({"tg": "1 mmol/L"}, Status.unknown),
]


@pytest.mark.parametrize(("inputs", "status"), TG_FIB_EDGES)
def test_triglyceride_or_fibrinogen_edges(inputs: dict[str, str], status: Status) -> None:
    e = evaluate("hlh2004", inputs)
    assert e.component("hypertriglyceridemia_or_hypofibrinogenemia").status is status


CYTOPENIA = [
    ({"hb": "89.9 g/L", "plt": "99 10*9/L"}, Status.met),
    ({"hb": "90 g/L", "plt": "99 10*9/L", "anc": "1.0 10*9/L", "age_years": 30}, Status.not_met),
    # Hb 90-99 g/L with the age unknown: an infant under 4 weeks would meet <100 g/L
    ({"hb": "90 g/L", "plt": "99 10*9/L", "anc": "1.0 10*9/L"}, Status.unknown),
    ({"hb": "9.0 g/dL", "plt": "100 10*9/L"}, Status.unknown),  # ANC unknown could make 2
    ({"plt": "99.9 10*9/L", "anc": "0.99 10*9/L"}, Status.met),
    ({"plt": "100 10*9/L", "anc": "1.0 10*9/L"}, Status.not_met),
    ({"anc": "<0.5 10*9/L", "plt": "<50 10*9/L"}, Status.met),  # censored, still decisive
    ({"anc": ">0.5 10*9/L", "plt": "40 10*9/L", "hb": "100 g/L"}, Status.unknown),
    # infants under 4 weeks: Hb <100 g/L; 28 days is not "<4 weeks"
    ({"hb": "95 g/L", "plt": "50 10*9/L", "anc": "2 10*9/L", "age_days": 27}, Status.met),
    ({"hb": "95 g/L", "plt": "50 10*9/L", "anc": "2 10*9/L", "age_days": 28}, Status.not_met),
    ({"hb": "95 g/L", "plt": "50 10*9/L", "anc": "2 10*9/L"}, Status.unknown),
    ({"hb": "100 g/L", "plt": "50 10*9/L", "anc": "2 10*9/L", "age_days": 10}, Status.not_met),
]


@pytest.mark.parametrize(("inputs", "status"), CYTOPENIA)
def test_cytopenias_two_of_three_lineages(inputs: dict[str, object], status: Status) -> None:
    assert evaluate("hlh2004", inputs).component("cytopenias").status is status


def test_fever_from_temperature_only_meets_never_excludes() -> None:
    hot = evaluate("hlh2004", {"temp": "38.5 Cel"}).component("fever")
    cool = evaluate("hlh2004", {"temp": "38.4 Cel"}).component("fever")
    assert hot.status is Status.met and "no threshold" in (hot.note or "")
    assert cool.status is Status.unknown  # one afebrile reading does not exclude fever
    assert evaluate("hlh2004", {"fever": False}).component("fever").status is Status.not_met


FINDINGS = ["fever", "splenomegaly", "hemophagocytosis", "nk_activity_low"]


def _inputs(met: int, unknown: int) -> dict[str, object]:
    """``met`` criteria true, ``unknown`` absent, the rest explicitly negative."""
    keys = [*FINDINGS, "ferritin", "sil2r_units", "tg", "cyto"]
    yes = {"ferritin": "800 ug/L", "sil2r_units": "3000 U/mL", "tg": "4 mmol/L"}
    no = {"ferritin": "100 ug/L", "sil2r_units": "500 U/mL", "tg": "1 mmol/L"}
    out: dict[str, object] = {}
    for i, k in enumerate(keys):
        if i >= met + unknown:
            state = "no"
        elif i >= met:
            continue
        else:
            state = "yes"
        if k == "cyto":
            out.update(
                {"hb": "80 g/L", "plt": "50 10*9/L", "anc": "2 10*9/L"}
                if state == "yes"
                else {"hb": "120 g/L", "plt": "200 10*9/L", "anc": "2 10*9/L"}
            )
        elif k == "tg":
            out["tg"] = yes["tg"] if state == "yes" else no["tg"]
            out["fibrinogen"] = "3 g/L"
        elif k in yes:
            out[k] = yes[k] if state == "yes" else no[k]
        else:
            out[k] = state == "yes"
    return out


# The examples: 3 met + 2 unknown -> undecidable; 5 met -> established whatever the
# unknowns; 2 met + 2 unknown -> excluded (at most 4 of 8).
@pytest.mark.parametrize(
    ("met", "unknown", "conclusion"),
    [
        (3, 2, Conclusion.undecidable),
        (5, 3, Conclusion.established),
        (5, 0, Conclusion.established),
        (2, 2, Conclusion.excluded),
        (4, 0, Conclusion.excluded),
        (4, 1, Conclusion.undecidable),
        (0, 8, Conclusion.undecidable),
    ],
)
def test_conclusion_counts(met: int, unknown: int, conclusion: Conclusion) -> None:
    e = evaluate("hlh2004", _inputs(met, unknown))
    assert (e.total, e.count(Status.unknown)) == (met, unknown)
    assert e.conclusion is conclusion


def test_molecular_diagnosis_establishes_alone() -> None:
    e = evaluate("hlh2004", {"molecular_diagnosis": True, "fever": False})
    assert e.conclusion is Conclusion.established
    assert e.component("molecular_diagnosis").counted is False


def test_stated_pancytopenia_meets_cytopenias_as_stated_not_computed() -> None:
    c = evaluate("hlh2004", {"pancytopenia": True}).component("cytopenias")
    assert c.status is Status.met
    assert c.basis == "stated finding"
    assert "not computed" in (c.note or "")


def test_stated_pancytopenia_against_normal_counts_raises_an_alert() -> None:
    e = evaluate(
        "hlh2004", {"pancytopenia": True, "hb": "130 g/L", "plt": "250 10*9/L", "anc": "4 10*9/L"}
    )
    assert e.component("cytopenias").status is Status.met
    assert any("stated" in a for a in e.alerts)


def test_seed_000_paper_statement_evaluates_to_six_of_eight() -> None:
    # Tomomasa 2021: fever, splenomegaly, pancytopenia, TG max 5180 mg/dL, haemophagocytosis
    # in marrow, ferritin max 17,509 ng/mL; NK activity and sCD25 not reported.
    e = evaluate(
        "hlh2004",
        {
            "fever": True,
            "splenomegaly": True,
            "pancytopenia": True,
            "tg": "5180 mg/dL",
            "hemophagocytosis": True,
            "ferritin": "17509 ng/mL",
        },
    )
    assert (e.total, e.count(Status.unknown), e.conclusion) == (6, 2, Conclusion.established)
    assert {c.name for c in e.components if c.counted and c.status is Status.unknown} == {
        "nk_activity_low",
        "soluble_cd25",
    }
