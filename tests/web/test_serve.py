"""``ruxtrack serve``: the command is registered; --demo loads the demo once and creates the
admin with a one-time password."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ruxtrack import accounts
from ruxtrack.cli import app
from ruxtrack.cli._serve import load_demo
from ruxtrack.store import open_store


def test_serve_is_a_command() -> None:
    r = CliRunner().invoke(app, ["serve", "--help"])
    assert r.exit_code == 0
    assert "--demo" in r.output and "--port" in r.output


def test_demo_loads_once_and_prints_a_one_time_admin_password(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 's.sqlite'}") as store:
        password = load_demo(store)
        assert password is not None and len(password) >= 12
        assert "SYN-007" in store.patient_ids()
        assert accounts.authenticate(store, "admin", password) is not None
        n = store.counts()["observations"]
        assert load_demo(store) is None  # the admin exists: no new password
        assert store.counts()["observations"] == n
