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
    code, out = _run("demo", "--load-only", "--db", str(db))  # a writing command creates it
    assert code == 0 and db.is_file()
    code, out = _run("patients", "--db", str(db))
    assert code == 0 and f"sqlite:///{db}" in out


def test_a_command_that_only_reads_never_creates_a_store(tmp_path: Path) -> None:
    """A mistyped --db path is an error naming it, not a new empty store."""
    db = tmp_path / "typo.sqlite"
    for args in (
        ["patients"],
        ["timeline", "SYN-001"],
        ["export", str(tmp_path / "out")],
        ["audit-log", "verify"],
    ):
        code, out = _run(*args, "--db", str(db))
        assert code == 1, (args, out)
        assert out.startswith(f"error: no store at {db}: the file does not exist"), (args, out)
        assert not db.exists(), args


def test_db_under_a_file_is_refused_cleanly() -> None:
    code, out = _run("demo", "--load-only", "--db", "sqlite:////etc/hostname/x.db")
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


def test_staged_output_leaves_out_untouched_on_failure(tmp_path: Path) -> None:
    from ruxtrack.cli._output import staged_output

    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), staged_output(out) as stage:
        (stage / "keep.txt").write_text("new", encoding="utf-8")
        (stage / "half.html").write_text("...", encoding="utf-8")
        raise RuntimeError("fails late")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert (out / "keep.txt").read_text(encoding="utf-8") == "old"
    with staged_output(out) as stage:
        (stage / "sub").mkdir()
        (stage / "sub" / "a.csv").write_text("a", encoding="utf-8")
    assert (out / "sub" / "a.csv").is_file() and (out / "keep.txt").is_file()


def _width_ok(out: str) -> list[str]:
    from rich.cells import cell_len

    return [line for line in out.splitlines() if cell_len(line) > 80]


@pytest.mark.parametrize(
    "argv",
    [
        ["evidence"],
        ["evidence", "prisma"],
        ["criteria", "--list"],
        ["criteria", "hscore", "--describe"],
        ["regimens"],
        ["studies", "list"],
    ],
)
def test_output_fits_80_columns(argv: list[str]) -> None:
    result = CliRunner().invoke(app, argv, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert _width_ok(result.output) == []


def test_demo_fits_80_columns_without_cropping(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(
        app, ["demo", "--db", str(tmp_path / "d.sqlite"), "--out", str(out)],
        env={"COLUMNS": "80"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    long = [line for line in _width_ok(result.output) if str(tmp_path) not in line]
    assert long == []
    assert "…" not in result.output  # nothing cropped


def test_criteria_at_says_why_it_cannot_evaluate(tmp_path: Path) -> None:
    db = str(tmp_path / "d.sqlite")
    CliRunner().invoke(app, ["import", str(Path(__file__).parents[2] / "docs/examples/canonical"),
                             "--db", db])  # fmt: skip
    code, out = _run("criteria", "hscore", "--patient", "EX-HSCT-01", "--at", "2021-01-01",
                     "--db", db)  # fmt: skip
    assert code == 1 and "recorded in days relative to events" in out
    code, out = _run("criteria", "hscore", "--patient", "EX-COVID-01", "--at", "2035-01-01",
                     "--db", db)  # fmt: skip
    assert code == 1 and "outside the follow-up of patient EX-COVID-01" in out
    code, out = _run("criteria", "hscore", "--patient", "ex-covid-01", "--db", db)
    assert code == 1 and 'did you mean "EX-COVID-01"' in out
    code, out = _run("criteria", "hscore", "--patient", "EX-COVID-01", "--at", "admision+1d",
                     "--db", db)  # fmt: skip
    assert code == 1 and "did you mean admission" in out
