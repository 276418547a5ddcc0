"""Benchmark: one study on DuckDB, PostgreSQL and Spark, on the same synthetic cohort.

For each engine, in a fresh process: the per-patient features (``compute_features``: the whole
feature expression run on the engine, one row per patient back in pandas) and the whole study
(``run_study``: features + every table and analysis; then ``build_report``: tables, figures and
report.html). DuckDB and Spark read the synthetic Parquet folder; PostgreSQL runs the features
inside the database on the same six tables, loaded once with COPY (load time reported apart).
The feature tables of the engines are compared (equal within 1e-12).

Usage (heavy: run under the machine's lock)::

    ruxtrack synth --patients 100000 --out /tmp/c100k --format parquet
    flock /work/wt/heavy.lock python benchmarks/bench_engines.py /tmp/c100k \\
        --pg-url "$RUXTRACK_TEST_PG_URL" --engines duckdb,postgres,pyspark
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

STUDY = "sarmiento-2021"
_RENAME = {"time": "t", "start": "t_start", "end": "t_end"}
_DUCK_TYPES = {"string": "VARCHAR", "float64": "DOUBLE", "int64": "BIGINT",
               "timestamp": "TIMESTAMP", "date": "DATE", "boolean": "BOOLEAN"}  # fmt: skip
_PG_TYPES = {"string": "text", "float64": "double precision", "int64": "bigint",
             "timestamp": "timestamp", "date": "date", "boolean": "boolean"}  # fmt: skip


def load_postgres(folder: str, url: str, schema: str) -> float:
    """Copy the six tables (the columns the cohort layer reads) into ``schema``; seconds."""
    import duckdb
    import psycopg

    from ruxtrack.cohort import TABLE_SCHEMAS

    t0 = time.perf_counter()
    duck = duckdb.connect()
    with psycopg.connect(
        url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    ) as pg:
        pg.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        pg.execute(f'CREATE SCHEMA "{schema}"')
        for name, cols in TABLE_SCHEMAS.items():
            path = Path(folder) / f"{name}.parquet"
            src = set(duck.read_parquet(str(path)).columns)
            select = []
            for col, typ in cols.items():
                raw = next((k for k, v in _RENAME.items() if v == col and k in src), col)
                sql_type = _DUCK_TYPES[typ]
                expr = f'CAST("{raw}" AS {sql_type})' if raw in src else f"CAST(NULL AS {sql_type})"
                if col == "occurrence":  # the canonical default (docs/data-format.md)
                    expr = f"COALESCE({expr}, 1)"
                select.append(f'{expr} AS "{col}"')
            ddl = ", ".join(f'"{c}" {_PG_TYPES[t]}' for c, t in cols.items())
            pg.execute(f'CREATE TABLE "{schema}"."{name}" ({ddl})')
            with tempfile.NamedTemporaryFile(suffix=".csv") as tmp:
                duck.sql(f"COPY (SELECT {', '.join(select)} FROM read_parquet('{path}')) "
                         f"TO '{tmp.name}' (HEADER false)")  # fmt: skip
                with pg.cursor() as cur, cur.copy(
                    f'COPY "{schema}"."{name}" FROM STDIN (FORMAT csv)'
                ) as copy, open(tmp.name, "rb") as fh:  # fmt: skip
                    while chunk := fh.read(1 << 20):
                        copy.write(chunk)
            if name == "patients":
                pg.execute(f'CREATE INDEX ON "{schema}"."{name}" (patient_id)')
        pg.execute("ANALYZE")
    return time.perf_counter() - t0


def _tables(engine: str, folder: str, pg_url: str, schema: str) -> Any:
    from ruxtrack.cohort import CohortTables, connect_engine, open_tables

    if engine == "duckdb":
        return open_tables(folder)
    if engine == "pyspark":
        return open_tables(folder, engine="pyspark", con=connect_engine("pyspark"))
    import ibis

    con = ibis.connect(pg_url.replace("postgresql+psycopg://", "postgres://"))
    names = ("patients", "events", "observations", "drugs", "support", "assessments")
    tables = {n: con.table(n, database=schema) for n in names}
    return CohortTables(con=con, origin=f"{pg_url} ({schema})", **tables)


def _child(engine: str, folder: str, pg_url: str, schema: str, out: str, q: Any) -> None:
    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", "--driver-memory 6g pyspark-shell")
    from ruxtrack.cohort import compute_features, load_study, run_study
    from ruxtrack.outputs import build_report

    study = load_study(STUDY)
    t0 = time.perf_counter()
    tables = _tables(engine, folder, pg_url, schema)
    t_open = time.perf_counter() - t0
    t1 = time.perf_counter()
    feats = compute_features(tables, study)
    t_features = time.perf_counter() - t1
    feats.all_patients.to_parquet(Path(out) / f"features-{engine}.parquet")
    t2 = time.perf_counter()
    run = run_study(study, folder, engine="pyspark" if engine == "pyspark" else "duckdb",
                    tables=tables)  # fmt: skip
    t_study = time.perf_counter() - t2
    t3 = time.perf_counter()
    build_report(study, folder, Path(out) / f"report-{engine}", run=run)
    t_report = time.perf_counter() - t3
    q.put({
        "engine": engine, "patients": feats.n_read, "open_s": round(t_open, 2),
        "features_s": round(t_features, 2), "study_s": round(t_study, 2),
        "report_files_s": round(t_report, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    })  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("folder")
    ap.add_argument("--engines", default="duckdb,postgres,pyspark")
    ap.add_argument("--pg-url", default=os.environ.get("RUXTRACK_TEST_PG_URL", ""))
    ap.add_argument("--out", default=tempfile.mkdtemp(prefix="bench-engines-"))
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    engines = args.engines.split(",")
    schema = "bench_" + Path(args.folder).name.replace("-", "_")
    results: list[dict[str, Any]] = []
    if "postgres" in engines:
        load = load_postgres(args.folder, args.pg_url, schema)
        results.append({"engine": "postgres", "step": "load (COPY)", "seconds": round(load, 2)})
    ctx = mp.get_context("spawn")
    for engine in engines:
        q = ctx.Queue()
        p = ctx.Process(target=_child, args=(engine, args.folder, args.pg_url, schema, args.out, q))
        p.start()
        p.join()
        if p.exitcode != 0:
            results.append({"engine": engine, "error": f"exit code {p.exitcode}"})
            continue
        results.append(q.get())
    import pandas as pd

    ref = None
    for engine in engines:
        path = Path(args.out) / f"features-{engine}.parquet"
        if not path.exists():
            continue
        frame = pd.read_parquet(path)
        if ref is None:
            ref = frame
            continue
        pd.testing.assert_frame_equal(ref, frame[ref.columns], check_exact=False, rtol=1e-12,
                                      check_dtype=False)  # fmt: skip
        results.append({"engine": engine, "features_equal_to": engines[0]})
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
