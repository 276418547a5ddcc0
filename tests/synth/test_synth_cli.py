"""``ruxtrack synth`` on the command line."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ruxtrack.cli import app

runner = CliRunner()


def test_synth_writes_a_folder_and_reports_rows(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["synth", "--patients", "25", "--seed", "4", "--out", str(tmp_path), "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    assert "25 synthetic patients" in result.output
    assert "observations.csv" in result.output
    assert "seed 4 · csv" in result.output
    assert (tmp_path / "patients.csv").read_text(encoding="utf-8").count("\n") == 26


def test_synth_refuses_an_unknown_format(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["synth", "--patients", "5", "--out", str(tmp_path), "--format", "xlsx"]
    )
    assert result.exit_code == 1
    assert 'error: unknown format "xlsx"' in result.output


def test_synth_help_names_the_options() -> None:
    result = runner.invoke(app, ["synth", "--help"])
    assert result.exit_code == 0
    for option in ("--patients", "--seed", "--out", "--format", "--chunk-size"):
        assert option in result.output
