"""Benchmark: the whole ``ruxtrack report`` on a synthetic Parquet cohort, phase by phase, against
the hand-written SQL floor of its features (``benchmarks/cohort_floor.py``).

``floor`` is one DuckDB SQL query in its own process; then, in another, the real
``build_report`` end to end (``whole``: its wall time, what a user waits for), split into phases
by its progress messages: ``features``, ``statistics`` (tables and analyses), ``figure_data``,
``tables`` (HTML, LaTeX, Word, Excel, CSV), ``figures`` (drawing) and ``report`` (results.json,
report.html and waiting for features.csv, which a thread writes from the end of ``features``
on). Peak RSS of each process from ``ru_maxrss``.

Usage::

    ruxtrack synth --patients 1000000 --seed 7 --out /tmp/c1m --format parquet   # once
    python benchmarks/bench_report.py /tmp/c1m [--json out.json]
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


#: Progress messages of build_report that open each phase (the next phase's message ends it).
PHASES = (
    ("open", "opening the data"),
    ("features", "computing per-patient features"),
    ("statistics", "running statistics"),
    ("figure_data", "preparing the figures' data"),
    ("tables", "writing table"),
    ("figures", "drawing "),
    ("report", "writing results.json"),
)


def _report(folder: str, threads: int, q: Any) -> None:
    """The real ``build_report`` end to end (features.csv is written on a thread meanwhile),
    its phases read from the progress messages."""
    from ruxtrack.outputs import build_report

    marks: list[tuple[float, str]] = []

    def progress(message: str, _done: int, _total: int) -> None:
        marks.append((time.perf_counter(), message))

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        run, _ = build_report(STUDY, folder, Path(tmp) / "report", progress=progress)
    end = time.perf_counter()
    out: dict[str, Any] = {"whole": end - t0}
    for (t_start, msg), (t_next, _) in zip(marks, [*marks[1:], (end, "")], strict=True):
        phase = next((name for name, prefix in PHASES if msg.startswith(prefix)), None)
        if phase is not None:
            out[phase] = out.get(phase, 0.0) + (t_next - t_start)
    out["n"] = run.features.n_read
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
    if "floor" in res:
        r["ratio_to_floor"] = r["whole"] / res["floor"]["floor"]
    text = json.dumps(res, indent=2)
    sys.stdout.write(text + "\n")
    if args.json is not None:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
