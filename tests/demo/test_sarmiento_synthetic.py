"""The packaged 18-patient synthetic cohort: regenerated, not hand-edited; the paper's structure."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from ruxtrack.demo import demo_dataset
from ruxtrack.sources import read_folder
from ruxtrack.synth import MANIFEST
from ruxtrack.synth.make_demo import DEMO_SEED, build_demo
from ruxtrack.timeline import Timeline

FILES = ("patients", "events", "observations", "drugs", "support", "assessments")
FOLDER = demo_dataset("sarmiento-2021-synthetic")


@pytest.fixture(scope="module")
def cohort() -> list[Timeline]:
    return read_folder(FOLDER)


def test_packaged_files_equal_a_fresh_regeneration(tmp_path: Path) -> None:
    build_demo(tmp_path)
    for name in FILES:
        assert (tmp_path / f"{name}.csv").read_bytes() == (FOLDER / f"{name}.csv").read_bytes(), (
            f"{name}.csv differs: run python -m ruxtrack.synth.make_demo"
        )
    fresh = json.loads((tmp_path / MANIFEST).read_text(encoding="utf-8"))
    packaged = json.loads((FOLDER / MANIFEST).read_text(encoding="utf-8"))
    fresh.pop("ruxtrack_version")
    packaged.pop("ruxtrack_version")
    assert fresh == packaged
    assert packaged["seed"] == DEMO_SEED and packaged["structure"] == "exact"


def _assessment(t: Timeline, kind: str) -> list[str]:
    return [a.value for _, a in t.assessments_of(kind)]


def test_group_structure_is_the_papers(cohort: list[Timeline]) -> None:
    assert [t.patient.patient_id for t in cohort] == [f"SYN-{i:03d}" for i in range(1, 19)]
    assert all(t.patient.synthetic for t in cohort)
    groups = Counter(_assessment(t, "response_group")[0] for t in cohort)
    assert groups == {"complete_response": 10, "late_responder": 5, "progression": 3}
    assert Counter(t.patient.sex.value for t in cohort) == {"male": 15, "female": 3}


def test_conditions_and_prior_treatment_are_table1(cohort: list[Timeline]) -> None:
    conditions = Counter(c.name for t in cohort for c in t.patient.comorbidities)
    assert conditions == {
        "hypertension": 6, "diabetes_mellitus": 8, "asthma": 2, "acute_lymphoblastic_leukemia": 2,
        "hodgkin_lymphoma": 1, "multiple_myeloma": 2, "hairy_cell_leukemia": 1, "obesity": 10,
        "cirrhosis": 1,
    }  # fmt: skip
    assert sum(1 for t in cohort if not t.patient.comorbidities) == 2
    drugs = [{d.drug for d in t.drugs} for t in cohort]
    assert sum("dexamethasone" in d for d in drugs) == 16
    assert sum("tocilizumab" in d for d in drugs) == 4
    assert sum({"dexamethasone", "tocilizumab"} <= d for d in drugs) == 3
    assert sum("ceftriaxone" in d for d in drugs) == 14
    assert sum("hydroxychloroquine" in d for d in drugs) == 1
    assert sum("lopinavir_ritonavir" in d for d in drugs) == 1
    assert Counter(t.patient.blood_group for t in cohort) == {
        "A": 6,
        "B": 3,
        "AB": 2,
        "O": 4,
        None: 3,
    }


def test_outcomes_toxicity_and_links_follow_the_text(cohort: list[Timeline]) -> None:
    by_group: dict[str, list[Timeline]] = {}
    for t in cohort:
        by_group.setdefault(_assessment(t, "response_group")[0], []).append(t)
    prog = by_group["progression"]
    assert all(t.anchor("death") is not None for t in prog)
    assert all(
        t.anchor("death") is None for g, ts in by_group.items() if g != "progression" for t in ts
    )
    prog_conditions = {c.name for t in prog for c in t.patient.comorbidities}
    assert {"hodgkin_lymphoma", "multiple_myeloma"} <= prog_conditions
    reasons = Counter(r for t in cohort for r in _assessment(t, "rux_stop_reason"))
    assert reasons == {
        "transfer to ICU on invasive ventilation: oral route interrupted": 2,
        "platelets <50 x10^9/L: discontinued": 2,
    }
    suspended = [t for t in cohort if _assessment(t, "rux_stop_reason") and
                 _assessment(t, "rux_stop_reason")[0].startswith("platelets")]  # fmt: skip
    assert any(c.name == "cirrhosis" for t in suspended for c in t.patient.comorbidities)
    completed = [t for t in cohort if not _assessment(t, "rux_stop_reason")]
    assert len(completed) == 14  # "14 (77%) patients completed the schedule"
    assert sum(1 for t in cohort if any(o.code == "il6" for o in t.observations)) == 10
