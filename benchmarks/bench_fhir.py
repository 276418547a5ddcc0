"""Benchmark: FHIR R4 import and export of the demo cohort, replicated.

The 18 synthetic Sarmiento 2021 patients are exported as Bundles once, then replicated under
new patient ids into one bulk NDJSON file of ``--copies`` x 18 patients. Timed: reading and
validating it (``read_source(path, "fhir")``), the store import (SQLite, one transaction) and
the export back to one Bundle per patient. Bounded: the default 20 copies (360 patients,
about 30,000 resources) runs in a minute on the project's 2-core machine.

Usage::

    python benchmarks/bench_fhir.py [--copies 20]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from ruxtrack.demo import demo_datasets
    from ruxtrack.sources import read_folder, read_source
    from ruxtrack.sources.fhir import bundle_from_timeline, write_fhir
    from ruxtrack.store import open_store

    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=20)
    args = ap.parse_args()
    tls = read_folder(demo_datasets()["sarmiento-2021-synthetic"])
    bundles = [bundle_from_timeline(tl) for tl in tls]
    with tempfile.TemporaryDirectory() as tmp:
        nd = Path(tmp) / "bulk.ndjson"
        n = 0
        with nd.open("w", encoding="utf-8") as fh:
            for k in range(args.copies):
                for b in bundles:
                    patient = b["entry"][0]["resource"]
                    pid = patient["identifier"][0]["value"]
                    ref = f"Patient/c{k}-{patient['id']}"[:72]
                    for e in b["entry"]:
                        r = json.loads(json.dumps(e["resource"]))
                        r["id"] = f"c{k}-{r['id']}"[:64]
                        if r["resourceType"] == "Patient":
                            r["identifier"][0]["value"] = f"{pid}-C{k}"
                        else:
                            r["subject"] = {"reference": ref}  # bulk data: Patient/id
                        fh.write(json.dumps(r) + "\n")
                        n += 1
        size = nd.stat().st_size
        t0 = time.perf_counter()
        result = read_source(nd, "fhir")
        t1 = time.perf_counter()
        assert not result.problems, result.problems[:3]
        store = open_store(f"sqlite:///{Path(tmp) / 'b.db'}")
        t2 = time.perf_counter()
        store.import_source(result)
        t3 = time.perf_counter()
        files, _ = write_fhir(store.timelines(), Path(tmp) / "out")
        t4 = time.perf_counter()
        store.close()
    patients = len(result.timelines)
    print(f"{patients} patients, {n} resources, {size / 1e6:.1f} MB")
    print(f"read + validate NDJSON: {t1 - t0:.2f} s ({n / (t1 - t0):,.0f} resources/s)")
    print(f"store import (SQLite):  {t3 - t2:.2f} s")
    print(f"export {len(files)} Bundles:  {t4 - t3:.2f} s")


if __name__ == "__main__":
    main()
