"""The registry commands through typer's CliRunner: exit codes and key lines."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import pytest
from _store_build import EXAMPLE
from typer.testing import CliRunner

from ruxtrack.cli import app
from ruxtrack.store import open_store

BAD = Path(__file__).parents[1] / "data" / "import" / "implausible_platelets"
runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "160"})
    return result.exit_code, result.output


def test_import_prints_a_summary_and_is_idempotent(sqlite_url: str) -> None:
    code, out = _run("import", str(EXAMPLE), "--db", sqlite_url)
    assert code == 0, out
    assert "observations │       12 │" in out and f"store: {sqlite_url}" in out
    code, out = _run("import", str(EXAMPLE), "--db", sqlite_url)
    assert code == 0 and "Nothing changed" in out
    assert "observations │        0 │          │       0 │        12 │" in out


def test_import_of_a_bad_folder_lists_problems_and_writes_nothing(sqlite_url: str) -> None:
    code, out = _run("import", str(BAD), "--db", sqlite_url)
    assert code == 1
    assert 'observations.csv, row 3, field `value` (value "184")' in out
    assert "error: 1 problem found; nothing was written" in out
    with open_store(sqlite_url) as s:
        assert set(s.counts().values()) == {0}


def test_export_writes_a_folder_that_reimports_unchanged(sqlite_url: str, tmp_path: Path) -> None:
    _run("import", str(EXAMPLE), "--db", sqlite_url)
    code, out = _run("export", str(tmp_path / "out"), "--format", "parquet", "--db", sqlite_url)
    assert code == 0 and "observations.parquet  12 rows" in out
    code, out = _run("import", str(tmp_path / "out"), "--db", sqlite_url)
    assert code == 0 and "Nothing changed" in out


def test_export_refuses_an_unknown_format(sqlite_url: str, tmp_path: Path) -> None:
    code, out = _run("export", str(tmp_path), "--format", "xlsx", "--db", sqlite_url)
    assert code == 1 and 'unknown export format "xlsx"' in out


def test_patients_lists_each_patient(sqlite_url: str) -> None:
    _run("import", str(EXAMPLE), "--db", sqlite_url)
    code, out = _run("patients", "--db", sqlite_url)
    assert code == 0
    assert "2 patients in" in out
    assert "EX-COVID-01 │ male   │  62 │ yes   │ dates │" in out
    assert "EX-HSCT-01  │ female │  11 │ yes   │ days  │ hsct, hsct#2" in out


def test_timeline_prints_the_course_day_by_day(sqlite_url: str) -> None:
    _run("import", str(EXAMPLE), "--db", sqlite_url)
    code, out = _run("timeline", "EX-COVID-01", "--anchor", "rux_start", "--db", sqlite_url)
    assert code == 0, out
    assert "day 0 = rux_start; calendar dates" in out
    assert "0 │ 2020-04-15 │ 14:20 │ event   │ rux_start" in out
    assert "crp 185 mg/L (given as 18.5 mg/dL)" in out
    assert "hfnc FiO2 60% 50 L/min (until day 5)" in out
    assert "ruxolitinib 5 mg BID oral (until day 6) — start" in out


def test_timeline_of_a_relative_only_patient_shows_no_dates(sqlite_url: str) -> None:
    _run("import", str(EXAMPLE), "--db", sqlite_url)
    code, out = _run("timeline", "EX-HSCT-01", "--db", sqlite_url)
    assert code == 0
    assert "day 0 = hsct#2; relative days only (no calendar dates)" in out
    assert "+74 │" in out and "2000-" not in out


def test_timeline_errors_name_the_patient_or_anchor(sqlite_url: str) -> None:
    _run("import", str(EXAMPLE), "--db", sqlite_url)
    code, out = _run("timeline", "NOPE", "--db", sqlite_url)
    assert code == 1 and 'no patient "NOPE"' in out
    code, out = _run("timeline", "EX-HSCT-01", "--anchor", "admission", "--db", sqlite_url)
    assert code == 1 and "has no event admission; events: hsct, hsct#2" in out


def test_db_option_is_read_from_the_environment(sqlite_url: str) -> None:
    result = runner.invoke(
        app, ["import", str(EXAMPLE)], env={"RUXTRACK_DATABASE_URL": sqlite_url, "COLUMNS": "160"}
    )
    assert result.exit_code == 0 and f"store: {sqlite_url}" in result.output


def test_every_registry_command_has_help() -> None:
    for command in ("import", "export", "patients", "timeline", "demo"):
        code, out = _run(command, "--help")
        assert code == 0 and "--db" in out


def _has_demo() -> bool:
    if importlib.util.find_spec("ruxtrack.demo") is None:
        return False
    return hasattr(importlib.import_module("ruxtrack.demo"), "demo_datasets")


@pytest.mark.skipif(not _has_demo(), reason="the demo package is not built yet")
def test_demo_loads_the_shipped_datasets(sqlite_url: str) -> None:
    code, out = _run("demo", "--db", sqlite_url)
    assert code == 0, out
    assert f"store: {sqlite_url}" in out
    with open_store(sqlite_url) as s:
        assert s.counts()["patients"] > 0


def test_timeline_shows_bracketed_codes_verbatim(tmp_path: Path) -> None:
    """Rich markup must not swallow text in brackets: the demo's "KL-6 elevated" finding
    carries its lab code as ``[kl6]``."""
    from ruxtrack.demo import demo_datasets

    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    _run("import", str(demo_datasets()["tomomasa-2021"]), "--db", url)
    code, out = _run("timeline", "TOMOMASA-2021", "--db", url)
    assert code == 0, out
    assert "finding: elevated [kl6]" in out
