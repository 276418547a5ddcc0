"""Write the CDS Hooks requirement coverage table into docs/cds-hooks.md.

Reads the numbered service requirements (tests/data/cds/cds-hooks-2.0-service-requirements.tsv),
the ``@pytest.mark.cds_req(...)`` markers of tests/cds (by parsing the test files, without
running them) and tests/data/cds/requirements-not-tested.tsv; replaces the text between the
``<!-- coverage:start -->`` and ``<!-- coverage:end -->`` markers. ``--check`` only compares.

    python scripts/cds_coverage.py          # rewrite the table
    python scripts/cds_coverage.py --check  # exit 1 when the table is out of date
"""

from __future__ import annotations

import ast
import csv
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "cds"
DOC = ROOT / "docs" / "cds-hooks.md"
START, END = "<!-- coverage:start -->", "<!-- coverage:end -->"


def markers() -> dict[int, list[str]]:
    """Requirement id -> tests naming it (module::function)."""
    out: dict[int, list[str]] = defaultdict(list)
    for path in sorted((ROOT / "tests" / "cds").glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef):
                continue
            for dec in node.decorator_list:
                if (
                    isinstance(dec, ast.Call)
                    and isinstance(dec.func, ast.Attribute)
                    and dec.func.attr == "cds_req"
                ):
                    for arg in dec.args:
                        if isinstance(arg, ast.Constant) and isinstance(arg.value, int):
                            out[arg.value].append(f"{path.stem}::{node.name}")
    return out


def table() -> str:
    covered = markers()
    untested: dict[int, tuple[str, str]] = {}
    for line in (DATA / "requirements-not-tested.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            rid, status, reason = line.split("\t")
            untested[int(rid)] = (status, reason)
    rows = ["| # | level | requirement (abridged) | status | where |", "|---|---|---|---|---|"]
    counts: dict[str, int] = defaultdict(int)
    with (DATA / "cds-hooks-2.0-service-requirements.tsv").open(encoding="utf-8") as f:
        for rid_s, level, _actor, url, text in csv.reader(f, delimiter="\t"):
            rid = int(rid_s)
            short = " ".join(text.split())
            short = (short[:110] + "…") if len(short) > 111 else short
            short = short.replace("|", "\\|")
            anchor = url.rsplit("#", 1)[-1]
            if rid in covered:
                status, where = "covered", "<br>".join(f"`{t}`" for t in covered[rid])
            elif rid in untested:
                status, where = untested[rid]
            else:
                status, where = "not yet", ""
            counts[status] += 1
            rows.append(
                f"| {rid} | {level} | {short} ([§]({url})) | {status} | {where} |".replace(
                    f"([§]({url}))", f"([{anchor}]({url}))"
                )
            )
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    return "\n".join([f"{sum(counts.values())} service requirements: {summary}.", "", *rows])


def main() -> int:
    doc = DOC.read_text(encoding="utf-8")
    a, b = doc.index(START) + len(START), doc.index(END)
    new = doc[:a] + "\n" + table() + "\n" + doc[b:]
    if "--check" in sys.argv:
        return 0 if new == doc else 1
    DOC.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
