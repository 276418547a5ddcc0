"""docs/fhir.md's mapping tables are generated from the data files and current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_fhir_mapping_tables_in_the_docs_are_current() -> None:
    r = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "tools" / "fhir_tables.py"), "--check"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert r.returncode == 0, "run: python docs/tools/fhir_tables.py"
