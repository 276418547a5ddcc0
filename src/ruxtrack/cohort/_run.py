"""One study run: open the data, compute the features, run the statistics."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import ibis
import pandas as pd

from ruxtrack.cohort._analysis import analyse
from ruxtrack.cohort._features import DAY, FeatureTable, compute_features
from ruxtrack.cohort._inputs import CohortTables, Engine, open_tables
from ruxtrack.cohort._results import StudyResults
from ruxtrack.cohort._study import Study, load_study
from ruxtrack.cohort._wide import is_spreadsheet, read_wide
from ruxtrack.errors import AnalysisError

__all__ = [
    "StudyRun",
    "describe_origin",
    "event_days",
    "patient_course",
    "run_study",
    "support_days",
]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class StudyRun:
    """A finished run: the study, its data tables (None for a wide spreadsheet), the features
    and the results."""

    study: Study
    tables: CohortTables | None
    features: FeatureTable
    results: StudyResults


def describe_origin(data: str | Path) -> str:
    """The data source as a shared output may name it: the kind and the file or database name,
    never a local folder path, a host or a password.

    Examples
    --------
    >>> describe_origin("sqlite:////home/ana/private/ward.db")
    'SQLite store ward.db'
    >>> describe_origin("postgresql://ana:secret@db.local:5432/ruxtrack")
    'PostgreSQL store ruxtrack'
    >>> describe_origin("/home/ana/exports/cohort-2021")
    'canonical folder cohort-2021'
    """
    text = str(data)
    if text.startswith("sqlite:///"):
        return f"SQLite store {Path(text.removeprefix('sqlite:///')).name}"
    if "://" in text:
        kind = "PostgreSQL" if text.startswith("postgres") else text.split(":", 1)[0]
        return f"{kind} store {text.rsplit('/', 1)[-1].split('?')[0]}"
    path = Path(text)
    return f"{'spreadsheet' if is_spreadsheet(path) else 'canonical folder'} {path.name}"


def run_study(
    study: Study | str | Path,
    data: str | Path,
    *,
    engine: Engine = "duckdb",
    progress: Progress | None = None,
    tables: CohortTables | None = None,
    on_features: Callable[[FeatureTable], None] | None = None,
) -> StudyRun:
    """Run a study on data: features on the engine, then every table and analysis.

    Parameters
    ----------
    study
        A :class:`Study`, a shipped study name or a path to a study YAML.
    data
        A store URL, a CSV/Parquet folder, or a wide spreadsheet (``.csv``/``.xlsx``).
    engine
        ``duckdb`` (default) or ``pyspark``.
    progress
        Called with a short message before each step.
    tables
        Already opened tables (skips opening ``data``).
    on_features
        Called with the features before the statistics start (the report writes features.csv
        on another thread meanwhile).
    """
    say = progress or (lambda _msg: None)
    st = study if isinstance(study, Study) else load_study(study)
    if tables is None and is_spreadsheet(data):
        say("reading the spreadsheet")
        features = read_wide(Path(data), st)
        opened = None
    else:
        say("opening the data")
        opened = tables if tables is not None else open_tables(data, engine=engine)
        say(f"computing per-patient features on {engine}")
        features = compute_features(opened, st)
    if on_features is not None:
        on_features(features)
    say(f"running statistics on {features.n_included} of {features.n_read} patients")
    results = analyse(features, st, origin=describe_origin(data), engine=engine)
    return StudyRun(study=st, tables=opened, features=features, results=results)


def _anchor_day(tables: CohortTables, study: Study, anchor: str) -> ibis.Table:
    """Per patient the start (midnight) of the anchor's calendar day, in epoch seconds.

    Course figures count days as clinicians do: day 0 is the calendar day of the anchor (the
    day of the first dose), day 1 the next; a time of day falls inside its day.
    """
    ref = study.index if anchor == "index" else anchor
    name, _, occ = ref.partition("#")
    ev = tables.events
    sel = ev.filter((ev.event == name) & (ev.occurrence == (int(occ) if occ else 1)))
    epoch = sel.t.epoch_seconds().cast("float64")
    return sel.select(sel.patient_id, a=((epoch / DAY).floor() * DAY).cast("float64"))


def _days(col: ibis.Value, a: ibis.Value) -> ibis.Value:
    return ((col.epoch_seconds().cast("float64") - a) / DAY).cast("float64")


def _is_midnight(col: ibis.Value) -> ibis.Value:
    """A time at 00:00 is read as a date: the end of a date-only episode covers its whole day."""
    epoch = col.epoch_seconds().cast("float64")
    return (epoch - (epoch / DAY).floor() * DAY) == 0


def support_days(
    tables: CohortTables,
    study: Study,
    anchor: str = "index",
    *,
    patients: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Every support episode in days from the anchor's calendar day (for the swimmer plot);
    ``patients`` limits it to those ids (filtered on the engine).

    Columns: ``patient_id``, ``mode``, ``fio2``, ``start_day``, ``end_day`` (NaN: ongoing) and
    ``end_is_date`` (the end was recorded as a day, so the episode covers that whole day).
    """
    a = _anchor_day(tables, study, anchor)
    sp = tables.support
    if patients is not None:
        sp = sp.filter(sp.patient_id.isin(list(patients)))
    j = sp.join(a, "patient_id")
    out = j.select(
        j.patient_id,
        j.mode,
        j.fio2,
        start_day=_days(j.t_start, j.a),
        end_day=_days(j.t_end, j.a),
        end_is_date=_is_midnight(j.t_end),
    )
    frame: pd.DataFrame = out.to_pandas()
    return frame


