"""The COVID-19 day-3 fixture (tests/data/fhir/covid-day3-platelets45.json) gives a decision.

i13c's end-to-end CDS Hooks test builds on it: platelets 45 x10^9/L on day 3 of the Sarmiento
2021 course must read as "discontinue", not "cannot recommend".
"""

from __future__ import annotations

import json
from datetime import date

from fhir_helpers import COVID_DAY3, DATA

from ruxtrack.protocol import decide
from ruxtrack.sources import read_source
from ruxtrack.sources.fhir import timeline_from_fhir


def test_fixture_is_what_its_generator_writes() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make", DATA / "make_covid_day3.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert json.loads(COVID_DAY3.read_text(encoding="utf-8")) == mod.build()


def test_day3_platelets_45_discontinue_with_the_seed_rule() -> None:
    (tl,) = read_source(COVID_DAY3, "fhir").raise_for_problems()
    rux = [d for d in tl.drugs if d.drug == "ruxolitinib"]
    assert [(d.dose, d.frequency.value, str(d.start), str(d.end)) for d in rux] == [
        (10.0, "BID", "2021-03-01", "2021-03-03")
    ]
    d = decide(tl, "sarmiento-2021-covid", date(2021, 3, 3))
    assert d.action == "discontinue"
    assert d.daily_total_mg == 0


def test_prefetch_of_the_same_resources_gives_the_same_timeline() -> None:
    bundle = json.loads(COVID_DAY3.read_text(encoding="utf-8"))
    res = timeline_from_fhir([e["resource"] for e in bundle["entry"]])
    assert res.problems == []
    (from_file,) = read_source(COVID_DAY3, "fhir").timelines
    assert res.timelines[0].observations == from_file.observations
