"""US Jakafi and EU Jakavi GVHD tables, row by row on both sides of every threshold.

Each case cites the label section and the row of ../shared/reference/ruxolitinib.md it encodes.
Inputs are ad hoc: an adult on 10 mg BID, bilirubin given as a multiple of a 1.0 mg/dL ULN.
"""

from __future__ import annotations

from typing import Any

import pytest

from ruxtrack.protocol import adhoc_inputs, decide_inputs, load_regimen

BASE: dict[str, Any] = {
    "current_dose": "10 mg BID",
    "platelets": 150,
    "anc": 3.0,
    "bilirubin": 0.5,
    "bilirubin_uln": 1.0,
    "crcl": 90,
    "age": 40,
}


def run(regimen: str, **kw: Any) -> tuple[str, float]:
    reg = load_regimen(regimen)
    d = decide_inputs(reg, adhoc_inputs(reg, **{**BASE, **kw}))
    return d.action, d.daily_total_mg


US_A = "jakafi-us-agvhd"
US_C = "jakafi-us-cgvhd"
EU = ("jakavi-eu-agvhd", "jakavi-eu-cgvhd")

CASES: list[tuple[str, str, dict[str, Any], str, float]] = [
    # US aGVHD, Table 7 [U] (A7b-A7f), Table 10 [C] (A8-A10), A13/A14
    (US_A, "A7b ANC < 1.0 holds", {"anc": 0.99}, "hold", 0),
    (US_A, "A7b ANC 1.0 is not < 1.0", {"anc": 1.0}, "continue", 20),
    (US_A, "A7c bili 2.99 xULN no rule", {"bilirubin": 2.99}, "continue", 20),
    (US_A, "A7c bili 3.0 xULN one level lower", {"bilirubin": 3.0}, "reduce", 10),
    (US_A, "A7c bili 5.0 xULN one level lower", {"bilirubin": 5.0}, "reduce", 10),
    (US_A, "A7d bili 5.01 xULN hold", {"bilirubin": 5.01}, "hold", 0),
    (US_A, "A7d bili 10.0 xULN hold", {"bilirubin": 10.0}, "hold", 0),
    (US_A, "A7e bili 10.01 xULN hold", {"bilirubin": 10.01}, "hold", 0),
    (
        US_A,
        "A7f liver GVHD bili 3.0 xULN (> 3.0 strict)",
        {"bilirubin": 3.0, "liver_gvhd": True},
        "continue",
        20,
    ),
    (US_A, "A7f liver GVHD bili 3.01 xULN", {"bilirubin": 3.01, "liver_gvhd": True}, "reduce", 10),
    (US_A, "A11 CLcr 60 no adjustment", {"crcl": 60}, "continue", 20),
    (US_A, "A8 CLcr 59.9 -> 5 mg QD", {"crcl": 59.9}, "reduce", 5),
    (US_A, "A8 CLcr 15 -> 5 mg QD", {"crcl": 15}, "reduce", 5),
    (US_A, "A10 CLcr 14.9 no dialysis: avoid", {"crcl": 14.9}, "discontinue", 0),
    (
        US_A,
        "A9 CLcr 14.9 on dialysis: 5 mg after dialysis",
        {"crcl": 14.9, "dialysis": True},
        "reduce",
        5,
    ),
    (US_A, "A13 posaconazole: monitor only", {"drugs": ["posaconazole:300mg/day"]}, "continue", 20),
    (
        US_A,
        "A14 fluconazole 400 mg: aGVHD exception",
        {"drugs": ["fluconazole:400mg/day"]},
        "continue",
        20,
    ),
    (US_A, "A2 start 5 mg BID", {"current_dose": None}, "start", 10),
    (US_A, "A1 below 12 years", {"current_dose": None, "age": 11.9}, "not_eligible", 0),
    # US cGVHD, Table 8 [C2] (B5-B7), bilirubin [U] (B8), Table 10 [C] (B9-B11), B12-B13
    (US_C, "B5 platelets 19.9 one level lower", {"platelets": 19.9}, "reduce", 10),
    (US_C, "B5 platelets 20 no rule", {"platelets": 20}, "continue", 20),
    (US_C, "B6 ANC 0.74 one level lower", {"anc": 0.74}, "reduce", 10),
    (US_C, "B6 ANC 0.75 no rule", {"anc": 0.75}, "continue", 20),
    (US_C, "B7a ANC 0.5 reduce, not hold", {"anc": 0.5}, "reduce", 10),
    (US_C, "B7 ANC 0.49 hold", {"anc": 0.49}, "hold", 0),
    (US_C, "B8 bili 3.0 xULN one level lower", {"bilirubin": 3.0}, "reduce", 10),
    (US_C, "B8 bili 5.01 xULN hold", {"bilirubin": 5.01}, "hold", 0),
    (US_C, "B8 bili 10.01 xULN hold", {"bilirubin": 10.01}, "hold", 0),
    (US_C, "B9 CLcr 59.9 -> 5 mg BID", {"crcl": 59.9}, "reduce", 10),
    (US_C, "B9 CLcr 60 no adjustment", {"crcl": 60}, "continue", 20),
    (
        US_C,
        "B10 ESRD on dialysis: 10 mg after dialysis",
        {"crcl": 10, "dialysis": True},
        "reduce",
        10,
    ),
    (US_C, "B11 CLcr 14.9 no dialysis: avoid", {"crcl": 14.9}, "discontinue", 0),
    (
        US_C,
        "B12 fluconazole 200 mg/day -> 5 mg BID",
        {"drugs": ["fluconazole:200mg/day"]},
        "reduce",
        10,
    ),
    (
        US_C,
        "B13 fluconazole 201 mg/day: avoid the combination",
        {"drugs": ["fluconazole:201mg/day"]},
        "no_recommendation",
        0,
    ),
    (US_C, "B14 voriconazole: monitor only", {"drugs": ["voriconazole:400mg/day"]}, "continue", 20),
    (US_C, "B2 start 10 mg BID", {"current_dose": None, "age": 12}, "start", 20),
]
for eu in EU:
    CASES += [
        (eu, "E9 platelets 14.9 hold", {"platelets": 14.9}, "hold", 0),
        (eu, "E8 platelets 15 one level lower", {"platelets": 15}, "reduce", 10),
        (eu, "E8 platelets 19.9 one level lower", {"platelets": 19.9}, "reduce", 10),
        (eu, "E8 platelets 20 no rule", {"platelets": 20}, "continue", 20),
        (eu, "E11 ANC 0.49 hold", {"anc": 0.49}, "hold", 0),
        (eu, "E10 ANC 0.5 one level lower", {"anc": 0.5}, "reduce", 10),
        (eu, "E10 ANC 0.74 one level lower", {"anc": 0.74}, "reduce", 10),
        (eu, "E10 ANC 0.75 no rule", {"anc": 0.75}, "continue", 20),
        (eu, "E12 bili 3.0 xULN no rule (> 3.0 strict)", {"bilirubin": 3.0}, "continue", 20),
        (eu, "E12 bili 3.01 xULN one level lower", {"bilirubin": 3.01}, "reduce", 10),
        (eu, "E12 bili 5.0 xULN one level lower", {"bilirubin": 5.0}, "reduce", 10),
        (eu, "E12 bili 5.01 xULN hold", {"bilirubin": 5.01}, "hold", 0),
        (eu, "E12 bili 10.01 xULN hold", {"bilirubin": 10.01}, "hold", 0),
        (
            eu,
            "E13 liver GvHD bili 3.01 xULN",
            {"bilirubin": 3.01, "liver_gvhd": True},
            "reduce",
            10,
        ),
        (eu, "E15 posaconazole: ~50%", {"drugs": ["posaconazole:300mg/day"]}, "reduce", 10),
        (
            eu,
            "E15 fluconazole 200: option only",
            {"drugs": ["fluconazole:200mg/day"]},
            "continue",
            20,
        ),
        (
            eu,
            "E15 fluconazole 201: avoid",
            {"drugs": ["fluconazole:201mg/day"]},
            "no_recommendation",
            0,
        ),
        (eu, "E16 CrCl 29.9: ~50%", {"crcl": 29.9}, "reduce", 10),
        (eu, "E16 CrCl 30 no rule", {"crcl": 30}, "continue", 20),
        (
            eu,
            "E16 haemodialysis: not verified",
            {"crcl": 10, "dialysis": True},
            "no_recommendation",
            0,
        ),
        (eu, "E2 start 12 y: 10 mg BID", {"current_dose": None, "age": 12}, "start", 20),
        (eu, "E3 start 11.9 y: 5 mg BID", {"current_dose": None, "age": 11.9}, "start", 10),
        (eu, "E3 start 6 y: 5 mg BID", {"current_dose": None, "age": 6}, "start", 10),
        (eu, "E3 6-<12 y on 10 mg BID: above the band", {"age": 10}, "reduce", 10),
    ]


