"""Studies run on an OMOP CDM: the seed 004 study on the OMOP export of the synthetic cohort
gives the same features and results as on the canonical files (folder, DuckDB, PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
import sqlalchemy as sa

from ruxtrack.cohort import compute_features, load_study, open_omop, open_tables, run_study
from ruxtrack.demo import demo_datasets
from ruxtrack.sources import read_folder
from ruxtrack.sources.omop import write_omop

TABLES = (
    "person", "observation_period", "visit_occurrence", "condition_occurrence", "drug_exposure",
    "measurement", "procedure_occurrence", "device_exposure", "observation", "death",
)  # fmt: skip


@pytest.fixture(scope="module")
def synthetic() -> Path:
    return Path(demo_datasets()["sarmiento-2021-synthetic"])


@pytest.fixture(scope="module")
def sarmiento_cdm(tmp_path_factory: pytest.TempPathFactory, synthetic: Path) -> Path:
    folder = tmp_path_factory.mktemp("cdm")
    write_omop(read_folder(synthetic), folder)
    return folder


def _results(run: object) -> dict[str, object]:
    out = run.results.model_dump(mode="json")  # type: ignore[attr-defined]
    out.pop("data_origin")
    return out  # type: ignore[no-any-return]


def test_seed_004_on_the_omop_export_equals_the_canonical_files(
    synthetic: Path, sarmiento_cdm: Path
) -> None:
    st = load_study("sarmiento-2021")
    canonical = run_study(st, synthetic)
    omop = run_study(st, sarmiento_cdm, tables=open_omop(sarmiento_cdm, st))
    pd.testing.assert_frame_equal(
        canonical.features.all_patients, omop.features.all_patients, check_exact=True
    )
    assert _results(canonical) == _results(omop)
    assert omop.results.n_included == 18


def _duckdb_cdm(folder: Path, target: Path) -> str:
    con = duckdb.connect(str(target))
    for t in TABLES:
        con.sql(f"CREATE TABLE {t} AS SELECT * FROM read_csv_auto('{folder / t}.csv', header=true)")
    con.close()
    return f"duckdb:///{target}"


def test_features_computed_inside_a_duckdb_cdm(
    tmp_path: Path, synthetic: Path, sarmiento_cdm: Path
) -> None:
    st = load_study("sarmiento-2021")
    url = _duckdb_cdm(sarmiento_cdm, tmp_path / "cdm.duckdb")
    tables = open_omop(url, st)
    assert tables.con.name == "duckdb"
    expected = compute_features(open_tables(synthetic), st).all_patients
    got = compute_features(tables, st).all_patients
    pd.testing.assert_frame_equal(expected, got, check_exact=True)


@pytest.mark.postgres
def test_features_computed_inside_a_postgresql_cdm(
    synthetic: Path, sarmiento_cdm: Path, pg_database: str
) -> None:
    engine = sa.create_engine(pg_database)
    try:
        for t in TABLES:
            frame = pd.read_csv(sarmiento_cdm / f"{t}.csv")
            for c in frame.columns:
                if c.endswith("_datetime") or c.endswith("_date"):
                    frame[c] = pd.to_datetime(frame[c])
            frame.to_sql(t, engine, index=False)
    finally:
        engine.dispose()
    st = load_study("sarmiento-2021")
    tables = open_omop(pg_database, st)
    assert tables.con.name == "postgres"
    expected = compute_features(open_tables(synthetic), st).all_patients
    got = compute_features(tables, st).all_patients
    pd.testing.assert_frame_equal(expected, got, check_exact=False, rtol=1e-12)


def test_cli_report_on_an_omop_folder(tmp_path: Path, sarmiento_cdm: Path) -> None:
    from typer.testing import CliRunner

    from ruxtrack.cli import app

    out = tmp_path / "rep"
    r = CliRunner().invoke(
        app, ["report", "sarmiento-2021", "--omop", str(sarmiento_cdm), "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    assert "18 of 18 patients included" in r.output
    assert (out / "results.json").exists()


def test_cli_report_refuses_two_sources(tmp_path: Path, sarmiento_cdm: Path) -> None:
    from typer.testing import CliRunner

    from ruxtrack.cli import app

    r = CliRunner().invoke(
        app,
        [
            "report",
            "sarmiento-2021",
            "--omop",
            str(sarmiento_cdm),
            "--data",
            "x",
            "--out",
            str(tmp_path),
        ],
    )
    assert r.exit_code != 0
    assert "give one of --data PATH, --db PATH|URL or --omop URL|DIR" in r.output
