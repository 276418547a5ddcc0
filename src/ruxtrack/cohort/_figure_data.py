"""What each figure of a study draws, computed here so that ``outputs`` only renders.

:func:`figure_data` turns a finished :class:`~ruxtrack.cohort.StudyRun` into one
:class:`FigureData` per figure file: the frames the renderer draws (support days, events, a
patient's course, the per-day criteria grid), a caption in words, and — when the data do not
allow the figure (no support recorded, no values, an analysis not computed, a wide spreadsheet
without the long tables) — ``skipped`` with the reason instead of frames. The criteria grid is
evaluated from the cohort tables themselves, so a store URL gives the same figure as the CSV
folder it was imported from.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ruxtrack.cohort._results import AnalysisResult
from ruxtrack.cohort._run import StudyRun, event_days, patient_course, support_days
from ruxtrack.cohort._study import FigureSpec, Study
from ruxtrack.errors import AnalysisError, RuxtrackError
from ruxtrack.timeline import KNOWN_EVENTS

__all__ = [
    "FigureData",
    "anchor_label",
    "criteria_grid",
    "figure_data",
    "freshness_notes",
    "sample_patients",
]

_NO_TABLES = (
    "needs the long tables (drugs, support, events), which a wide spreadsheet does not hold"
)


@dataclass(frozen=True)
class FigureData:
    """One figure file to draw (``name``), or the reason it is not drawn (``skipped``).

    ``data`` holds the frames of its kind: ``support``/``events``/``frame`` (swimmer), the
    patient's course tables (course), ``grid`` (criteria timeline); a trajectories figure has
    ``trajectories`` instead (medians, n and the drawn lines, computed here).
    """

    spec: FigureSpec
    name: str
    caption: str
    patient_id: str | None = None
    anchor_label: str = ""
    data: dict[str, pd.DataFrame] = field(default_factory=dict)
    analysis: AnalysisResult | None = None
    skipped: str | None = None
    notes: tuple[str, ...] = ()
    trajectories: TrajectoryData | None = None


def freshness_notes(criteria: tuple[str, ...]) -> tuple[str, ...]:
    """How long each criterion trusts a record, in words, from its knowledge file."""
    from ruxtrack.knowledge import load_yaml

    words = {
        "labs_days": "laboratory values",
        "findings_days": "findings",
        "body_days": "weight and height",
    }
    out = []
    for c in criteria:
        from ruxtrack.knowledge import knowledge_path

        if not knowledge_path(f"criteria/{c}.yaml").is_file():
            continue  # a criterion without a file of its own: nothing to say
        data = load_yaml(f"criteria/{c}.yaml")
        fresh = data.get("freshness") or {} if isinstance(data, dict) else {}
        parts = [f"{v} days for {words[k]}" for k, v in fresh.items() if k in words]
        if parts:
            out.append(f"{data.get('name', c)}: {', '.join(parts)}")
    return tuple(out)


def sample_patients(
    patient_ids: Iterable[object], limit: int | None, seed: int
) -> tuple[list[str], str | None]:
    """The patients a figure draws one by one, and the subtitle that says so.

    Within ``limit`` (or with no limit) every patient, in the given order, and no subtitle;
    above it a simple random sample of ``limit`` patients without replacement
    (``numpy.random.default_rng(seed)``), kept in the given order, and a subtitle such as
    "random sample of 60 of 100,000 patients, seed 1". The same ids, limit and seed always give
    the same sample.

    Examples
    --------
    >>> ids = [f"P{i}" for i in range(1000)]
    >>> chosen, note = sample_patients(ids, 3, seed=1)
    >>> len(chosen), note
    (3, 'random sample of 3 of 1,000 patients, seed 1')
    >>> sample_patients(ids[:2], 3, seed=1)
    (['P0', 'P1'], None)
    """
    # Only the drawn ids are turned into str (a million patients: no Python loop over all).
    seq = patient_ids if isinstance(patient_ids, pd.Series) else pd.Series(list(patient_ids))
    n = len(seq)
    if limit is None or n <= limit:
        return [str(p) for p in seq], None
    rng = np.random.default_rng(seed)
    picked = np.sort(rng.choice(n, size=limit, replace=False))
    return [str(p) for p in seq.iloc[picked]], (
        f"random sample of {limit:,} of {n:,} patients, seed {seed}"
    )


def anchor_label(spec: FigureSpec, study: Study) -> str:
    """The anchor of a figure in words ("the second transplant", "ruxolitinib start")."""
    if spec.anchor_label:
        return spec.anchor_label
    ref = study.index if spec.anchor == "index" else spec.anchor
    name, _, occ = ref.partition("#")
    text = KNOWN_EVENTS.get(name, name.replace("_", " "))
    return f"{text} #{occ}" if occ else text


def _patients(spec: FigureSpec, run: StudyRun) -> list[str]:
    ids = run.features.frame["patient_id"].astype("string")
    if spec.patients:
        present = set(ids[ids.isin(spec.patients)])
        return [p for p in spec.patients if p in present]
    return [str(p) for p in ids.iloc[: spec.max_patients]]


def _caption(spec: FigureSpec, run: StudyRun, pid: str | None) -> str:
    if pid is None or run.features.n_included <= 1:
        return spec.title
    return f"{spec.title}, patient {pid}"


def _timeline(run: StudyRun, pid: str) -> Any:
    """The patient's timeline rebuilt from the cohort tables (store, Parquet or CSV alike)."""
    from ruxtrack.sources import timeline_from_rows

    assert run.tables is not None
    t = run.tables

    def rows(name: str) -> list[dict[str, Any]]:
        tbl = t.table(name)
        frame = tbl.filter(tbl.patient_id == pid).to_pandas()
        frame = frame.astype(object).where(frame.notna(), None)
        return [dict(r) for r in frame.to_dict("records")]

    def iso(v: Any) -> str | None:
        return None if v is None else pd.Timestamp(v).isoformat()

    patient = rows("patients")[0]
    tables = {
        "events": [{**r, "time": iso(r["t"])} for r in rows("events")],
        "observations": [{**r, "time": iso(r["t"])} for r in rows("observations")],
        "drugs": [
            {**r, "route": "other", "start": iso(r["t_start"]), "end": iso(r["t_end"])}
            for r in rows("drugs")
        ],
        "support": [
            {**r, "start": iso(r["t_start"]), "end": iso(r["t_end"])} for r in rows("support")
        ],
        "assessments": [{**r, "time": iso(r["t"])} for r in rows("assessments")],
    }
    return timeline_from_rows(patient, tables)


