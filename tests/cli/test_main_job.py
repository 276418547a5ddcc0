"""The README's main job: ``ruxtrack demo`` loads, decides, evaluates and reports."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ruxtrack.cli import app


def test_demo_main_job_shows_decision_criteria_and_writes_report(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["demo", "--db", db, "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = result.output
    # the dose decision: SYN-007's platelets fell below 100 x10^9/L on course day 3 (seed 004
    # Methods: "thrombocytopenia with <100,000 cells/uL, the dosage was reduced by 50%")
    assert "REDUCE" in text
    assert "total 10 mg/day" in text
    assert "platelets_below_100" in text
    # the criteria of the published case (seed 000: six of the eight HLH-2004 criteria)
    assert "established" in text
    assert "stated 6 of 8 criteria met; computed 6 (+2 unknown)" in text
    assert "Neutrophil count decreased: grade 3" in text
    # the cohort report
    assert (out / "report.html").is_file()
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["study"] == "sarmiento-2021"
    assert "18 of 19 patients in the store included" in text


def test_demo_load_only_stops_after_loading(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["demo", "--db", db, "--out", str(out), "--load-only"])
    assert result.exit_code == 0, result.output
    assert "Next: ruxtrack patients" in result.output
    assert not out.exists()
