"""HScore (Fardet 2014; table via PMC7589537 Table 4; ../shared/reference/criteria.md §2)."""

from __future__ import annotations

import pytest

from ruxtrack.criteria import Conclusion, Status, evaluate

# Bin edges on both sides, points per Fardet 2014 (PMC7589537 Table 4): temperature <38.4 /
# 38.4-39.4 / >39.4 -> 0/33/49; ferritin <2000 / 2000-6000 / >6000 -> 0/35/50;
# TG <1.5 / 1.5-4 / >4 mmol/L -> 0/44/64; fibrinogen >2.5 -> 0, <=2.5 -> 30;
# AST <30 -> 0, >=30 -> 19.
EDGES = [
    ("temp", "38.39 Cel", 0),
    ("temp", "38.4 Cel", 33),
    ("temp", "39.4 Cel", 33),
    ("temp", "39.41 Cel", 49),
    ("ferritin", "1999 ug/L", 0),
    ("ferritin", "2000 ng/mL", 35),
    ("ferritin", "6000 ug/L", 35),
    ("ferritin", "6001 ug/L", 50),
    ("tg", "1.49 mmol/L", 0),
    ("tg", "1.5 mmol/L", 44),
    ("tg", "4 mmol/L", 44),
    ("tg", "4.01 mmol/L", 64),
    ("fibrinogen", "2.51 g/L", 0),
    ("fibrinogen", "2.5 g/L", 30),
    ("fibrinogen", "250 mg/dL", 30),
    ("ast", "29 U/L", 0),
    ("ast", "30 U/L", 19),
]


@pytest.mark.parametrize(("key", "value", "points"), EDGES)
def test_bin_edges(key: str, value: str, points: int) -> None:
    c = evaluate("hscore", {key: value}).component(key)
    assert c.points == points
    assert c.status is (Status.met if points else Status.not_met)


# Cytopenias: Hb <=92 g/L (9.2 g/dL), WBC <=5.0 x10^9/L, platelets <=110 x10^9/L; one lineage 0,
# two 24, three 34. A popular Python collection scores {1: 24, 2: 34, 3: 34} (criteria.md): wrong.
CYTO = [
    ({"hb": "92 g/L", "wbc": "5.1 10*9/L", "plt": "111 10*9/L"}, 0),
    ({"hb": "9.2 g/dL", "wbc": "5.0 10*9/L", "plt": "111 10*9/L"}, 24),
    ({"hb": "92.1 g/L", "wbc": "5.0 10*9/L", "plt": "110 10*9/L"}, 24),
    ({"hb": "92 g/L", "wbc": "5.0 10*9/L", "plt": "110 10*9/L"}, 34),
    ({"hb": "93 g/L", "wbc": "6 10*9/L", "plt": "200 10*9/L"}, 0),
]


@pytest.mark.parametrize(("inputs", "points"), CYTO)
def test_cytopenia_count_points(inputs: dict[str, str], points: int) -> None:
    assert evaluate("hscore", inputs).component("cytopenias").points == points


def test_organomegaly_points_and_range() -> None:
    assert (
        evaluate("hscore", {"hepatomegaly": True, "splenomegaly": True})
        .component("organomegaly")
        .points
        == 38
    )
    assert (
        evaluate("hscore", {"hepatomegaly": False, "splenomegaly": True})
        .component("organomegaly")
        .points
        == 23
    )
    partial = evaluate("hscore", {"hepatomegaly": True}).component("organomegaly")
    assert (partial.points, partial.range, partial.status) == (None, (23, 38), Status.met)


FULL = {
    "known_immunosuppression": True,
    "temp": "39.0 Cel",
    "hepatomegaly": False,
    "splenomegaly": True,
    "hb": "85 g/L",
    "wbc": "2.0 10*9/L",
    "plt": "40 10*9/L",
    "ferritin": "17509 ng/mL",
    "tg": "5180 mg/dL",
    "fibrinogen": "1.2 g/L",
    "ast": "80 U/L",
    "hemophagocytosis": True,
}


def test_total_and_probability_band() -> None:
    e = evaluate("hscore", FULL)
    assert e.total == 18 + 33 + 23 + 34 + 50 + 64 + 30 + 19 + 35
    assert e.conclusion is Conclusion.established
    assert e.probability is not None and e.probability.text == ">99%"
    assert "MDCalc" in e.probability.mapping and e.probability.status == "unverified"


# Probability bands (Fardet abstract [C]: <1% at <=90, >99% at >=250; MDCalc 10-point bands [U]).
BANDS = [
    (90, "<1%"),
    (91, "1%"),
    (160, "25-40%"),
    (161, "40-54%"),
    (169, "40-54%"),
    (170, "40-54%"),
    (171, "54-70%"),
    (240, "98-99%"),
    (241, "99%"),
    (245, "99%"),
    (249, "99%"),
    (250, ">99%"),
]


def _with_total(total: int) -> dict[str, object]:
    """Inputs whose points add up to ``total`` exactly (greedy over the variables)."""
    parts: dict[str, object] = {}
    options = [
        ("tg", [(64, "5 mmol/L"), (44, "2 mmol/L"), (0, "1 mmol/L")]),
        ("ferritin", [(50, "7000 ug/L"), (35, "3000 ug/L"), (0, "100 ug/L")]),
        ("temp", [(49, "40 Cel"), (33, "39 Cel"), (0, "37 Cel")]),
        ("hemophagocytosis", [(35, True), (0, False)]),
        ("fibrinogen", [(30, "2 g/L"), (0, "3 g/L")]),
        ("organomegaly", [(38, (True, True)), (23, (True, False)), (0, (False, False))]),
        ("cytopenias", [(34, 3), (24, 2), (0, 0)]),
        ("ast", [(19, "40 U/L"), (0, "20 U/L")]),
        ("known_immunosuppression", [(18, True), (0, False)]),
    ]

    def search(i: int, left: int) -> bool:
        if i == len(options):
            return left == 0
        key, choices = options[i]
        for pts, val in choices:
            if pts <= left and search(i + 1, left - pts):
                if key == "organomegaly":
                    parts["hepatomegaly"], parts["splenomegaly"] = val  # type: ignore[misc]
                elif key == "cytopenias":
                    n = int(val)  # type: ignore[call-overload]
                    parts.update(
                        {
                            "hb": "80 g/L" if n >= 1 else "130 g/L",
                            "plt": "50 10*9/L" if n >= 2 else "200 10*9/L",
                            "wbc": "2 10*9/L" if n >= 3 else "8 10*9/L",
                        }
                    )
                else:
                    parts[key] = val
                return True
        return False

    assert search(0, total), total
    return parts


@pytest.mark.parametrize(("total", "text"), BANDS)
def test_probability_band_edges(total: int, text: str) -> None:
    e = evaluate("hscore", _with_total(total))
    assert e.total == total
    assert e.probability is not None and e.probability.text == text


def test_cutoff_169_and_unknowns_give_a_range() -> None:
    e = evaluate("hscore", {"tg": "5 mmol/L", "ferritin": "7000 ug/L", "temp": "40 Cel"})
    assert (e.total, e.total_min, e.total_max) == (None, 163, 337)
    assert e.conclusion is Conclusion.undecidable
    e2 = evaluate("hscore", {**_with_total(169)})
    assert e2.conclusion is Conclusion.established
    e3 = evaluate("hscore", {**_with_total(168)})
    assert e3.conclusion is Conclusion.excluded
