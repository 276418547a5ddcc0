"""Benchmark the synthetic cohort generator: wall time, rows written, peak memory.

Usage: python benchmarks/bench_synth.py --patients 1000000 [--format parquet|csv] [--seed 1]
       [--chunk-size 16384] [--out DIR]

Peak memory is the process's peak resident set size (``resource.getrusage(...).ru_maxrss``),
which counts numpy and Arrow buffers alike; the baseline after imports is reported beside it.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None, help="kept; default: a temporary folder")
    args = parser.parse_args()

    from ruxtrack.synth import DEFAULT_CHUNK_SIZE, generate, load_targets

    load_targets()
    baseline = _rss_mib()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-synth-"))
    began = time.perf_counter()
    result = generate(
        args.patients, args.seed, out, format=args.format,
        chunk_size=args.chunk_size or DEFAULT_CHUNK_SIZE,
    )  # fmt: skip
    wall = time.perf_counter() - began
    peak = _rss_mib()
    size = sum(p.stat().st_size for p in result.files.values())
    print(f"patients          {result.n_patients:,}")
    print(
        f"format            {result.format} (chunk size {args.chunk_size or DEFAULT_CHUNK_SIZE:,})"
    )
    for name, n in result.rows.items():
        print(f"rows {name:<13}{n:>14,}")
    print(f"rows total        {result.total_rows:,}")
    print(
        f"wall time         {wall:.1f} s ({result.n_patients / wall:,.0f} patients/s, "
        f"{result.total_rows / wall:,.0f} rows/s)"
    )
    print(f"bytes written     {size / 2**20:,.0f} MiB")
    print(f"peak RSS          {peak:,.0f} MiB (after imports: {baseline:,.0f} MiB)")
    if args.out is None:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
