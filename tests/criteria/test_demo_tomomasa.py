"""Acceptance on the real demo data ``tomomasa-2021`` (seed 000, Tomomasa et al. 2021)."""

from __future__ import annotations

import pytest

from ruxtrack.criteria import Conclusion, Status, evaluate_timeline
from ruxtrack.demo import demo_dataset
from ruxtrack.sources import read_folder
from ruxtrack.timeline import Timeline


@pytest.fixture(scope="module")
def tomomasa() -> Timeline:
    [tl] = read_folder(demo_dataset("tomomasa-2021"))
    return tl


def test_hlh2004_established_with_six_of_eight_and_two_unknown(tomomasa: Timeline) -> None:
    # "Six of the eight HLH 2004 diagnostic criteria were fulfilled, namely, fever, splenomegaly,
    # pancytopenia, hypertriglyceridemia ..., hemophagocytic lymphocytes in bone marrow, and
    # hyperferritinemia"
    e = evaluate_timeline("hlh2004", tomomasa, at="hsct#2+74d")
    met = {c.name for c in e.components if c.counted and c.status is Status.met}
    unknown = {c.name for c in e.components if c.counted and c.status is Status.unknown}
    assert met == {
        "fever",
        "splenomegaly",
        "cytopenias",
        "hypertriglyceridemia_or_hypofibrinogenemia",
        "hemophagocytosis",
        "ferritin",
    }
    assert unknown == {"nk_activity_low", "soluble_cd25"}
    assert e.total == 6 and e.conclusion is Conclusion.established
    assert e.component("cytopenias").basis == "stated finding"
    # the demo records the authors' count (hlh2004_criteria_met = 6): compared, never used
    assert "stated 6 of 8 criteria met; computed 6 (+2 unknown)" in e.alerts


def test_ctcae_grade_3_cytopenias_up_to_the_day_131_dose_reduction(tomomasa: Timeline) -> None:
    # "Neutropenia (grade 3), anemia (grade 3), and thrombocytopenia (grade 3) were manageable by
    # reduction in ruxolitinib to 5 mg/day on day 131" (recorded on day 131 in the demo data)
    e = evaluate_timeline("ctcae", tomomasa, window=("hsct#2+74d", "hsct#2+131d"), mode="worst")
    for term in ("neutrophil_count_decreased", "anemia", "platelet_count_decreased"):
        c = e.component(term)
        assert (c.grade, c.status, c.basis) == (3, Status.met, "stated by clinician"), term
    assert e.conclusion is Conclusion.established


def test_ips_without_bal_is_undecidable(tomomasa: Timeline) -> None:
    # BAL "could not be applied": criterion II stays unknown, never met (criteria.md §5)
    e = evaluate_timeline("ips", tomomasa, at="hsct#2+74d")
    assert e.component("infection_excluded").status is Status.unknown
    assert e.conclusion is Conclusion.undecidable
