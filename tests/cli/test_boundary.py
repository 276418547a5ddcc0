"""The command-line boundary: fast start, exit codes, error lines, no markup, --db forms."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ruxtrack.cli import app
from ruxtrack.cli._app import COMMANDS

HEAVY = ("pandas", "scipy", "statsmodels", "matplotlib", "ibis", "duckdb", "sqlalchemy", "pint")


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["-h"]])
def test_version_and_help_import_no_heavy_module(argv: list[str]) -> None:
    code = (
        "import sys\n"
        "from ruxtrack.cli import app\n"
        f"try:\n    app({argv!r})\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_help_lists_every_command_without_loading_it() -> None:
    code, out = _run("-h")
    assert code == 0
    for name in COMMANDS:
        assert f"  {name} " in out
    assert "Exit codes: 0 success, 1 input refused" in out


def test_subcommand_help_uses_conventional_metavars() -> None:
    code, out = _run("import", "-h")
    assert code == 0
    assert "--db PATH|URL" in out and "<str>" not in out


def test_unknown_command_is_a_usage_error_with_a_suggestion() -> None:
    code, out = _run("imprt", "x")
    assert code == 2
    assert 'no such command "imprt" (did you mean "import"?)' in out


def test_bracketed_text_is_printed_not_read_as_markup(tmp_path: Path) -> None:
    folder = tmp_path / "a[b][lb_av]"
    folder.mkdir()
    (folder / "patients.csv").write_text("patient_id,sex\nP[/x],female\n", encoding="utf-8")
    code, out = _run("import", str(folder), "--db", str(tmp_path / "s.sqlite"))
    assert code == 1
    assert "Traceback" not in out
    assert 'patients.csv, row 2, field `patient_id` (value "P[/x]")' in out


def test_each_problem_is_one_error_line_and_nothing_is_written(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "patients.csv").write_text("patient_id,sex\nP1,bogus\nP2,alien\n", encoding="utf-8")
    db = tmp_path / "s.sqlite"
    code, out = _run("import", str(folder), "--db", str(db))
    lines = [line for line in out.splitlines() if line.startswith("error: ")]
    assert code == 1 and len(lines) == 3
    assert lines[-1] == "error: 2 problems found; nothing was written"
    code, out = _run("patients", "--db", str(db))
    assert code == 0 and "No patients" in out


def test_db_accepts_a_plain_file_path(tmp_path: Path) -> None:
    db = tmp_path / "plain.sqlite"
    code, out = _run("patients", "--db", str(db))
    assert code == 0 and db.is_file()
    assert f"sqlite:///{db}" in out


def test_db_under_a_file_is_refused_cleanly() -> None:
    code, out = _run("patients", "--db", "sqlite:////etc/hostname/x.db")
    assert code == 1 and out.startswith("error: cannot open sqlite:////etc/hostname/x.db")
    assert "Traceback" not in out


def test_missing_postgres_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    code, out = _run("patients", "--db", "postgresql://u@127.0.0.1:1/none")
    assert code == 1
    assert "pip install 'ruxtrack[postgres]'" in out


def test_store_errors_never_print_sql_parameters(tmp_path: Path) -> None:
    from ruxtrack.store import open_store

    db = tmp_path / "s.sqlite"
    with open_store(db) as store:
        import sqlalchemy as sa

        with pytest.raises(sa.exc.SQLAlchemyError) as info, store.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO nowhere VALUES (:p)"), {"p": "SECRET-PATIENT"})
    assert "SECRET-PATIENT" not in str(info.value)
    from ruxtrack.store._store import db_reason

    assert "SECRET-PATIENT" not in db_reason(info.value)


def test_unexpected_errors_are_one_line_without_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    import ruxtrack.cli._registry as registry

    def boom(*_: object, **__: object) -> None:
        raise ZeroDivisionError("patient P7 [/x]")

    monkeypatch.setattr(registry, "open_store", boom)
    code, out = _run("patients")
    assert code == 1
    assert out.startswith("error: unexpected ZeroDivisionError: patient P7 [/x]")
    assert "Traceback" not in out


def test_criteria_input_refuses_deep_and_non_utf8_json(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    latin = tmp_path / "latin.json"
    latin.write_bytes(json.dumps({"x": "café"}, ensure_ascii=False).encode("latin-1"))
    utf16 = tmp_path / "u16.json"
    utf16.write_bytes(json.dumps({"x": 1}).encode("utf-16"))
    for path, reason in ((deep, "nests deeper than 64"), (latin, "not UTF-8"), (utf16, "UTF-16")):
        code, out = _run("criteria", "hscore", "--input", str(path))
        assert code == 1 and reason in out and "Traceback" not in out
