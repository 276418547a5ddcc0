"""Benchmark: regimen decisions for >= 1,000,000 synthetic patient-days (run on demand).

    /work/venv/bin/python benchmarks/bench_protocol.py [--rows 1000000] [--loop 2000] [--seed 7]

The vectorised path (``evaluate_columns`` on a column table) is timed over all rows; the
straightforward one-decision-at-a-time loop (``decide_inputs``: gather-free, explained Decision
objects) is timed on a subsample and extrapolated. Peak memory is measured with tracemalloc.
The two paths are checked to agree on the subsample.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from ruxtrack.protocol import (
    INTERVAL_LABS,
    DecisionInputs,
    DoseState,
    DrugFact,
    LabReading,
    decide_inputs,
    evaluate_columns,
    grade_interval,
    interval_columns,
    load_regimen,
    to_columns,
)
from ruxtrack.protocol._engine import required_columns


def synthetic_columns(regimen_id: str, n: int, seed: int) -> dict[str, np.ndarray]:
    reg = load_regimen(regimen_id)
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {}
    for name in required_columns(reg):
        cols[name] = np.full(n, np.nan)
    cols["state"] = rng.choice([0.0, 1.0, 1.0, 1.0, 2.0], n)
    cols["course_day"] = rng.integers(1, 20, n).astype(float)
    cols["days_on_drug"] = rng.integers(1, 400, n).astype(float)
    level = rng.integers(0, max(len(reg.dose_levels), 1), n).astype(float)
    dailies = np.array([lv.daily_mg for lv in reg.dose_levels] or [20.0])
    cols["current_level"] = np.where(cols["state"] > 0, level, np.nan)
    cols["current_daily"] = np.where(
        cols["state"] > 0, dailies[level.astype(int) % len(dailies)], np.nan
    )
    cols["previous_level"] = np.where(rng.random(n) < 0.3, np.maximum(level - 1, 0), np.nan)
    cols["state_days"] = rng.integers(0, 90, n).astype(float)
    for lab, (lo, hi) in {
        "plt": (5, 400),
        "anc": (0.1, 8),
        "bili_xuln": (0.2, 12),
        "crcl": (8, 140),
    }.items():
        cols[lab] = rng.uniform(lo, hi, n)
        status = np.where(rng.random(n) < 0.03, 1.0, 0.0)
        cols[lab] = np.where(status == 0, cols[lab], np.nan)
        cols[f"{lab}_status"] = status
        cols[f"{lab}@change"] = rng.uniform(lo, hi, n)
    # 5% of the platelet and ANC values are clinician-stated CTCAE grades (intervals)
    terms = {"plt": "platelet_count_decreased", "anc": "neutrophil_count_decreased"}
    cols["grade:plt"] = np.full(n, np.nan)
    cols["grade:anc"] = np.full(n, np.nan)
    for lab in INTERVAL_LABS:
        lo, hi = cols[lab].copy(), cols[lab].copy()
        stated = (rng.random(n) < 0.05) & (cols[f"{lab}_status"] == 0)
        grades = rng.integers(1, 5, n)
        for g in range(1, 5):
            iv = grade_interval(terms[lab], g)
            assert iv is not None
            m = stated & (grades == g)
            glo = iv.low if iv.low_inclusive or np.isinf(iv.low) else np.nextafter(iv.low, np.inf)
            ghi = (
                iv.high
                if iv.high_inclusive or np.isinf(iv.high)
                else np.nextafter(iv.high, -np.inf)
            )
            lo[m], hi[m] = glo, ghi
        cols[lab] = np.where(stated, np.nan, cols[lab])
        cols[f"grade:{lab}"] = np.where(stated, grades, np.nan)
        cols[f"{lab}_lo"], cols[f"{lab}_hi"] = lo, hi
        cols[f"{lab}@change_lo"] = cols[f"{lab}@change"].copy()
        cols[f"{lab}@change_hi"] = cols[f"{lab}@change"].copy()
    assert all(c in cols for c in interval_columns())
    cols["plt_fall_pct"] = rng.uniform(-50, 80, n)
    cols["anc_fall_pct"] = rng.uniform(-50, 80, n)
    for fact in (
        "liver_gvhd",
        "dialysis",
        "invasive_ventilation",
        "covid_pcr_confirmed",
        "who_viral_pneumonia",
        "other_interventional_trial",
        "taper_in_progress",
    ):
        cols[fact] = rng.choice([0.0, 0.0, 0.0, 1.0], n)
    cols["age_years"] = rng.uniform(14, 85, n)
    cols["bsa_m2"] = rng.uniform(1.2, 2.3, n)
    for cls in reg.drug_classes():
        for sfx in ("", "@change"):
            cols[f"drug:{cls}{sfx}"] = (rng.random(n) < 0.1).astype(float)
            cols[f"drug_mg:{cls}{sfx}"] = rng.choice([100.0, 200.0, 400.0], n)
    return cols


def row_inputs(reg_id: str, cols: dict[str, np.ndarray], i: int) -> DecisionInputs:
    """The same patient-day as a DecisionInputs object (for the one-at-a-time loop)."""
    reg = load_regimen(reg_id)
    states = ("naive", "on", "interrupted", "unknown")

    def v(name: str) -> float | None:
        x = float(cols[name][i])
        return None if np.isnan(x) else x

    def b(name: str) -> bool | None:
        x = v(name)
        return None if x is None else x == 1.0

    labs = {}
    terms = {"plt": "platelet_count_decreased", "anc": "neutrophil_count_decreased"}
    for lab in ("plt", "anc", "bili_xuln", "crcl"):
        st = int(cols[f"{lab}_status"][i])
        grade = v(f"grade:{lab}") if lab in INTERVAL_LABS else None
        if grade is not None:
            iv = grade_interval(terms[lab], int(grade))
            labs[lab] = LabReading(lab, "ok", None, "10*9/L", interval=iv)
            continue
        labs[lab] = LabReading(lab, "ok" if st == 0 else "missing", v(lab), "")
    drugs = []
    at_change = []
    for cls in reg.drug_classes():
        if cols[f"drug:{cls}"][i] == 1.0:
            drugs.append(DrugFact(cls, (cls,), v(f"drug_mg:{cls}")))
        if cols[f"drug:{cls}@change"][i] == 1.0:
            at_change.append(DrugFact(cls, (cls,), v(f"drug_mg:{cls}@change")))
    level = v("current_level")
    prev = v("previous_level")
    state = states[int(cols["state"][i])]
    fall = {"plt": v("plt_fall_pct"), "anc": v("anc_fall_pct")}
    baseline = {}
    for lab in ("plt", "anc"):
        now, f = labs[lab].value, fall[lab]
        baseline[lab] = None if now is None or f is None or f >= 100 else now / (1 - f / 100)
    return DecisionInputs(
        regimen_id=reg_id,
        on_date=None,
        course_day=int(cols["course_day"][i]),
        days_on_drug=int(cols["days_on_drug"][i]),
        labs=labs,
        facts={
            f: b(f)
            for f in (
                "liver_gvhd",
                "dialysis",
                "invasive_ventilation",
                "covid_pcr_confirmed",
                "who_viral_pneumonia",
                "other_interventional_trial",
            )
        },
        state=DoseState(
            state,
            v("current_daily"),
            None if level is None else int(level),
            None if prev is None or state != "on" else int(prev),
            int(cols["state_days"][i]),
            None,
            b("taper_in_progress"),
            None,
            {lab: v(f"{lab}@change") for lab in labs},
            tuple(at_change) if state in ("on", "interrupted") else (),
        ),
        age_years=v("age_years"),
        bsa_m2=v("bsa_m2"),
        baseline=baseline,
        drugs=tuple(drugs),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--loop", type=int, default=2_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--regimen", default="jakavi-eu-agvhd")
    args = ap.parse_args()
    reg = load_regimen(args.regimen)

    cols = synthetic_columns(args.regimen, args.rows, args.seed)
    grades = {k: cols.pop(k) for k in [k for k in cols if k.startswith("grade:")]}
    evaluate_columns(reg, {k: v[:1000] for k, v in cols.items()})  # warm-up
    # time without tracing (tracemalloc slows allocation-heavy code), then measure memory apart
    t0 = time.perf_counter()
    res = evaluate_columns(reg, cols)
    vec_s = time.perf_counter() - t0
    del res
    tracemalloc.start()
    res = evaluate_columns(reg, cols)
    _, vec_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    input_mb = sum(v.nbytes for v in cols.values()) / 2**20

    rows = [row_inputs(args.regimen, {**cols, **grades}, i) for i in range(args.loop)]
    t0 = time.perf_counter()
    loop = [decide_inputs(reg, x) for x in rows]
    loop_s = time.perf_counter() - t0
    tracemalloc.start()
    for x in rows[:200]:
        decide_inputs(reg, x)
    _, loop_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    agree = all(
        d.action == res.action_names()[i] and d.daily_total_mg == res.daily_total_mg[i]
        for i, d in enumerate(loop)
    )
    re_cols = evaluate_columns(reg, to_columns(reg, rows))
    agree &= bool(np.array_equal(re_cols.action, res.action[: args.loop]))

    per_s_vec = args.rows / vec_s
    per_s_loop = args.loop / loop_s
    counts = np.bincount(res.action, minlength=9)
    print(
        f"regimen: {args.regimen}; rows: {args.rows:,}; input columns: {len(cols)} "
        f"({input_mb:,.0f} MiB)"
    )
    print(
        f"vectorised : {vec_s:8.3f} s  {per_s_vec:14,.0f} patient-days/s  "
        f"peak extra memory {vec_peak / 2**20:,.0f} MiB"
    )
    print(
        f"loop (n={args.loop:,}): {loop_s:8.3f} s  {per_s_loop:14,.0f} patient-days/s  "
        f"peak {loop_peak / 2**10:,.0f} KiB (one decision at a time); "
        f"extrapolated to {args.rows:,} rows: "
        f"{args.rows / per_s_loop:,.0f} s"
    )
    print(f"speed-up: {per_s_vec / per_s_loop:,.0f}x; paths agree on the subsample: {agree}")
    print(
        "actions:",
        {
            name: int(c)
            for name, c in zip(
                (
                    "start",
                    "continue",
                    "reduce",
                    "hold",
                    "resume",
                    "discontinue",
                    "complete",
                    "not_eligible",
                    "no_recommendation",
                ),
                counts,
                strict=True,
            )
        },
    )


if __name__ == "__main__":
    main()
