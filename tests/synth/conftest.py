"""Shared generated cohorts (module-independent, built once per session)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from ruxtrack.synth import generate

CALIBRATION_PATIENTS = 20_000


def read_parquet_folder(folder: Path) -> dict[str, pd.DataFrame]:
    names = ("patients", "events", "observations", "drugs", "support", "assessments")
    return {n: pq.read_table(folder / f"{n}.parquet").to_pandas() for n in names}


@pytest.fixture(scope="session")
def cohort_20k(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    """20,000 sampled patients (seed 7) as data frames, for calibration and bounds tests."""
    out = tmp_path_factory.mktemp("synth20k")
    generate(CALIBRATION_PATIENTS, seed=7, out_dir=out, format="parquet")
    return read_parquet_folder(out)


@pytest.fixture(scope="session")
def csv_200(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth200csv")
    generate(200, seed=11, out_dir=out, format="csv")
    return out