def event_days(
    tables: CohortTables,
    study: Study,
    events: list[str],
    anchor: str = "index",
    *,
    patients: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The first occurrence of each of ``events`` per patient, in days from the anchor's
    calendar day (columns ``patient_id``, ``event``, ``day``), on the axis of
    :func:`support_days` and :func:`patient_course`; ``patients`` limits it to those ids."""
    a = _anchor_day(tables, study, anchor)
    ev = tables.events
    if patients is not None:
        ev = ev.filter(ev.patient_id.isin(list(patients)))
    sel = ev.filter(ev.event.isin(events) & (ev.occurrence == 1)).join(a, "patient_id")
    frame: pd.DataFrame = sel.select(sel.patient_id, sel.event, day=_days(sel.t, sel.a)).to_pandas()
    return frame


def patient_course(
    tables: CohortTables, study: Study, patient_id: str, anchor: str
) -> dict[str, pd.DataFrame]:
    """One patient's drugs, support, observations, assessments and events in days from the
    anchor's calendar day (day 0 is the anchor's day; drug days are inclusive)."""
    a = _anchor_day(tables, study, anchor).filter(ibis._.patient_id == patient_id)
    if a.count().to_pyarrow().as_py() == 0:
        raise AnalysisError(f"patient {patient_id} has no {anchor} event")
    out: dict[str, pd.DataFrame] = {}
    dr = tables.drugs.filter(tables.drugs.patient_id == patient_id).join(a, "patient_id")
    out["drugs"] = dr.select(
        dr.drug,
        dr.dose,
        dr.unit,
        dr.frequency,
        start_day=_days(dr.t_start, dr.a),
        end_day=_days(dr.t_end, dr.a),
    ).to_pandas()
    sp = tables.support.filter(tables.support.patient_id == patient_id).join(a, "patient_id")
    out["support"] = sp.select(
        sp.mode,
        sp.fio2,
        start_day=_days(sp.t_start, sp.a),
        end_day=_days(sp.t_end, sp.a),
        end_is_date=_is_midnight(sp.t_end),
    ).to_pandas()
    ob = tables.observations.filter(tables.observations.patient_id == patient_id).join(
        a, "patient_id"
    )
    out["observations"] = ob.select(ob.code, ob.value, ob.unit, day=_days(ob.t, ob.a)).to_pandas()
    asm = tables.assessments.filter(tables.assessments.patient_id == patient_id).join(
        a, "patient_id"
    )
    out["assessments"] = asm.select(
        asm.kind, asm.value, asm.code, day=_days(asm.t, asm.a)
    ).to_pandas()
    ev = tables.events.filter(tables.events.patient_id == patient_id).join(a, "patient_id")
    out["events"] = ev.select(ev.event, ev.occurrence, day=_days(ev.t, ev.a)).to_pandas()
    return out
