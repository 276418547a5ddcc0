"""CTCAE v5.0 laboratory terms (NCI CTCAE v5.0, 27 Nov 2017; grade text as in pharmaverse/admiral
ncictcaev5.json; ../shared/reference/criteria.md §3)."""

from __future__ import annotations

import pytest

from ruxtrack.criteria import Conclusion, CriterionInputError, Status, evaluate


def grade(term: str, inputs: dict[str, object]) -> tuple[int | None, object]:
    c = evaluate("ctcae", {"term": term, **inputs}).component(term)
    return c.grade, c.range


# "<A-B" bands of decreased terms: below A and >= B. LLN given so G0/G1 can be told apart.
# Source: CTCAE v5.0, Investigations / Blood and lymphatic system disorders.
DECREASED = [
    # neutrophils: G1 <LLN-1.5, G2 <1.5-1.0, G3 <1.0-0.5, G4 <0.5 (x10^9/L). ANC exactly 1.0 is
    # G2, not G3 (a popular collection is one grade off); techoverflow's "<=1500" for G1 is wrong.
    ("neutrophil_count_decreased", "anc", "1.8 10*9/L", 0),
    ("neutrophil_count_decreased", "anc", "1.79 10*9/L", 1),
    ("neutrophil_count_decreased", "anc", "1.5 10*9/L", 1),
    ("neutrophil_count_decreased", "anc", "1.49 10*9/L", 2),
    ("neutrophil_count_decreased", "anc", "1.0 10*9/L", 2),
    ("neutrophil_count_decreased", "anc", "0.99 10*9/L", 3),
    ("neutrophil_count_decreased", "anc", "500 /uL", 3),
    ("neutrophil_count_decreased", "anc", "499 /uL", 4),
    ("platelet_count_decreased", "plt", "75 10*9/L", 1),
    ("platelet_count_decreased", "plt", "74.9 10*9/L", 2),
    ("platelet_count_decreased", "plt", "50 10*9/L", 2),
    ("platelet_count_decreased", "plt", "49.9 10*9/L", 3),
    ("platelet_count_decreased", "plt", "25 10*9/L", 3),
    ("platelet_count_decreased", "plt", "24.9 10*9/L", 4),
    ("white_blood_cell_decreased", "wbc", "3.0 10*9/L", 1),
    ("white_blood_cell_decreased", "wbc", "2.99 10*9/L", 2),
    ("white_blood_cell_decreased", "wbc", "2.0 10*9/L", 2),
    ("white_blood_cell_decreased", "wbc", "1.99 10*9/L", 3),
    ("white_blood_cell_decreased", "wbc", "1.0 10*9/L", 3),
    ("white_blood_cell_decreased", "wbc", "0.99 10*9/L", 4),
    ("lymphocyte_count_decreased", "lymph", "0.8 10*9/L", 1),
    ("lymphocyte_count_decreased", "lymph", "0.79 10*9/L", 2),
    ("lymphocyte_count_decreased", "lymph", "0.5 10*9/L", 2),
    ("lymphocyte_count_decreased", "lymph", "0.49 10*9/L", 3),
    ("lymphocyte_count_decreased", "lymph", "0.2 10*9/L", 3),
    ("lymphocyte_count_decreased", "lymph", "0.19 10*9/L", 4),
    # anemia: G1 <LLN-100 g/L, G2 <100-80, G3 <80; Hb exactly 8.0 g/dL is G2; a lab value caps at G3
    ("anemia", "hb", "100 g/L", 1),
    ("anemia", "hb", "9.99 g/dL", 2),
    ("anemia", "hb", "8.0 g/dL", 2),
    ("anemia", "hb", "79.9 g/L", 3),
    ("anemia", "hb", "40 g/L", 3),
]
LLN = {
    "anc": "1.8 10*9/L",
    "plt": "150 10*9/L",
    "wbc": "4.0 10*9/L",
    "lymph": "1.0 10*9/L",
    "hb": "120 g/L",
}


