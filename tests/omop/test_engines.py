"""The same study on DuckDB, PostgreSQL and Spark: identical feature tables and results.

Spark runs in local mode (local[2], the settings of DEPENDENCIES.md G5/G6), one session for the
module.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from ruxtrack.cohort import (
    compute_features,
    connect_engine,
    load_study,
    open_omop,
    open_tables,
    run_study,
)
from ruxtrack.demo import demo_datasets
from ruxtrack.sources import read_folder
from ruxtrack.sources.omop import write_omop

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    pytest.importorskip("pyspark")
    con = connect_engine("pyspark")
    try:
        yield con
    finally:
        con._session.stop()


@pytest.fixture(scope="module")
def synthetic() -> Path:
    return Path(demo_datasets()["sarmiento-2021-synthetic"])


@pytest.fixture(scope="module")
def cdm(tmp_path_factory: pytest.TempPathFactory, synthetic: Path) -> Path:
    folder = tmp_path_factory.mktemp("cdm")
    write_omop(read_folder(synthetic), folder, format="parquet")
    return folder


def _results(run: Any) -> dict[str, Any]:
    out: dict[str, Any] = run.results.model_dump(mode="json")
    for key in ("data_origin", "engine"):
        out.pop(key)
    return out


def test_seed_004_on_pyspark_equals_duckdb(spark: Any, synthetic: Path) -> None:
    st = load_study("sarmiento-2021")
    duck = run_study(st, synthetic)
    sp = run_study(st, synthetic, engine="pyspark",
                   tables=open_tables(synthetic, engine="pyspark", con=spark))  # fmt: skip
    pd.testing.assert_frame_equal(
        duck.features.all_patients, sp.features.all_patients[duck.features.all_patients.columns],
        check_exact=False, rtol=1e-12,
    )  # fmt: skip
    assert _results(duck) == _results(sp)


@pytest.mark.postgres
def test_duckdb_postgresql_and_spark_give_identical_feature_tables(
    spark: Any, synthetic: Path, cdm: Path, pg_database: str
) -> None:
    st = load_study("sarmiento-2021")
    reference = compute_features(open_tables(synthetic), st).all_patients
    engine = sa.create_engine(pg_database)
    try:
        for t in ("person", "observation_period", "visit_occurrence", "condition_occurrence",
                  "drug_exposure", "measurement", "procedure_occurrence", "device_exposure",
                  "observation", "death"):  # fmt: skip
            pd.read_parquet(cdm / f"{t}.parquet").to_sql(t, engine, index=False)
    finally:
        engine.dispose()
    tables = {
        "duckdb (OMOP Parquet)": open_omop(cdm, st),
        "postgres (OMOP database)": open_omop(pg_database, st),
        "pyspark (OMOP Parquet)": open_omop(cdm, st, engine="pyspark", con=spark),
        "pyspark (canonical)": open_tables(synthetic, engine="pyspark", con=spark),
    }
    for name, t in tables.items():
        got = compute_features(t, st).all_patients
        pd.testing.assert_frame_equal(
            reference, got[reference.columns], check_exact=False, rtol=1e-12, obj=name
        )