def criteria_grid(run: StudyRun, spec: FigureSpec, pid: str) -> pd.DataFrame:
    """Criteria status and CTCAE grades of one patient over the figure's days.

    Columns: ``criterion``, ``day`` (from the figure's anchor day), ``level`` (a CTCAE grade;
    for a criterion component 1 met, 0 not met, NaN unknown), ``kind`` (``grade`` or
    ``status``) and ``observed``: True when the value that decided the day was recorded on that
    day, False when it was carried forward from an earlier record within the criterion's
    freshness window (a window, not an observed duration).
    """
    if run.tables is None:
        raise AnalysisError(_NO_TABLES)
    course = patient_course(run.tables, run.study, pid, spec.anchor)
    asm = course["assessments"]
    rows: list[dict[str, Any]] = []
    grades = asm[asm["kind"] == "ctcae_grade"]
    if spec.days is not None:
        grades = grades[grades["day"].between(spec.days[0], spec.days[1] + 1)]
    for _, r in grades.iterrows():
        try:
            level = float(r["value"])
        except (TypeError, ValueError):
            continue
        term = str(r["code"] or "CTCAE").replace("_", " ")
        rows.append(
            {
                "criterion": f"CTCAE: {term}",
                "day": math.floor(float(r["day"])),
                "level": level,
                "kind": "grade",
                "observed": True,
            }
        )
    rows += _evaluated(run, spec, pid, course)
    return pd.DataFrame(rows, columns=["criterion", "day", "level", "kind", "observed"])


