"""Benchmark: the whole ``ruxtrack report`` on a synthetic Parquet cohort, phase by phase, against
the hand-written SQL floor of its features (``benchmarks/cohort_floor.py``).

Phases: ``floor`` (one DuckDB SQL query, its own process), then in one process ``features``
(open the tables, ``compute_features``), ``statistics`` (``analyse``: tables and analyses),
``figures`` (the figures' data from the cohort layer, then drawing), ``tables`` (HTML, LaTeX,
Word, Excel, CSV) and ``report`` (results.json, features.csv, report.html); peak RSS of each
process from ``ru_maxrss``.

Usage::

    ruxtrack synth --patients 1000000 --seed 7 --out /tmp/c1m --format parquet   # once
    flock /work/wt/heavy.lock python benchmarks/bench_report.py /tmp/c1m [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

STUDY = "sarmiento-2021"


def _floor(folder: str, threads: int, q: Any) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.cohort_floor import floor_features
    from ruxtrack.cohort import load_study

    t0 = time.perf_counter()
    n = len(floor_features(folder, load_study(STUDY), threads=threads))
    q.put({"floor": time.perf_counter() - t0, "rows": n, "peak_gib": _peak()})


def _peak() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _report(folder: str, threads: int, q: Any) -> None:
    from ruxtrack.cohort import (
        StudyRun,
        analyse,
        compute_features,
        connect_engine,
        figure_data,
        load_study,
        open_tables,
    )
    from ruxtrack.outputs import save_figure, write_results_json, write_table
    from ruxtrack.outputs._report import _draw, _write_csv, render_report_html

    out: dict[str, Any] = {}
    study = load_study(STUDY)
    t0 = time.perf_counter()
    tables = open_tables(folder, con=connect_engine("duckdb", threads=threads))
    features = compute_features(tables, study)
    out["features"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    results = analyse(features, study, origin=folder, engine="duckdb")
    out["statistics"] = time.perf_counter() - t0
    run = StudyRun(study=study, tables=tables, features=features, results=results)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        t0 = time.perf_counter()
        prepared = figure_data(run)
        out["figure_data"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        drawn = []
        for fd in prepared:
            t1 = time.perf_counter()
            paths = [] if fd.skipped else save_figure(_draw(fd, study), d / "figures", fd.name)
            out[f"figure:{fd.name}"] = time.perf_counter() - t1
            drawn.append((fd, paths))
        out["figures_drawn"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        for t in results.tables:
            write_table(t, d / "tables")
        out["tables"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        write_results_json(results, d)
        _write_csv(features.frame, d / "features.csv")
        (d / "report.html").write_text(render_report_html(run, drawn), encoding="utf-8")
        out["report"] = time.perf_counter() - t0
    out["n"] = features.n_read
    out["peak_gib"] = _peak()
    q.put(out)


def _spawn(target: Any, *args: Any) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(*args, q))
    t0 = time.perf_counter()
    p.start()
    res: dict[str, Any] = q.get()
    p.join()
    res["process_wall"] = time.perf_counter() - t0
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="a synthetic Parquet cohort")
    ap.add_argument("--threads", type=int, default=2, help="DuckDB threads")
    ap.add_argument("--no-floor", action="store_true", help="skip the SQL floor")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args()
    res: dict[str, Any] = {}
    if not args.no_floor:
        res["floor"] = _spawn(_floor, str(args.folder), args.threads)
    res["report"] = _spawn(_report, str(args.folder), args.threads)
    r = res["report"]
    whole = sum(
        r[k] for k in ("features", "statistics", "figure_data", "figures_drawn", "tables", "report")
    )
    r["whole"] = whole
    if "floor" in res:
        r["ratio_to_floor"] = whole / res["floor"]["floor"]
    text = json.dumps(res, indent=2)
    sys.stdout.write(text + "\n")
    if args.json is not None:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
