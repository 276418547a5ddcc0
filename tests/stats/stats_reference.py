"""Access to the reference data sets written by the R scripts in ``reference/``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

REFERENCE = Path(__file__).parent / "reference"


def read_reference(name: str) -> pd.DataFrame:
    """Read a CSV that an R script in ``reference/`` wrote (see the script for its origin)."""
    return pd.read_csv(REFERENCE / name)