def _evaluated(
    run: StudyRun, spec: FigureSpec, pid: str, course: dict[str, pd.DataFrame]
) -> list[dict[str, Any]]:
    """Each counted component of each named criterion set on every day of the window."""
    if not spec.criteria:
        return []
    from ruxtrack.criteria import evaluate_timeline

    record_days = pd.concat([course["observations"]["day"], course["assessments"]["day"]]).dropna()
    if spec.days is not None:
        lo, hi = math.floor(spec.days[0]), math.ceil(spec.days[1])
    elif len(record_days):
        lo, hi = math.floor(record_days.min()), math.ceil(record_days.max())
    else:
        return []
    timeline = _timeline(run, pid)
    ref = run.study.index if spec.anchor == "index" else spec.anchor
    name, _, occ = ref.partition("#")
    anchor_t = timeline.anchors.get((name, int(occ) if occ else 1))
    if anchor_t is None:
        return []
    day0 = pd.Timestamp(anchor_t).normalize()
    out: list[dict[str, Any]] = []
    for c in spec.criteria:
        for day in range(lo, hi + 1):
            at = f"{ref}+{day}d" if day >= 0 else f"{ref}-{-day}d"
            ev = evaluate_timeline(c, timeline, at=at)
            for comp in ev.components:
                if not comp.counted:
                    continue
                status = str(comp.status.value)
                seen = None
                if comp.time is not None:
                    try:
                        seen = math.floor((pd.Timestamp(comp.time) - day0) / pd.Timedelta(days=1))
                    except ValueError:
                        seen = None
                out.append(
                    {
                        "criterion": f"{ev.name.split(' ')[0]}: {comp.label}",
                        "day": day,
                        "level": {"met": 1.0, "not_met": 0.0}.get(status),
                        "kind": "status",
                        "observed": seen == day,
                    }
                )
    return out


@dataclass(frozen=True)
class TrajectoryData:
    """What the trajectories figure draws, computed from every included patient.

    ``lines`` holds the patients drawn one by one (all of them within the figure's
    ``draw_limit``, else the seeded sample ``sample_note`` names): ``patient_id``, ``group`` and
    ``<marker>__<time point>`` in the study's units. ``medians`` and ``n`` count every patient
    with a value; ``positive`` says whether a marker has a value above 0 (a log axis is
    possible). Markers of the figure with no value at all are in ``left_out``.
    """

    markers: tuple[str, ...]
    left_out: tuple[str, ...]
    time_points: tuple[str, ...]
    lines: pd.DataFrame
    medians: dict[str, list[float]]
    n: dict[str, list[int]]
    positive: dict[str, bool]
    n_patients: int
    sample_note: str | None


def trajectory_data(frame: pd.DataFrame, study: Study, spec: FigureSpec) -> TrajectoryData:
    """The trajectories figure's data from a feature frame (one row per included patient)."""

    def has(m: str, tp: str) -> bool:
        return f"{m}__{tp}" in frame.columns and bool(frame[f"{m}__{tp}"].notna().any())

    every_tp = [tp.name for tp in study.time_points]
    markers = [m for m in spec.markers if any(has(m, tp) for tp in every_tp)]
    tps = [tp for tp in every_tp if any(has(m, tp) for m in markers)]
    ids = frame["patient_id"] if "patient_id" in frame.columns else pd.Series(dtype="string")
    drawn_ids, note = sample_patients(ids, spec.patients_drawn(), study.sample_seed)
    drawn = ids.astype(str).isin(drawn_ids).to_numpy()
    cols = [f"{m}__{tp}" for m in markers for tp in tps]
    values = frame.reindex(columns=cols).astype(float)
    lines = values[drawn].copy()
    lines.insert(0, "group", frame["group"][drawn] if "group" in frame.columns else None)
    lines.insert(0, "patient_id", ids[drawn].astype(str))
    medians: dict[str, list[float]] = {}
    counts: dict[str, list[int]] = {}
    positive: dict[str, bool] = {}
    for m in markers:
        v = values[[f"{m}__{tp}" for tp in tps]]
        medians[m] = [float(x) for x in v.median(axis=0, skipna=True)]
        counts[m] = [int(k) for k in v.notna().sum(axis=0)]
        positive[m] = bool((v > 0).any().any())
    return TrajectoryData(
        markers=tuple(markers),
        left_out=tuple(m for m in spec.markers if m not in markers),
        time_points=tuple(tps),
        lines=lines.reset_index(drop=True),
        medians=medians,
        n=counts,
        positive=positive,
        n_patients=len(frame),
        sample_note=note,
    )


