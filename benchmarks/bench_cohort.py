# ruff: noqa: E501
"""Benchmark: sarmiento-2021 features on synthetic Parquet cohorts (DuckDB via Ibis) against a
straightforward pandas implementation and one hand-written DuckDB SQL query (the floor).

Run: /work/venv/bin/python benchmarks/bench_cohort.py --sizes 10000 100000 [1000000]
The cohort comes from ``ruxtrack.synth.generate`` when installed, else from a vectorised generator
here (same table shapes, timestamps in Parquet). Prints wall time and peak RSS per method.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

MARKERS = {
    "ferritin": 2500.0,
    "crp": 120.0,
    "ldh": 400.0,
    "ddimer_unspecified": 1100.0,
    "il6": 150.0,
    "wbc": 8.0,
    "anc": 6.0,
    "lymph": 0.63,
    "plt": 184.0,
}
TPS = {
    "admission": ("admission", 0, -1, 2),
    "start": ("rux_start", 0, -3, 0),
    "d8": ("rux_start", 8, -2, 2),
    "d15": ("rux_start", 15, -2, 2),
}


def make_cohort(n: int, out: Path, seed: int = 1) -> None:
    try:
        from ruxtrack.synth import generate  # type: ignore[attr-defined]

        generate(n, seed, out, "parquet")
        return
    except ImportError:
        pass
    rng = np.random.default_rng(seed)
    pid = np.array([f"P{i:07d}" for i in range(n)])
    base = np.datetime64("2020-04-01T08:00") + rng.integers(0, 300, n).astype("timedelta64[D]")
    pos = base - rng.integers(0, 4, n).astype("timedelta64[D]")
    start = pos + rng.integers(2, 20, n).astype("timedelta64[D]") + np.timedelta64(2, "h")
    pd.DataFrame(
        {
            "patient_id": pid,
            "sex": np.where(rng.random(n) < 0.8, "male", "female"),
            "age_years": rng.integers(20, 90, n).astype(float),
            "synthetic": True,
        }
    ).to_parquet(out / "patients.parquet")
    ev = pd.concat(
        [
            pd.DataFrame({"patient_id": pid, "event": e, "occurrence": 1, "time": t})
            for e, t in (
                ("admission", base),
                ("covid_positive", pos),
                ("rux_start", start),
                ("discharge", start + rng.integers(5, 90, n).astype("timedelta64[D]")),
            )
        ]
    )
    ev.to_parquet(out / "events.parquet")
    offs = np.array([-2 * 24, -3, 8 * 24, 15 * 24, 4 * 24, 11 * 24])  # hours from start
    obs = []
    for code, med in MARKERS.items():
        vals = med * np.exp(rng.normal(0, 0.4, (n, len(offs))))
        t = start[:, None] + (offs[None, :] + rng.integers(-20, 20, (n, len(offs)))).astype(
            "timedelta64[h]"
        )
        obs.append(
            pd.DataFrame(
                {
                    "patient_id": np.repeat(pid, len(offs)),
                    "time": t.ravel(),
                    "code": code,
                    "value": vals.ravel().round(2),
                    "unit": "x",
                }
            )
        )
    pd.concat(obs).to_parquet(out / "observations.parquet")
    pd.DataFrame(
        {
            "patient_id": pid,
            "mode": "hfnc",
            "start": start - np.timedelta64(1, "D"),
            "end": start + np.timedelta64(9, "D"),
            "fio2": 50.0,
        }
    ).to_parquet(out / "support.parquet")


def run_ibis(folder: Path) -> pd.DataFrame:
    from ruxtrack.cohort import compute_features, load_study, open_tables

    return compute_features(open_tables(folder), load_study("sarmiento-2021")).all_patients


def run_sql(folder: Path) -> pd.DataFrame:
    import duckdb

    f = str(folder)
    tps = " UNION ALL ".join(
        f"SELECT patient_id, '{k}' AS tp, epoch(time) + {o}*86400 AS target, {lo}*86400 AS lo, {hi}*86400 AS hi "
        f"FROM read_parquet('{f}/events.parquet') WHERE event = '{a}' AND occurrence = 1"
        for k, (a, o, lo, hi) in TPS.items()
    )
    pivots = ", ".join(
        f"max(value) FILTER (WHERE code = '{c}' AND tp = '{k}') AS {c}__{k}"
        for c in MARKERS
        for k in TPS
    )
    sql = f"""
    WITH tg AS ({tps}),
    ob AS (SELECT patient_id, code, value, epoch(time) AS ts FROM read_parquet('{f}/observations.parquet')),
    j AS (SELECT ob.patient_id, tg.tp, ob.code, ob.value, ob.ts - tg.target AS d FROM ob JOIN tg
          ON ob.patient_id = tg.patient_id AND ob.ts BETWEEN tg.target + tg.lo AND tg.target + tg.hi),
    near AS (SELECT * FROM j QUALIFY row_number() OVER (PARTITION BY patient_id, tp, code
             ORDER BY abs(d), d, value) = 1),
    ev AS (SELECT patient_id,
             min(epoch(time)) FILTER (WHERE event = 'rux_start') AS idx,
             min(epoch(time)) FILTER (WHERE event = 'admission') AS adm,
             min(epoch(time)) FILTER (WHERE event = 'covid_positive') AS pos
           FROM read_parquet('{f}/events.parquet') GROUP BY patient_id)
    SELECT p.patient_id, floor(ev.idx/86400) - floor(ev.pos/86400) AS days_positive_to_start,
           floor(ev.idx/86400) - floor(ev.adm/86400) AS days_admission_to_start, m.* EXCLUDE (patient_id)
    FROM read_parquet('{f}/patients.parquet') p LEFT JOIN ev USING (patient_id)
    LEFT JOIN (SELECT patient_id, {pivots} FROM near GROUP BY patient_id) m USING (patient_id)
    ORDER BY p.patient_id"""
    return duckdb.sql(sql).df()


def run_pandas(folder: Path) -> pd.DataFrame:
    ev = pd.read_parquet(folder / "events.parquet")
    ob = pd.read_parquet(folder / "observations.parquet")
    pats = pd.read_parquet(folder / "patients.parquet")
    rows = []
    ev_by = {k: g for k, g in ev.groupby("patient_id")}
    ob_by = {k: g for k, g in ob.groupby("patient_id")}
    for pid in pats["patient_id"]:
        e = ev_by.get(pid)
        times = dict(zip(e["event"], e["time"], strict=False)) if e is not None else {}
        row = {"patient_id": pid}
        o = ob_by.get(pid, ob.iloc[:0])
        for k, (a, off, lo, hi) in TPS.items():
            if a not in times:
                continue
            target = times[a] + pd.Timedelta(days=off)
            for code in MARKERS:
                s = o[o["code"] == code]
                d = (s["time"] - target).dt.total_seconds()
                s = s.assign(d=d)[(d >= lo * 86400) & (d <= hi * 86400)]
                if len(s):
                    s = s.assign(ad=s["d"].abs()).sort_values(["ad", "d", "value"])
                    row[f"{code}__{k}"] = s["value"].iloc[0]
        if "rux_start" in times and "covid_positive" in times:
            row["days_positive_to_start"] = (
                times["rux_start"].normalize() - times["covid_positive"].normalize()
            ).days
        rows.append(row)
    return pd.DataFrame(rows)


def _child(method: str, folder: str, q: mp.Queue) -> None:  # type: ignore[type-arg]
    fn = {"ibis": run_ibis, "sql": run_sql, "pandas": run_pandas}[method]
    t0 = time.perf_counter()
    out = fn(Path(folder))
    q.put(
        (
            time.perf_counter() - t0,
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            len(out),
        )
    )


def measure(method: str, folder: Path) -> tuple[float, float, int]:
    q: mp.Queue = mp.get_context("spawn").Queue()  # type: ignore[type-arg]
    p = mp.get_context("spawn").Process(target=_child, args=(method, str(folder), q))
    p.start()
    res = q.get()
    p.join()
    return res  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument(
        "--pandas-max",
        type=int,
        default=100_000,
        help="largest cohort on which the pandas version is run",
    )
    args = ap.parse_args()
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            t0 = time.perf_counter()
            make_cohort(n, folder)
            print(f"n={n:,}: cohort written in {time.perf_counter() - t0:.1f} s", flush=True)
            res = {m: measure(m, folder) for m in ("ibis", "sql")}
            if n <= args.pandas_max:
                res["pandas"] = measure("pandas", folder)
            for m, (sec, mb, rows) in res.items():
                print(f"  {m:7s} {sec:8.2f} s  peak {mb:8.0f} MB  rows {rows:,}")
            ib = res["ibis"][0]
            line = f"  ibis/sql = {ib / res['sql'][0]:.2f}x"
            if "pandas" in res:
                line += f"; pandas/ibis = {res['pandas'][0] / ib:.1f}x"
            print(line, flush=True)


if __name__ == "__main__":
    main()
