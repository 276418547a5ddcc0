"""Swimmer and trajectory figures of large cohorts draw a seeded random sample of patients,
say so in the subtitle, and keep every patient in their summaries; small cohorts draw everyone."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from outputs_fixtures import SARMIENTO_DEMO

from ruxtrack.cohort import (
    FigureSpec,
    StudyRun,
    event_days,
    load_study,
    run_study,
    support_days,
    trajectory_data,
)
from ruxtrack.outputs import plot_swimmer, plot_trajectories, sample_patients


@pytest.fixture(scope="module")
def demo() -> StudyRun:
    return run_study(load_study("sarmiento-2021"), SARMIENTO_DEMO)


def _spec(run: StudyRun, kind: str) -> FigureSpec:
    return next(f for f in run.study.figures if f.kind == kind)


def _copies(frame: pd.DataFrame, k: int) -> pd.DataFrame:
    parts = []
    for i in range(k):
        part = frame.copy()
        part["patient_id"] = part["patient_id"].astype(str) + f"-{i}"
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _thin_lines(fig: Figure) -> list[np.ndarray]:
    """The per-patient lines of the first panel (circles; the median has squares, the ULN none)."""
    return [
        np.asarray(ln.get_ydata(), float)
        for ln in fig.axes[0].get_lines()
        if ln.get_marker() == "o"
    ]


@given(
    n=st.integers(min_value=0, max_value=400),
    limit=st.integers(min_value=1, max_value=300),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
@settings(max_examples=60, deadline=None)
def test_sample_is_a_deterministic_subset_in_the_given_order(n: int, limit: int, seed: int) -> None:
    ids = [f"P{i:04d}" for i in range(n)]
    chosen, note = sample_patients(ids, limit, seed)
    assert chosen == sample_patients(ids, limit, seed)[0]
    if n <= limit:
        assert (chosen, note) == (ids, None)
    else:
        assert len(chosen) == limit == len(set(chosen))
        assert chosen == sorted(chosen) and set(chosen) <= set(ids)
        assert note == f"random sample of {limit:,} of {n:,} patients, seed {seed}"


def test_different_seeds_draw_different_patients() -> None:
    ids = [str(i) for i in range(100_000)]
    assert sample_patients(ids, 60, 1)[0] != sample_patients(ids, 60, 2)[0]
    assert sample_patients(ids, 60, 1)[1] == "random sample of 60 of 100,000 patients, seed 1"


def test_small_cohort_trajectories_draw_every_patient(demo: StudyRun) -> None:
    frame = demo.features.frame
    spec = _spec(demo, "trajectories")
    fig = plot_trajectories(trajectory_data(frame, demo.study, spec), demo.study, spec)
    try:
        assert fig.get_suptitle() == _spec(demo, "trajectories").title
        assert len(_thin_lines(fig)) == len(frame) == 18
    finally:
        plt.close(fig)


def test_large_cohort_trajectories_sample_lines_but_median_uses_everyone(demo: StudyRun) -> None:
    spec = _spec(demo, "trajectories").model_copy(update={"draw_limit": 25})
    frame = _copies(demo.features.frame, 10)  # 180 patients
    figs = [
        plot_trajectories(trajectory_data(frame, demo.study, spec), demo.study, spec)
        for _ in range(2)
    ]
    try:
        title = figs[0].get_suptitle()
        assert "random sample of 25 of 180 patients, seed 1" in title
        assert "median and n: all 180 patients" in title
        a, b = (_thin_lines(f) for f in figs)
        assert len(a) == 25
        assert all(np.array_equal(x, y, equal_nan=True) for x, y in zip(a, b, strict=True))
        code = spec.markers[0]
        m = demo.study.marker(code)
        ax = figs[0].axes[0]
        median = next(ln for ln in ax.get_lines() if ln.get_label() == "Median")
        # tick: the time point's label (wrapped at spaces) over "n = k"
        tps = [t.get_text().rsplit("\n", 1)[0].replace("\n", " ") for t in ax.get_xticklabels()]
        cols = [f"{code}__{tp.name}" for tp in demo.study.time_points if tp.label in tps]
        expected = frame[cols].astype(float).median() * m.display_factor
        assert np.asarray(median.get_ydata(), float) == pytest.approx(
            expected.to_numpy(), nan_ok=True
        )
        counts = [int(t.get_text().split("n = ")[1]) for t in ax.get_xticklabels()]
        assert counts == [int(frame[c].notna().sum()) for c in cols]  # every patient
    finally:
        for f in figs:
            plt.close(f)


def _swimmer(demo: StudyRun, k: int, limit: int | None) -> tuple[Figure, pd.DataFrame]:
    assert demo.tables is not None
    spec = _spec(demo, "swimmer")
    if limit is not None:
        spec = spec.model_copy(update={"draw_limit": limit})
    sup = support_days(demo.tables, demo.study, spec.anchor)
    ev = event_days(demo.tables, demo.study, ["discharge", "death", "last_followup"], spec.anchor)
    frame = demo.features.frame
    if k > 1:
        frame, sup, ev = (_copies(x, k) for x in (frame, sup, ev))
    return plot_swimmer(sup, ev, frame, demo.study, spec), frame


def test_small_cohort_swimmer_draws_every_patient(demo: StudyRun) -> None:
    fig, frame = _swimmer(demo, 1, None)
    try:
        ax = fig.axes[0]
        assert ax.get_title(loc="left") == _spec(demo, "swimmer").title
        assert len(ax.get_yticklabels()) == len(frame) == 18
    finally:
        plt.close(fig)


def test_large_cohort_swimmer_is_a_named_deterministic_sample(demo: StudyRun) -> None:
    (f1, frame), (f2, _) = _swimmer(demo, 20, 30), _swimmer(demo, 20, 30)  # 360 patients
    try:
        a1, a2 = f1.axes[0], f2.axes[0]
        assert a1.get_title(loc="left").endswith("random sample of 30 of 360 patients, seed 1")
        lanes = [t.get_text() for t in a1.get_yticklabels()]
        assert len(lanes) == 30 and set(lanes) <= set(frame["patient_id"])
        assert lanes == [t.get_text() for t in a2.get_yticklabels()]
        notes = [t.get_text() for t in a1.texts if "shown)" in t.get_text()]
        sizes = frame["group"].value_counts()
        for note in notes:  # group sizes count every patient, the lanes only the sample
            total = int(note.split("(n = ")[1].split(";")[0].replace(",", ""))
            assert total in set(sizes.to_numpy().tolist())
        assert sum(int(n.split("; ")[1].split(" shown")[0]) for n in notes) == 30
    finally:
        plt.close(f1)
        plt.close(f2)


def test_trajectory_data_is_computed_in_the_cohort_layer(demo: StudyRun) -> None:
    """The figure's medians and n come with its data (the renderer only draws them), and
    a marker without any value is left out by name."""
    spec = _spec(demo, "trajectories")
    frame = demo.features.frame.copy()
    gone = spec.markers[-1]
    for tp in demo.study.time_points:
        if f"{gone}__{tp.name}" in frame.columns:
            frame[f"{gone}__{tp.name}"] = np.nan
    td = trajectory_data(frame, demo.study, spec)
    assert gone in td.left_out and gone not in td.markers
    code = td.markers[0]
    cols = [f"{code}__{tp}" for tp in td.time_points]
    assert td.medians[code] == pytest.approx(list(frame[cols].astype(float).median()), nan_ok=True)
    assert td.n[code] == [int(frame[c].notna().sum()) for c in cols]
    assert len(td.lines) == td.n_patients == len(frame) and td.sample_note is None