@pytest.mark.parametrize(("term", "code", "value", "expected"), DECREASED)
def test_decreased_terms_edges(term: str, code: str, value: str, expected: int) -> None:
    assert grade(term, {code: value, f"{code}_lln": LLN[code]}) == (expected, None)


def test_without_lln_grade_0_and_1_cannot_be_told_apart() -> None:
    assert grade("neutrophil_count_decreased", {"anc": "1.6 10*9/L"}) == (None, (0, 1))
    assert grade("neutrophil_count_decreased", {"anc": "1.4 10*9/L"}) == (2, None)


# ">A-B x ULN": above A and <= B. Bilirubin 1.5xULN is G1; AST 3xULN is G1, 20xULN G3;
# creatinine 6xULN G3. Baseline given and normal, so the ULN-based definitions apply.
INCREASED = [
    ("blood_bilirubin_increased", "bili_total", 20, 20, 0),
    ("blood_bilirubin_increased", "bili_total", 20.1, 20, 1),
    ("blood_bilirubin_increased", "bili_total", 30, 20, 1),
    ("blood_bilirubin_increased", "bili_total", 30.1, 20, 2),
    ("blood_bilirubin_increased", "bili_total", 60, 20, 2),
    ("blood_bilirubin_increased", "bili_total", 60.1, 20, 3),
    ("blood_bilirubin_increased", "bili_total", 200, 20, 3),
    ("blood_bilirubin_increased", "bili_total", 200.1, 20, 4),
    ("ast_increased", "ast", 40, 40, 0),
    ("ast_increased", "ast", 41, 40, 1),
    ("ast_increased", "ast", 120, 40, 1),
    ("ast_increased", "ast", 121, 40, 2),
    ("ast_increased", "ast", 200, 40, 2),
    ("ast_increased", "ast", 201, 40, 3),
    ("ast_increased", "ast", 800, 40, 3),
    ("ast_increased", "ast", 801, 40, 4),
    ("alt_increased", "alt", 120, 40, 1),
    ("alt_increased", "alt", 121, 40, 2),
    ("alt_increased", "alt", 800, 40, 3),
    ("alt_increased", "alt", 801, 40, 4),
    ("creatinine_increased", "creat", 100, 100, 0),
    ("creatinine_increased", "creat", 101, 100, 1),
    ("creatinine_increased", "creat", 150, 100, 1),
    ("creatinine_increased", "creat", 151, 100, 2),
    ("creatinine_increased", "creat", 300, 100, 2),
    ("creatinine_increased", "creat", 301, 100, 3),
    ("creatinine_increased", "creat", 600, 100, 3),
    ("creatinine_increased", "creat", 601, 100, 4),
]
UNITS = {"bili_total": "umol/L", "ast": "U/L", "alt": "U/L", "creat": "umol/L"}


@pytest.mark.parametrize(("term", "code", "value", "uln", "expected"), INCREASED)
def test_increased_terms_edges_with_normal_baseline(
    term: str, code: str, value: float, uln: float, expected: int
) -> None:
    u = UNITS[code]
    # creatinine's baseline criteria (>1.5-3.0 x baseline) never exceed the ULN grade here:
    # baseline = ULN makes the two ratios equal
    inputs = {code: f"{value} {u}", f"{code}_uln": f"{uln} {u}", f"{code}_baseline": f"{uln} {u}"}
    assert grade(term, inputs) == (expected, None)


def test_exact_arithmetic_bilirubin_1_8_over_uln_1_2_is_grade_1() -> None:
    # 1.5 x 1.2 is 1.7999... in binary floats: bilirubin 1.8 mg/dL must still be G1 (criteria.md)
    inputs = {
        "bili_total": "1.8 mg/dL",
        "bili_total_uln": "1.2 mg/dL",
        "bili_total_baseline": "0.5 mg/dL",
    }
    assert grade("blood_bilirubin_increased", inputs) == (1, None)
    inputs_si = {
        "bili_total": "30.78 umol/L",
        "bili_total_uln": "20.52 umol/L",
        "bili_total_baseline": "10 umol/L",
    }
    assert grade("blood_bilirubin_increased", inputs_si) == (1, None)


