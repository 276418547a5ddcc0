"""The seed 004 study with ``--engine pyspark`` against DuckDB on one synthetic cohort: the
features and every result (tables, analyses) must be identical; times and peak memory of each.

Usage (heavy: run under the machine's lock; the 1M-patient cohort takes minutes)::

    ruxtrack synth --patients 1000000 --out /tmp/c1m --format parquet
    flock /work/wt/heavy.lock python benchmarks/bench_spark_results.py /tmp/c1m
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


def _child(engine: str, folder: str, out: str, q: Any) -> None:
    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", "--driver-memory 8g pyspark-shell")
    from ruxtrack.cohort import connect_engine, load_study, open_tables, run_study

    study = load_study(STUDY)
    t0 = time.perf_counter()
    con = connect_engine(engine)  # type: ignore[arg-type]
    tables = open_tables(folder, engine=engine, con=con)  # type: ignore[arg-type]
    run = run_study(study, folder, engine=engine, tables=tables)  # type: ignore[arg-type]
    wall = time.perf_counter() - t0
    run.features.all_patients.to_parquet(Path(out) / f"features-{engine}.parquet")
    results = run.results.model_dump(mode="json")
    for key in ("data_origin", "engine"):
        results.pop(key)
    (Path(out) / f"results-{engine}.json").write_text(json.dumps(results, sort_keys=True))
    rss = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    q.put({"engine": engine, "patients": run.results.n_read, "included": run.results.n_included,
           "study_s": round(wall, 1), "peak_rss_mib": rss})  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("folder")
    ap.add_argument("--out", default=tempfile.mkdtemp(prefix="bench-spark-"))
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    ctx = mp.get_context("spawn")
    report: list[dict[str, Any]] = []
    for engine in ("duckdb", "pyspark"):
        q = ctx.Queue()
        p = ctx.Process(target=_child, args=(engine, args.folder, args.out, q))
        p.start()
        p.join()
        report.append(q.get() if p.exitcode == 0 else {"engine": engine, "exit": p.exitcode})
    import pandas as pd

    out = Path(args.out)
    if all((out / f"results-{e}.json").exists() for e in ("duckdb", "pyspark")):
        same = (out / "results-duckdb.json").read_text() == (
            out / "results-pyspark.json"
        ).read_text()
        a = pd.read_parquet(out / "features-duckdb.parquet")
        b = pd.read_parquet(out / "features-pyspark.parquet")[a.columns]
        try:
            pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, check_dtype=False)
            feats = True
        except AssertionError:
            feats = False
        report.append({"results_identical": same, "features_equal_1e-12": feats})
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
