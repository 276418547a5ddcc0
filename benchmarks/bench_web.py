"""Benchmark: the web app on loopback, 20 concurrent clients, demo store (run on demand).

    flock /work/wt/heavy.lock .venv/bin/python benchmarks/bench_web.py [--clients 20]
        [--requests 25] [--db sqlite:///path]

Starts ``ruxtrack serve`` (uvicorn, one worker) in a subprocess on a free loopback port, on the
demo store (loaded into a temporary SQLite store unless --db names one), creates a clinician
with an API token, then runs a bounded request loop: each of ``--clients`` threads sends
``--requests`` requests in turn to the patient page and to the decision API. Prints p50/p95/p99
latency per endpoint and the throughput. Targets (issue 12): p95 <= 150 ms for the page,
<= 50 ms for the decision.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

PATIENT = "SYN-007"
REGIMEN = "sarmiento-2021-covid"
DAY = "2020-05-02"
ENDPOINTS = {
    "patient page": f"/patients/{PATIENT}?regimen={REGIMEN}&day={DAY}",
    "decision API": f"/api/patients/{PATIENT}/decision?regimen={REGIMEN}&date={DAY}",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare(db: str | None, tmp: Path) -> tuple[str, str, str, str]:
    from ruxtrack import accounts
    from ruxtrack.demo import demo_datasets
    from ruxtrack.store import open_store

    url = db or f"sqlite:///{tmp / 'demo.sqlite'}"
    with open_store(url) as store:
        if PATIENT not in store.patient_ids():
            for folder in demo_datasets().values():
                store.import_folder(folder)
        name = f"bench-{os.getpid()}"
        password = accounts.generate_password()
        accounts.create_user(store, name, "clinician", password)
        token = accounts.issue_token(store, name)
    return url, token, name, password


def _signed_in(base: str, name: str, password: str) -> httpx.Client:
    """A client with a session (signed in through the form, as a browser is)."""
    c = httpx.Client(base_url=base, timeout=30)
    page = c.get("/login").text
    m = re.search(r'name="_csrf_token" value="([^"]+)"', page)
    assert m is not None
    r = c.post("/login", data={"username": name, "password": password, "_csrf_token": m[1]})
    assert r.status_code in (302, 303), r.status_code
    return c


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--requests", type=int, default=25, help="requests per client and endpoint")
    ap.add_argument("--db", default=None)
    ap.add_argument(
        "--auth",
        choices=("session", "token"),
        default="session",
        help="browser session (default) or API token (each use is recorded: a write)",
    )
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        url, token, name, password = _prepare(args.db, Path(tmp))
        print(f"store ready in {time.perf_counter() - t0:.1f} s: {url}")
        port = _free_port()
        exe = Path(sys.executable).with_name("ruxtrack")
        server = subprocess.Popen(
            [str(exe), "serve", "--db", url, "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token}"}
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start")
                time.sleep(0.2)
            with httpx.Client(base_url=base, headers=headers, timeout=30) as warm:
                for path in ENDPOINTS.values():
                    for _ in range(5):
                        assert warm.get(path).status_code == 200
            lat: dict[str, list[float]] = {k: [] for k in ENDPOINTS}
            errors: list[str] = []
            lock = threading.Lock()

            def client(_: int) -> None:
                c = (
                    httpx.Client(base_url=base, headers=headers, timeout=30)
                    if args.auth == "token"
                    else _signed_in(base, name, password)
                )
                try:
                    for _ in range(args.requests):
                        for label, path in ENDPOINTS.items():
                            t = time.perf_counter()
                            r = c.get(path)
                            dt = (time.perf_counter() - t) * 1000
                            with lock:
                                lat[label].append(dt)
                                if r.status_code != 200:
                                    errors.append(f"{label}: {r.status_code}")
                finally:
                    c.close()

            t1 = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                list(pool.map(client, range(args.clients)))
            wall = time.perf_counter() - t1
        finally:
            server.terminate()
            server.wait(timeout=20)
    total = sum(len(v) for v in lat.values())
    print(
        f"{args.clients} concurrent clients x {args.requests} requests per endpoint, "
        f"{total} requests in {wall:.1f} s ({total / wall:.0f} req/s), auth {args.auth}, "
        f"errors: {len(errors)}"
    )
    for label, values in lat.items():
        print(
            f"{label:13s} n={len(values)}  p50 {statistics.median(values):6.1f} ms  "
            f"p95 {_percentile(values, 95):6.1f} ms  p99 {_percentile(values, 99):6.1f} ms"
        )


if __name__ == "__main__":
    main()
