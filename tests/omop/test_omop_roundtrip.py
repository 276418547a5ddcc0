"""OMOP CDM export -> import -> export gives the same tables (CSV, Parquet, DuckDB, PostgreSQL)."""

from __future__ import annotations

import filecmp
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import sqlalchemy as sa

from ruxtrack.sources.omop import read_omop, write_omop
from ruxtrack.store import open_store
from ruxtrack.timeline import Timeline

TABLES = (
    "person", "observation_period", "visit_occurrence", "condition_occurrence", "drug_exposure",
    "measurement", "procedure_occurrence", "device_exposure", "observation", "death",
)  # fmt: skip


def _same_folders(a: Path, b: Path) -> None:
    for t in TABLES:
        assert filecmp.cmp(a / f"{t}.csv", b / f"{t}.csv", shallow=False), t


def test_export_writes_the_ten_cdm_tables_with_standard_concepts(cdm_dir: Path) -> None:
    assert sorted(p.stem for p in cdm_dir.glob("*.csv")) == sorted(TABLES)
    person = pd.read_csv(cdm_dir / "person.csv")
    assert set(person["gender_concept_id"]) <= {8507, 8532, 0}
    m = pd.read_csv(cdm_dir / "measurement.csv")
    crp = m[m["measurement_source_value"] == "crp"]
    assert (crp["measurement_concept_id"] == 3020460).all()
    assert (crp["unit_concept_id"] == 8751).all()
    dr = pd.read_csv(cdm_dir / "drug_exposure.csv")
    assert (dr.loc[dr["drug_source_value"] == "ruxolitinib", "drug_concept_id"] == 40244464).all()


def test_csv_round_trip_through_the_sqlite_store(tmp_path: Path, cdm_dir: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    try:
        store.import_timelines(read_omop(cdm_dir), source=str(cdm_dir))
        again = tmp_path / "again"
        write_omop(list(store.timelines()), again)
    finally:
        store.close()
    _same_folders(cdm_dir, again)


def test_parquet_round_trip(tmp_path: Path, demo_timelines: list[Timeline], cdm_dir: Path) -> None:
    pq_dir = tmp_path / "pq"
    write_omop(demo_timelines, pq_dir, format="parquet")
    again = tmp_path / "again"
    write_omop(read_omop(pq_dir), again)
    _same_folders(cdm_dir, again)


def test_duckdb_database_round_trip(tmp_path: Path, cdm_dir: Path) -> None:
    db = tmp_path / "cdm.duckdb"
    con = duckdb.connect(str(db))
    for t in TABLES:
        con.sql(
            f"CREATE TABLE {t} AS SELECT * FROM read_csv_auto('{cdm_dir / t}.csv', header=true)"
        )
    con.close()
    again = tmp_path / "again"
    write_omop(read_omop(f"duckdb:///{db}"), again)
    _same_folders(cdm_dir, again)


@pytest.mark.postgres
def test_postgresql_import_path(tmp_path: Path, cdm_dir: Path, pg_database: str) -> None:
    engine = sa.create_engine(pg_database)
    try:
        for t in TABLES:
            pd.read_csv(cdm_dir / f"{t}.csv", dtype=str, keep_default_na=False).replace(
                "", None
            ).to_sql(t, engine, index=False)
    finally:
        engine.dispose()
    again = tmp_path / "again"
    write_omop(read_omop(pg_database), again)
    _same_folders(cdm_dir, again)


def test_cli_import_and_export_omop(tmp_path: Path, cdm_dir: Path) -> None:
    from typer.testing import CliRunner

    from ruxtrack.cli import app

    db = f"sqlite:///{tmp_path / 'cli.db'}"
    r = CliRunner().invoke(app, ["import", str(cdm_dir), "--format", "omop", "--db", db])
    assert r.exit_code == 0, r.output
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["export", str(out), "--format", "omop", "--db", db])
    assert r.exit_code == 0, r.output
    assert "OMOP CDM v5.4" in r.output
    _same_folders(cdm_dir, out)
