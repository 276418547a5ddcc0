"""One study run: open the data, compute the features, run the statistics."""

from __future__ import annotations

from collections.abc import Callable
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

__all__ = ["StudyRun", "patient_course", "run_study", "support_days"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class StudyRun:
    """A finished run: the study, its data tables (None for a wide spreadsheet), the features
    and the results."""

    study: Study
    tables: CohortTables | None
    features: FeatureTable
    results: StudyResults


def run_study(
    study: Study | str | Path,
    data: str | Path,
    *,
    engine: Engine = "duckdb",
    progress: Progress | None = None,
    tables: CohortTables | None = None,
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
    say(f"running statistics on {features.n_included} of {features.n_read} patients")
    results = analyse(features, st, origin=str(data), engine=engine)
    return StudyRun(study=st, tables=opened, features=features, results=results)


def _anchor_ts(tables: CohortTables, study: Study, anchor: str) -> ibis.Table:
    ref = study.index if anchor == "index" else anchor
    name, _, occ = ref.partition("#")
    ev = tables.events
    sel = ev.filter((ev.event == name) & (ev.occurrence == (int(occ) if occ else 1)))
    return sel.select(sel.patient_id, a=sel.t.epoch_seconds().cast("float64"))


def _days(col: ibis.Value, a: ibis.Value) -> ibis.Value:
    return ((col.epoch_seconds().cast("float64") - a) / DAY).cast("float64")


def support_days(tables: CohortTables, study: Study, anchor: str = "index") -> pd.DataFrame:
    """Every support episode with start/end in days from the anchor (for the swimmer plot)."""
    a = _anchor_ts(tables, study, anchor)
    sp = tables.support
    j = sp.join(a, "patient_id")
    out = j.select(
        j.patient_id, j.mode, j.fio2, start_day=_days(j.t_start, j.a), end_day=_days(j.t_end, j.a)
    )
    frame: pd.DataFrame = out.to_pandas()
    return frame


def patient_course(
    tables: CohortTables, study: Study, patient_id: str, anchor: str
) -> dict[str, pd.DataFrame]:
    """One patient's drugs, support, observations and assessments in days from ``anchor``."""
    a = _anchor_ts(tables, study, anchor).filter(ibis._.patient_id == patient_id)
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
        sp.mode, sp.fio2, start_day=_days(sp.t_start, sp.a), end_day=_days(sp.t_end, sp.a)
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
    return out