@pytest.mark.parametrize(
    ("regimen", "row", "kw", "action", "total"), CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES]
)
def test_label_row(regimen: str, row: str, kw: dict[str, Any], action: str, total: float) -> None:
    assert run(regimen, **kw) == (action, total)


def test_unverified_rows_say_so_in_the_rationale() -> None:
    """A rule resting on a [U] fact says 'unverified' in every rationale it produces."""
    reg = load_regimen(US_A)
    d = decide_inputs(reg, adhoc_inputs(reg, **{**BASE, "anc": 0.9}))
    entry = next(r for r in d.rationale if r.rule == "anc_below_1")
    assert entry.status.value == "unverified" and "UNVERIFIED" in entry.text


def test_eu_paediatric_bsa_start_needs_weight_and_height() -> None:
    """E4: 28 days to < 6 years: 8 mg/m2 BID (needs the BSA)."""
    reg = load_regimen("jakavi-eu-agvhd")
    d = decide_inputs(reg, adhoc_inputs(reg, **{**BASE, "current_dose": None, "age": 3}))
    assert d.action == "no_recommendation"
    assert any("surface area" in a.text for a in d.alerts)


@pytest.mark.parametrize(
    ("regimen", "age", "action"),
    [("jakavi-eu-agvhd", 27 / 365.25, "not_eligible"), ("jakavi-eu-cgvhd", 0.49, "not_eligible")],
)
def test_eu_youngest_ages(regimen: str, age: float, action: str) -> None:
    """E1: aGvHD from 28 days, cGvHD from 6 months."""
    assert run(regimen, current_dose=None, age=age)[0] == action


def test_unknown_liver_gvhd_blocks_when_bilirubin_is_high() -> None:
    """Bilirubin > 5 x ULN: the row depends on liver GVHD; unknown is never read as 'no'."""
    reg = load_regimen(US_A)
    d = decide_inputs(reg, adhoc_inputs(reg, **{**BASE, "bilirubin": 6, "liver_gvhd": None}))
    assert d.action == "no_recommendation"
    assert any("liver_gvhd" in a.text for a in d.alerts)
