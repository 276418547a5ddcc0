"""Benchmark: the versioned, audited store (run on demand; SQLite, or PostgreSQL with --db).

    .venv/bin/python benchmarks/bench_store.py [--patients 1000] [--obs 100] [--db URL]

Times: first import (every patient inserted, one audit entry each), an unchanged re-import,
a re-import where 10% of patients changed one value (versioned), 200 single-record edits,
200 audited timeline reads (now and as of before the edits), and a full audit-chain verify.
Works on older checkouts too (PYTHONPATH=other/src) for the import figures.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from ruxtrack.store import open_store
from ruxtrack.timeline import Event, Observation, Patient, Timeline


def patient(i: int, n_obs: int, bump: float = 0.0) -> Timeline:
    pid = f"B{i:06d}"
    return Timeline(
        patient=Patient(patient_id=pid, sex="female" if i % 2 else "male", age_years=40 + i % 40),
        events=(Event(patient_id=pid, event="admission", time="2020-04-06T10:00"),),
        observations=tuple(
            Observation(patient_id=pid, time=f"admission+{d}h", code="crp",
                        value=20.0 + (d % 50) + (bump if d == 0 else 0.0), unit="mg/L")
            for d in range(n_obs)
        ),
    )  # fmt: skip


def timed(label: str, fn: object) -> object:
    t0 = time.perf_counter()
    out = fn()  # type: ignore[operator]
    print(f"{label:<48} {time.perf_counter() - t0:8.2f} s")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=1000)
    ap.add_argument("--obs", type=int, default=100)
    ap.add_argument("--db", default=None)
    args = ap.parse_args()
    url = args.db or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite'}"
    n, m = args.patients, args.obs
    tls = [patient(i, m) for i in range(n)]
    print(f"{n} patients x {m} observations = {n * m} rows; {url.split('@')[-1]}")
    with open_store(url) as store:
        timed("import (all new)", lambda: store.import_timelines(tls))
        timed("re-import unchanged", lambda: store.import_timelines(tls))
        changed = [patient(i, m, bump=1.0) if i % 10 == 0 else tls[i] for i in range(n)]
        timed("re-import, 10% of patients changed", lambda: store.import_timelines(changed))
        if not hasattr(store, "edit_record"):
            return
        before = datetime.now(UTC)
        ids = [f"B{i:06d}" for i in range(0, n, max(1, n // 200))][:200]
        timed(f"{len(ids)} edit_record calls (reason, audit)", lambda: [
            store.edit_record(pid, "observations", 1, {"value": 99.0}, reason="bench")
            for pid in ids
        ])  # fmt: skip
        timed(f"{len(ids)} timeline reads (audited)", lambda: [store.timeline(p) for p in ids])
        timed(f"{len(ids)} timeline reads as of before the edits",
              lambda: [store.timeline(p, as_of=before) for p in ids])  # fmt: skip
        head = store.verify_audit()
        assert head is None, head
        timed("verify the audit chain", store.verify_audit)
        with store.engine.connect() as conn:
            import sqlalchemy as sa

            k = conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one()
        print(f"audit entries: {k}")


if __name__ == "__main__":
    main()
