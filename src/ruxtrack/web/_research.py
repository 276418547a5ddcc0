"""Researcher and evidence pages: a shipped study run on the store, pooled evidence.

De-identification: the researcher sees the study's aggregate tables and its cohort-level figures
(counts, distributions, curves over days from the index); patient-level outputs (per-patient
course figures, ``features.csv``, the full report that embeds them) stay on the server.
"""

from __future__ import annotations

import csv
import secrets
import tempfile
import threading
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from litestar.datastructures import State
from litestar.exceptions import NotFoundException

from ruxtrack.store import Store
from ruxtrack.web._accounts import audit

__all__ = ["StudyRunView", "evidence_summary", "get_run", "list_studies", "run_study", "runs"]

#: Figure kinds drawn per patient: never shown to researchers.
_PATIENT_LEVEL = {"course", "criteria_timeline"}
_LOCK = threading.Lock()


@dataclass
class StudyRunView:
    """What a researcher sees of one run."""

    id: str
    study: str
    title: str
    by: str
    n_read: int
    n_included: int
    flow: list[tuple[str, str, int, int]]
    tables: list[tuple[str, list[list[str]]]]
    files: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def list_studies() -> list[str]:
    """The shipped studies."""
    from ruxtrack.cohort import available_studies

    return sorted(available_studies())


def runs(state: State) -> list[StudyRunView]:
    """Runs made since the server started, newest first."""
    return list(reversed(state.setdefault("study_runs", {}).values()))


def get_run(state: State, run_id: str) -> StudyRunView:
    run = state.setdefault("study_runs", {}).get(run_id)
    if run is None:
        raise NotFoundException()
    return run  # type: ignore[no-any-return]


def _csv_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return [row for row in csv.reader(f)][:200]


def run_study(state: State, store: Store, study: str, actor: str, client: str | None) -> str:
    """Run ``study`` on the store and keep its de-identified outputs; returns the run id.

    Raises
    ------
    ValueError
        When ``study`` is not a shipped study.
    AnalysisError
        When the study cannot run on the data.
    """
    from ruxtrack.cohort import load_study
    from ruxtrack.outputs import build_report

    if study not in list_studies():
        raise ValueError(f'unknown study "{study}"; shipped: {", ".join(list_studies())}')
    spec = load_study(study)
    out = Path(tempfile.mkdtemp(prefix="ruxtrack-web-study-"))
    url = store.engine.url.render_as_string(hide_password=False)
    with _LOCK:  # one study at a time: they are heavy and the machine is shared
        run, files = build_report(study, url, out)
    audit(store, actor, "study.run", None, {"study": study, "patients": run.results.n_read}, client)
    shown: dict[str, Path] = {}
    per_patient = {f.id for f in spec.figures if f.kind in _PATIENT_LEVEL}
    for fig_id, paths in files.figures.items():
        if fig_id in per_patient:
            continue
        for p in paths:
            if p.suffix == ".png":
                shown[p.name] = p
    tables = []
    for table_id, paths in files.tables.items():
        for p in paths:
            if p.suffix == ".csv":
                tables.append((table_id, _csv_rows(p)))
    r = run.results
    view = StudyRunView(
        id=secrets.token_hex(8),
        study=study,
        title=r.title,
        by=actor,
        n_read=r.n_read,
        n_included=r.n_included,
        flow=[(f.label, f.kind, f.removed, f.unknown) for f in r.flow],
        tables=tables,
        files=shown,
        notes=list(r.notes),
    )
    state.setdefault("study_runs", {})[view.id] = view
    return view.id


def evidence_summary(state: State) -> dict[str, Any]:
    """The shipped evidence table pooled (random effects, logit, REML) with forest plots."""
    cached = state.get("evidence")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    import matplotlib

    matplotlib.use("Agg")
    from ruxtrack.evidence import (
        load_evidence_table,
        meta_analysis,
        render_forest,
        table_proportions,
    )

    t = load_evidence_table()
    out: dict[str, Any] = {
        "title": "Tomomasa et al. 2021, Table 2 (IPS after allogeneic HSCT)",
        "rows": [],
        "plots": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        for q in ("incidence", "mortality"):
            data, excl, _ = table_proportions(t, q)
            res = meta_analysis(data)
            pooled = res.pooled
            out["rows"].append(
                {
                    "quantity": q,
                    "k": len(res.studies),
                    "estimate": pooled.estimate,
                    "ci": (pooled.ci_low, pooled.ci_high),
                    "excluded": [f"{e.cohort}: {e.reason}" for e in excl],
                }
            )
            path = render_forest(
                res, Path(tmp) / f"{q}.png", title=f"IPS {q} (Tomomasa 2021, Table 2)"
            )
            out["plots"][q] = BytesIO(path.read_bytes()).getvalue()
    state["evidence"] = out
    return out
