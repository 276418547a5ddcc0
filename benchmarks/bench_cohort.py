"""Benchmark: a study's per-patient features on synthetic Parquet cohorts, DuckDB via Ibis,
against one hand-written DuckDB SQL query (the floor, ``benchmarks/cohort_floor.py``) and a
straightforward vectorised pandas version (``benchmarks/cohort_pandas.py``).

All three compute the same base feature table (tests/cohort/test_cohort_feature_equivalence.py
asserts it). ``ibis_full`` is ``compute_features`` (base + derived variables + population rules,
converted to pandas), what ``ruxtrack report`` runs.

Usage::

    ruxtrack synth --patients 1000000 --seed 7 --out /tmp/c1m --format parquet   # once
    python benchmarks/bench_cohort.py /tmp/c10k /tmp/c100k /tmp/c1m [--pandas-max 100000]

Each method runs in a fresh process (spawned), so the peak resident set size
(``ru_maxrss``) is that method's alone, imports included; wall time covers opening the
files, compiling and running the query and returning one row per patient as pandas.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path
from typing import Any

STUDY = "sarmiento-2021"


def _run(method: str, folder: str, threads: int) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from ruxtrack.cohort import compute_features, connect_engine, extract_base, load_study
    from ruxtrack.cohort import open_tables as open_cohort
    from ruxtrack.cohort._features import _to_pandas

    study = load_study(STUDY)
    if method == "ibis":
        con = connect_engine("duckdb", threads=threads)
        expr = extract_base(open_cohort(folder, con=con), study).order_by("patient_id")
        return len(_to_pandas(expr))
    if method == "ibis_full":
        con = connect_engine("duckdb", threads=threads)
        return compute_features(open_cohort(folder, con=con), study).n_read
    if method == "sql":
        from benchmarks.cohort_floor import floor_features

        return len(floor_features(folder, study, threads=threads))
    from benchmarks.cohort_pandas import pandas_features

    return len(pandas_features(folder, study))


def _child(method: str, folder: str, threads: int, q: Any) -> None:
    t0 = time.perf_counter()
    rows = _run(method, folder, threads)
    wall = time.perf_counter() - t0
    q.put((wall, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, rows))


def measure(method: str, folder: Path, threads: int) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MiB) and rows of one method in a fresh process."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(method, str(folder), threads, q))
    p.start()
    res: tuple[float, float, int] = q.get()
    p.join()
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", type=Path, nargs="+", help="synthetic Parquet cohorts")
    ap.add_argument("--pandas-max", type=int, default=100_000, help="largest cohort for pandas")
    ap.add_argument("--threads", type=int, default=2, help="DuckDB threads")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args()
    results: list[dict[str, Any]] = []
    for folder in args.folders:
        import pyarrow.parquet as pq

        n = pq.read_metadata(folder / "patients.parquet").num_rows
        methods = ["sql", "ibis", "ibis_full"] + (["pandas"] if n <= args.pandas_max else [])
        res = {m: measure(m, folder, args.threads) for m in methods}
        print(f"n = {n:,} patients ({folder})", flush=True)
        for m, (sec, mib, rows) in res.items():
            print(f"  {m:9s} {sec:8.2f} s  peak RSS {mib:7.0f} MiB  rows {rows:,}", flush=True)
        line = f"  ibis/sql = {res['ibis'][0] / res['sql'][0]:.2f}x"
        if "pandas" in res:
            line += f"; pandas/ibis = {res['pandas'][0] / res['ibis'][0]:.2f}x"
        print(line, flush=True)
        results.append({"patients": n, **{m: list(v) for m, v in res.items()}})
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
