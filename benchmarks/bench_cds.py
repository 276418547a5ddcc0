"""CDS Hooks order-select latency on loopback: full prefetch, 50 concurrent clients.

The service runs in its own process (uvicorn, one worker, JWT checks on: ES384 key set given
out of band); the client process signs one JWT per request in advance, then sends bounded
traffic from 50 concurrent clients and reports latency percentiles. The request is the
end-to-end case of the tests: the seed 004 patient on day 3 with platelets 45 x10^9/L (the
FHIR fixture tests/data/fhir/covid-day3-platelets45.json) and a draft of 10 mg BID.

Run (heavy jobs share the machine, so under the lock)::

    flock /work/wt/heavy.lock .venv/bin/python benchmarks/bench_cds.py --requests 1000

Target (issue 13): p95 <= 50 ms at 50 concurrent clients.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data" / "fhir" / "covid-day3-platelets45.json"
ISS = "https://ehr.bench.example"
SERVICE = "ruxolitinib-order-check"
DAY3 = datetime(2021, 3, 3, 13, 0, tzinfo=UTC)


def _body(weight_kg: float = 82.0) -> dict[str, Any]:
    from ruxtrack.cds import load_cds_knowledge, prefetch_from_resources, prefetch_keys

    bundle = json.loads(FIXTURE.read_text())
    resources = [e["resource"] for e in bundle["entry"]]
    for r in resources:  # vary the chart data to defeat the timeline cache (cold runs)
        if r.get("id") == "weight-adm":
            r["valueQuantity"]["value"] = weight_kg
    pid = next(r["id"] for r in resources if r["resourceType"] == "Patient")
    draft = {
        "resourceType": "MedicationRequest", "id": "draft-rux", "status": "draft",
        "intent": "order", "subject": {"reference": f"Patient/{pid}"},
        "medicationCodeableConcept": {"coding": [{
            "system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1193326"}]},
        "dosageInstruction": [{
            "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
            "doseAndRate": [{"doseQuantity": {"value": 10, "unit": "mg", "code": "mg",
                                              "system": "http://unitsofmeasure.org"}}]}],
    }  # fmt: skip
    context = {
        "userId": "Practitioner/bench", "patientId": pid,
        "selections": ["MedicationRequest/draft-rux"],
        "draftOrders": {"resourceType": "Bundle", "type": "collection",
                        "entry": [{"resource": draft}]},
    }  # fmt: skip
    svc = load_cds_knowledge().service(SERVICE)
    assert svc is not None
    prefetch = prefetch_from_resources(resources, prefetch_keys(svc), context)
    return {
        "hook": "order-select",
        "hookInstance": str(uuid.uuid4()),
        "context": context,
        "prefetch": prefetch,
    }


def serve(port: int, jwks_file: str) -> None:
    """The server process."""
    import logging

    import uvicorn

    from ruxtrack.cds import CdsSettings, TrustedIssuer

    logging.getLogger("ruxtrack").setLevel(logging.WARNING)
    from ruxtrack.web.cds import CdsWebSettings, create_cds_app

    jwks = json.loads(Path(jwks_file).read_text())
    app = create_cds_app(CdsWebSettings(
        issuers=[TrustedIssuer(iss=ISS, jwks=jwks)], public_url=f"http://127.0.0.1:{port}",
        engine=CdsSettings(clock=lambda: DAY3),
    ))  # fmt: skip
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def _run(port: int, key: Any, n: int, concurrency: int, vary: bool = False) -> list[float]:
    import httpx
    import jwt

    url = f"http://127.0.0.1:{port}/cds-services/{SERVICE}"
    fixed = json.dumps(_body()).encode()
    bodies = [json.dumps(_body(82.0 + i / 1000)).encode() for i in range(n)] if vary else None

    def token() -> str:
        now = int(time.time())
        claims = {"iss": ISS, "aud": url, "iat": now, "exp": now + 600, "jti": str(uuid.uuid4())}
        return jwt.encode(claims, key, algorithm="ES384", headers={"kid": "bench", "typ": "JWT"})

    tokens = [token() for _ in range(n)]
    latencies: list[float] = []
    failures: list[int] = []
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    for i, t in enumerate(tokens):
        queue.put_nowait((t, bodies[i] if bodies else fixed))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def worker() -> None:
            while not queue.empty():
                t, body = queue.get_nowait()
                start = time.perf_counter()
                r = await client.post(
                    url,
                    content=body,
                    headers={"Authorization": f"Bearer {t}", "Content-Type": "application/json"},
                )
                latencies.append((time.perf_counter() - start) * 1000)
                if r.status_code != 200 or r.json()["cards"][0]["indicator"] != "critical":
                    failures.append(r.status_code)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    if failures:
        raise SystemExit(f"{len(failures)} failed requests (e.g. HTTP {failures[0]})")
    return latencies


def _pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))]


def _in_process(reps: int = 20) -> dict[str, float]:
    """Where one call's time goes, measured in this process (no HTTP)."""
    from ruxtrack.cds import CdsEngine, CdsSettings
    from ruxtrack.sources.fhir import timeline_from_fhir

    body = _body()
    engine = CdsEngine(CdsSettings(clock=lambda: DAY3))
    asyncio.run(engine.call(SERVICE, body))
    t = time.perf_counter()
    for _ in range(reps):
        asyncio.run(engine.call(SERVICE, body))
    call_ms = (time.perf_counter() - t) / reps * 1000
    resources = [
        r for v in body["prefetch"].values() if v
        for r in (
            [e["resource"] for e in v.get("entry", [])] if v["resourceType"] == "Bundle" else [v]
        )
    ]  # fmt: skip
    t = time.perf_counter()
    for _ in range(reps):
        timeline_from_fhir(resources)
    reader_ms = (time.perf_counter() - t) / reps * 1000
    return {"call_ms": call_ms, "reader_ms": reader_ms}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--serve", nargs=2, metavar=("PORT", "JWKS"))
    args = ap.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1])
        return
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm

    key = ec.generate_private_key(ec.SECP384R1())
    jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="bench", alg="ES384", use="sig")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"keys": [jwk]}, f)
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), f.name],
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    try:
        import httpx

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/cds-services", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        asyncio.run(_run(port, key, 20, 1))  # warm-up
        runs = {}
        for label, vary in (
            ("cold (chart data differ per call)", True),
            ("warm (same chart data: timeline cache)", False),
        ):
            serial = asyncio.run(_run(port, key, 30, 1, vary))
            t0 = time.perf_counter()
            lat = asyncio.run(_run(port, key, args.requests, args.concurrency, vary))
            runs[label] = (serial, lat, time.perf_counter() - t0)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        os.unlink(f.name)
    parts = _in_process()
    print(
        f"order-select, full prefetch, JWT ES384, loopback, 1 uvicorn worker, "
        f"{os.cpu_count()} cores"
    )
    for label, (serial, lat, wall) in runs.items():
        print(f"{label}:")
        print(
            f"  serial (1 client, 30 requests): median {statistics.median(serial):.1f} ms, "
            f"p95 {_pct(serial, 95):.1f} ms"
        )
        print(
            f"  {args.concurrency} concurrent clients, {args.requests} requests in {wall:.1f} s "
            f"({args.requests / wall:.1f} req/s): median {statistics.median(lat):.1f} ms, "
            f"p95 {_pct(lat, 95):.1f} ms, p99 {_pct(lat, 99):.1f} ms, max {max(lat):.1f} ms"
        )
        print("  target p95 <= 50 ms: " + ("met" if _pct(lat, 95) <= 50 else "NOT met"))
    print(
        f"in process, one call (cache warm): {parts['call_ms']:.1f} ms; FHIR -> timeline "
        f"(timeline_from_fhir) alone {parts['reader_ms']:.1f} ms"
    )


if __name__ == "__main__":
    main()