def _trajectories(spec: FigureSpec, run: StudyRun) -> FigureData:
    cap = _caption(spec, run, None)
    data = trajectory_data(run.features.frame, run.study, spec)
    if not data.markers:
        return FigureData(spec, spec.id, cap, skipped="no marker of the figure has a value")
    return FigureData(spec, spec.id, cap, trajectories=data)


def _swimmer(spec: FigureSpec, run: StudyRun) -> FigureData:
    cap = _caption(spec, run, None)
    if run.tables is None:
        return FigureData(spec, spec.id, cap, skipped=_NO_TABLES)
    # Only the patients the figure draws are read (a seeded sample above its limit).
    drawn, _ = sample_patients(
        run.features.frame["patient_id"], spec.patients_drawn(), run.study.sample_seed
    )
    sup = support_days(run.tables, run.study, spec.anchor, patients=drawn)
    ev = event_days(
        run.tables, run.study, ["discharge", "death", "last_followup"], spec.anchor, patients=drawn
    )
    if sup.empty and ev[ev["event"].isin(["discharge", "death"])].empty:
        return FigureData(
            spec, spec.id, cap, skipped="no respiratory support, discharge or death recorded"
        )
    return FigureData(
        spec,
        spec.id,
        cap,
        anchor_label=anchor_label(spec, run.study),
        data={"support": sup, "events": ev, "frame": run.features.frame},
    )


def _cif(spec: FigureSpec, run: StudyRun) -> FigureData:
    cap = _caption(spec, run, None)
    assert spec.analysis is not None
    res = run.results.analysis(spec.analysis)
    if not res.computed:
        return FigureData(spec, spec.id, cap, analysis=res, skipped=res.note or "not computed")
    if not any(c.get("n_events") for c in res.values.get("curves", [])):
        return FigureData(spec, spec.id, cap, analysis=res, skipped="no events")
    return FigureData(spec, spec.id, cap, anchor_label=anchor_label(spec, run.study), analysis=res)


def _per_patient(spec: FigureSpec, run: StudyRun) -> list[FigureData]:
    pids = _patients(spec, run)
    if run.tables is None:
        return [FigureData(spec, spec.id, _caption(spec, run, None), skipped=_NO_TABLES)]
    if not pids:
        return [FigureData(spec, spec.id, spec.title, skipped="none of its patients is included")]
    out: list[FigureData] = []
    label = anchor_label(spec, run.study)
    for pid in pids:
        name, cap = f"{spec.id}_{pid}", _caption(spec, run, pid)
        try:
            if spec.kind == "course":
                data = patient_course(run.tables, run.study, pid, spec.anchor)
                empty = all(data[k].empty for k in ("drugs", "support", "observations"))
                why = "no drugs, support or observations recorded" if empty else None
            else:
                grid = criteria_grid(run, spec, pid)
                data = {"grid": grid}
                why = "no criteria or CTCAE grades recorded" if grid.empty else None
        except RuxtrackError as exc:
            data, why = {}, str(exc)
        out.append(
            FigureData(
                spec,
                name,
                cap,
                pid,
                label,
                data=data if why is None else {},
                skipped=why,
                notes=freshness_notes(spec.criteria),
            )
        )
    return out


def figure_data(run: StudyRun) -> list[FigureData]:
    """One :class:`FigureData` per figure file of the study (per patient for ``course`` and
    ``criteria_timeline``), in the study's order; thin data gives ``skipped`` with a reason."""
    out: list[FigureData] = []
    for spec in run.study.figures:
        if spec.kind == "trajectories":
            out.append(_trajectories(spec, run))
        elif spec.kind == "cumulative_incidence":
            out.append(_cif(spec, run))
        elif spec.kind == "swimmer":
            out.append(_swimmer(spec, run))
        else:
            out += _per_patient(spec, run)
    return out
