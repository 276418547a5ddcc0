"""The report never breaks on thin data: random subsets of the demo cohorts (patients kept,
tables and optional columns dropped) give a finished report in which every table, figure and
analysis is either rendered or states why not.

Runtime is bounded: 4 drawn examples plus 6 named ones (no response groups, one patient, no
support, no observations, no drugs, only patients and events), each a real report of at most 18
patients (about 15 s each on the project's 2 shared cores).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as hs
from outputs_fixtures import SARMIENTO_DEMO, TOMOMASA_DEMO

from ruxtrack.errors import AnalysisError
from ruxtrack.outputs import build_report
from ruxtrack.sources import FILES

OPTIONAL_FILES = ("observations", "drugs", "support", "assessments")
SARMIENTO_IDS = sorted(pd.read_csv(SARMIENTO_DEMO / "patients.csv")["patient_id"])


def _optional_columns() -> list[tuple[str, str]]:
    return [
        (name, c.name)
        for name, spec in FILES.items()
        for c in spec.columns
        if not c.required and c.name not in ("occurrence",)
    ]


def _subset(
    src: Path,
    dst: Path,
    keep: list[str] | None,
    drop_files: set[str],
    drop_cols: set[tuple[str, str]],
) -> None:
    dst.mkdir(parents=True)
    for f in src.glob("*.csv"):
        name = f.stem
        if name in drop_files:
            continue
        frame = pd.read_csv(f, dtype=str, keep_default_na=False)
        if keep is not None:
            frame = frame[frame["patient_id"].isin(keep)]
        frame = frame.drop(columns=[c for n, c in drop_cols if n == name and c in frame.columns])
        frame.to_csv(dst / f.name, index=False)
    for f in src.glob("*.json"):
        shutil.copy(f, dst / f.name)


def _check(out: Path) -> None:
    results = json.loads((out / "results.json").read_text())
    html = (out / "report.html").read_text()
    assert "Traceback" not in html
    for fid, files in results["figures"].items():
        assert all((out / p).exists() for p in files), fid
    for fid, why in results["figures_skipped"].items():
        assert why and "not drawn: " + why in html.replace("&#x27;", "'"), fid
    for a in results["analyses"]:
        assert a["computed"] or a["note"], a["id"]
        if not a["computed"]:
            assert "Not computed:" in html


@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    study=hs.sampled_from(["sarmiento-2021", "tomomasa-2021"]),
    keep=hs.lists(hs.sampled_from(SARMIENTO_IDS), min_size=1, max_size=18, unique=True),
    drop_files=hs.sets(hs.sampled_from(OPTIONAL_FILES)),
    drop_cols=hs.sets(hs.sampled_from(_optional_columns()), max_size=6),
)
@example(study="sarmiento-2021", keep=SARMIENTO_IDS, drop_files={"assessments"}, drop_cols=set())
@example(study="sarmiento-2021", keep=SARMIENTO_IDS[:1], drop_files=set(), drop_cols=set())
@example(study="sarmiento-2021", keep=SARMIENTO_IDS, drop_files={"support"}, drop_cols=set())
@example(
    study="sarmiento-2021", keep=SARMIENTO_IDS[:5], drop_files={"observations"}, drop_cols=set()
)
@example(study="tomomasa-2021", keep=[], drop_files={"drugs"}, drop_cols=set())
@example(study="tomomasa-2021", keep=[], drop_files=set(OPTIONAL_FILES), drop_cols=set())
def test_report_on_a_random_subset_of_a_demo_finishes(
    tmp_path_factory: pytest.TempPathFactory,
    study: str,
    keep: list[str],
    drop_files: set[str],
    drop_cols: set[tuple[str, str]],
) -> None:
    base = tmp_path_factory.mktemp("thin")
    src = SARMIENTO_DEMO if study == "sarmiento-2021" else TOMOMASA_DEMO
    _subset(src, base / "data", keep if study == "sarmiento-2021" else None, drop_files, drop_cols)
    messages: list[str] = []
    try:
        build_report(
            study, base / "data", base / "out", progress=lambda m, _d, _t: messages.append(m)
        )
    except AnalysisError as exc:
        # The one refusal: nobody passes the population rules (e.g. every patient is a child).
        assert "no patient included" in str(exc)
        return
    assert messages[-1] == "done"
    _check(base / "out")
