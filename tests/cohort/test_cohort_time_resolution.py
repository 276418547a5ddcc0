"""Time-to-event analyses at a declared time resolution (study option ``time_resolution_days``)."""

from __future__ import annotations

import math

from ruxtrack.cohort import load_study, run_study
from ruxtrack.demo import demo_datasets


def _cif_times(study_name_or_obj: object) -> list[float]:
    data = str(demo_datasets()["sarmiento-2021-synthetic"])
    results = run_study(study_name_or_obj, data).results  # type: ignore[arg-type]
    cif = next(a for a in results.analyses if a.id == "cif_discharge")
    return [t for curve in cif.values["curves"] for t in curve["time"]]


def test_whole_day_resolution_gives_steps_on_whole_days_only() -> None:
    times = _cif_times("sarmiento-2021")
    assert times and all(float(t).is_integer() for t in times)


def test_without_a_resolution_the_recorded_instants_are_kept() -> None:
    study = load_study("sarmiento-2021")
    analyses = tuple(a.model_copy(update={"time_resolution_days": None}) for a in study.analyses)
    times = _cif_times(study.model_copy(update={"analyses": analyses}))
    # the synthetic discharges and deaths carry clock times: some event times are fractional
    assert any(not float(t).is_integer() for t in times)
    assert all(math.isfinite(t) for t in times)
