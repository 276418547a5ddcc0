"""Variables added from the second random stream: weight, height, creatinine, eligibility facts.

They only ADD rows: with ``supplement=False`` the generator writes exactly the files of the first
release (the 18-patient demo as released is pinned by its SHA-256), and every one of those rows
is in the full output, in the same order.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path

import pytest

from ruxtrack.sources import read_folder
from ruxtrack.synth import generate
from ruxtrack.synth.make_demo import DEMO_SEED

FILES = ("patients", "events", "observations", "drugs", "support", "assessments")
#: SHA-256 of the first-stream demo files: as first released (before the supplement stream
#: existed), except observations, whose marker values were re-paired among patients when the
#: resolution of hyperinflammation was calibrated (docs/synth.md; same values per time point).
RELEASED_DEMO = {
    "patients": "d414de8f95a3f070f2c03a5ce8582ef6d415aba9435e2ac1f5d1e1b2f526db26",
    "events": "38b3e86e982a2ea6f14b9d60f94f66899be471a38d23e8d16a1a59048471535f",
    "observations": "9ef977052d164b9c61e1d9993ad1382e4b77a8f56e50d21ac2305f3dfbf73016",
    "drugs": "c87b28ac93f23ec8ebf303ddd5df4fdc43665699653cc444d6c2e0879d81fdd7",
    "support": "f576a88ac2c1d5ad38d7a7cc45f7181cfe92d4b90b23bafc61579d2cf19ae8e7",
    "assessments": "12c858d477707d630de1cb6762ad2f54e6a7d517de1d6493978bf57785754c9a",
}


def _is_subsequence(old: list[str], new: list[str]) -> bool:
    it = iter(new)
    return all(any(line == other for other in it) for line in old)


def test_first_stream_rows_are_the_released_demo_byte_for_byte(tmp_path: Path) -> None:
    generate(18, DEMO_SEED, tmp_path, format="csv", structure="exact", supplement=False)
    for name in FILES:
        digest = hashlib.sha256((tmp_path / f"{name}.csv").read_bytes()).hexdigest()
        assert digest == RELEASED_DEMO[name], name


@pytest.mark.parametrize("n", [18, 300])
def test_the_supplement_only_adds_rows(tmp_path: Path, n: int) -> None:
    exact = "exact" if n == 18 else "sampled"
    a = generate(n, 7, tmp_path / "a", format="csv", structure=exact, supplement=False)
    b = generate(n, 7, tmp_path / "b", format="csv", structure=exact)
    for name in FILES:
        old = (a.folder / f"{name}.csv").read_text().splitlines()
        new = (b.folder / f"{name}.csv").read_text().splitlines()
        assert _is_subsequence(old, new), name
    assert b.rows["observations"] > a.rows["observations"]
    assert b.rows["assessments"] == a.rows["assessments"] + 3 * n
    assert b.rows["drugs"] == a.rows["drugs"]


def test_every_patient_has_body_measures_creatinine_and_eligibility_facts(tmp_path: Path) -> None:
    generate(400, 11, tmp_path, format="csv")
    for tl in read_folder(tmp_path):
        obs = defaultdict(list)
        for o in tl.observations:
            obs[o.code].append(o)
        (w,), (h,) = obs["weight"], obs["height"]
        assert w.unit == "kg" and h.unit == "cm"
        bmi = w.value / (h.value / 100) ** 2
        obese = any(c.name == "obesity" for c in tl.patient.comorbidities)
        assert (bmi >= 29.9) if obese else (bmi < 30.05), (tl.patient.patient_id, bmi)
        assert 140 <= h.value <= 195 and 35 <= w.value <= 200
        # a creatinine with every platelet count of the course (the renal rule needs it)
        start = tl.anchor("rux_start")
        assert start is not None
        plt_times = {tl.at(o.time) for o in obs["plt"] if tl.at(o.time) >= start.replace(hour=0)}
        creat_times = {tl.at(o.time) for o in obs["creat"]}
        assert plt_times <= creat_times
        facts = {a.kind: a.value for a in tl.assessments}
        assert facts["covid_pcr"] == "true" and facts["who_viral_pneumonia"] == "true"
        assert facts["interventional_trial"] == "false"
