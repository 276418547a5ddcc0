"""Shared helpers of the cohort tests (imported by name: this basename is unique in tests/).

The tests run on the shipped demo data (``ruxtrack.demo``); the only hand-made records are the
one-patient timelines below, for shapes the demo lacks (two values equally near a time point).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from ruxtrack.demo import demo_datasets

SARMIENTO_DEMO: Path = demo_datasets()["sarmiento-2021-synthetic"]
TOMOMASA_DEMO: Path = demo_datasets()["tomomasa-2021"]
RUX_START = datetime(2020, 5, 10, 12)


def one_patient(ferritin_at_hours_from_d8: list[tuple[float, float]]) -> dict[str, pd.DataFrame]:
    """One adult: admission 4 days and first positive test 7 days before ruxolitinib start,
    ferritin values at the given hours from start + 8 days (in the store's resolved shape)."""
    start = RUX_START
    return {
        "patients": pd.DataFrame(
            [{"patient_id": "P1", "sex": "male", "age_years": 50.0, "age_at": "admission"}]
        ),
        "events": pd.DataFrame(
            [
                {
                    "patient_id": "P1",
                    "event": "admission",
                    "occurrence": 1,
                    "t": start - timedelta(days=4),
                },
                {
                    "patient_id": "P1",
                    "event": "covid_positive",
                    "occurrence": 1,
                    "t": start - timedelta(days=7),
                },
                {"patient_id": "P1", "event": "rux_start", "occurrence": 1, "t": start},
            ]
        ),
        "observations": pd.DataFrame(
            [
                {
                    "patient_id": "P1",
                    "t": start + timedelta(days=8, hours=h),
                    "code": "ferritin",
                    "value": v,
                    "unit": "ug/L",
                }
                for h, v in ferritin_at_hours_from_d8
            ],
            columns=["patient_id", "t", "code", "value", "unit"],
        ),
    }


def read_demo_csv(folder: Path, name: str) -> pd.DataFrame:
    """One file of a demo folder, read with pandas alone (the independent side of a test)."""
    return pd.read_csv(folder / f"{name}.csv", dtype={"patient_id": str})
