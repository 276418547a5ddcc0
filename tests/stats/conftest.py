"""Shared fixtures: reference data sets written by the R scripts in ``reference/``."""

from __future__ import annotations

import pandas as pd
import pytest
from stats_reference import read_reference


@pytest.fixture(scope="session")
def rounding_times() -> pd.DataFrame:
    return read_reference("rounding_times.csv")


@pytest.fixture(scope="session")
def airquality() -> pd.DataFrame:
    return read_reference("airquality_ozone_month.csv")