# Abnormal baseline (above ULN): bilirubin >1.0-1.5 x baseline G1 ...; AST/ALT 1.5-3.0 x baseline
# G1 (inclusive at 1.5; between baseline and 1.5 x baseline there is no grade, as in admiral).
BASELINE = [
    ("blood_bilirubin_increased", "bili_total", 40, 0),
    ("blood_bilirubin_increased", "bili_total", 40.1, 1),
    ("blood_bilirubin_increased", "bili_total", 60, 1),
    ("blood_bilirubin_increased", "bili_total", 60.1, 2),
    ("ast_increased", "ast", 59, 0),
    ("ast_increased", "ast", 60, 1),
    ("ast_increased", "ast", 120, 1),
    ("ast_increased", "ast", 121, 2),
    ("ast_increased", "ast", 800, 3),
    ("ast_increased", "ast", 801, 4),
]


@pytest.mark.parametrize(("term", "code", "value", "expected"), BASELINE)
def test_abnormal_baseline_grades_against_baseline(
    term: str, code: str, value: float, expected: int
) -> None:
    u = UNITS[code]
    uln, base = (20, 40) if code == "bili_total" else (30, 40)
    inputs = {code: f"{value} {u}", f"{code}_uln": f"{uln} {u}", f"{code}_baseline": f"{base} {u}"}
    assert grade(term, inputs) == (expected, None)


def test_baseline_unknown_leaves_the_grade_open_up_to_the_uln_grade() -> None:
    assert grade("ast_increased", {"ast": "130 U/L", "ast_uln": "40 U/L"}) == (None, (0, 2))
    assert grade("ast_increased", {"ast": "30 U/L", "ast_uln": "40 U/L"}) == (0, None)


def test_creatinine_takes_the_worse_of_uln_and_baseline_grade() -> None:
    # within normal limits but 2 x baseline: G2 by the baseline criterion (>1.5-3.0 x baseline)
    inputs = {"creat": "90 umol/L", "creat_uln": "100 umol/L", "creat_baseline": "45 umol/L"}
    assert grade("creatinine_increased", inputs) == (2, None)
    inputs["creat_baseline"] = "29.9 umol/L"  # >3.0 x baseline -> G3
    assert grade("creatinine_increased", inputs) == (3, None)
    # no baseline: the baseline criteria could still raise it to G3
    assert grade("creatinine_increased", {"creat": "90 umol/L", "creat_uln": "100 umol/L"}) == (
        None,
        (0, 3),
    )


def test_missing_value_is_unknown_never_grade_0() -> None:
    c = evaluate("ctcae", {"term": "anemia"}).component("anemia")
    assert (c.status, c.grade, c.range) == (Status.unknown, None, (0, 4))


def test_stated_grade_counts_and_is_labelled() -> None:
    c = evaluate("ctcae", {"term": "anemia", "anemia_stated_grade": 4, "hb": "70 g/L"}).component(
        "anemia"
    )
    assert c.grade == 4 and c.basis == "stated by clinician"
    assert "stated by clinician" in str(c.value)


def test_worst_grade_and_conclusion() -> None:
    e = evaluate("ctcae", {"anc": "0.8 10*9/L", "plt": "30 10*9/L", "hb": "75 g/L"})
    assert e.value is None and e.value_range == (3, 4)  # ungraded terms could be worse
    assert e.conclusion is Conclusion.established
    normal = {"anc": "4 10*9/L", "anc_lln": "1.8 10*9/L", "term": "neutrophil_count_decreased"}
    assert evaluate("ctcae", normal).conclusion is Conclusion.excluded


def test_censored_reference_limit_is_refused_naming_the_key() -> None:
    with pytest.raises(CriterionInputError, match="ast_uln"):
        evaluate("ctcae", {"ast": "100 U/L", "ast_uln": "<40 U/L"})
