"""Accounts: roles, argon2id hashes, lockout, disable, API tokens (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine
from typer.testing import CliRunner

from ruxtrack.accounts import (
    AccountError,
    Role,
    UnknownUserError,
    authenticate,
    create_user,
    disable_user,
    enable_user,
    get_user,
    hash_password,
    issue_token,
    list_tokens,
    list_users,
    load_policy,
    revoke_token,
    set_password,
    user_for_token,
)
from ruxtrack.cli import app
from ruxtrack.store import Store, audit_entries, open_store

PW = "correct horse battery"


def test_roles_are_the_four_of_the_issue() -> None:
    assert [r.value for r in Role] == ["clinician", "data-manager", "researcher", "admin"]


def test_password_is_stored_as_an_argon2id_hash_never_in_clear(store: Store) -> None:
    create_user(store, "ada", Role.clinician, PW)
    with store.engine.connect() as conn:
        (stored,) = conn.execute(sa.text("SELECT password_hash FROM users")).one()
    assert stored.startswith("$argon2id$") and PW not in stored


def test_production_profile_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUXTRACK_ARGON2_PROFILE")
    p = load_policy().argon2.production
    assert hash_password(PW).startswith(
        f"$argon2id$v=19$m={p.memory_cost_kib},t={p.time_cost},p={p.parallelism}$"
    )
    assert hash_password(PW, profile="test").startswith("$argon2id$v=19$m=8,t=1,p=1$")


def test_sign_in_with_the_right_password_records_last_login(store: Store) -> None:
    create_user(store, "ada", "clinician", PW)
    assert get_user(store, "ada").last_login is None
    user = authenticate(store, "ada", PW, client="127.0.0.1")
    assert user is not None and user.role is Role.clinician and user.last_login is not None
    assert authenticate(store, "ada", PW + "x") is None
    assert authenticate(store, "nobody", PW) is None


def test_bad_name_role_password_and_duplicates_are_refused(store: Store) -> None:
    with pytest.raises(AccountError, match="is not a role: one of clinician, data-manager"):
        create_user(store, "ada", "nurse", PW)
    with pytest.raises(AccountError, match="is not a user name"):
        create_user(store, "bad name", "admin", PW)
    with pytest.raises(AccountError, match="12 to 1024 characters"):
        create_user(store, "ada", "admin", "short")
    create_user(store, "ada", "admin", PW)
    with pytest.raises(AccountError, match='"ada" exists already'):
        create_user(store, "ada", "clinician", PW)
    assert [u.name for u in list_users(store)] == ["ada"]


def test_repeated_failures_lock_the_account_for_the_declared_time(store: Store) -> None:
    policy = load_policy().lockout
    create_user(store, "ada", "clinician", PW)
    with time_machine.travel("2026-12-06 08:00:00Z", tick=False) as clock:
        for _ in range(policy.max_failures - 1):
            assert authenticate(store, "ada", "wrong password!") is None
        assert not get_user(store, "ada").is_locked()
        assert authenticate(store, "ada", "wrong password!") is None
        assert get_user(store, "ada").is_locked()
        # locked: even the right password is refused until the lock expires
        assert authenticate(store, "ada", PW) is None
        clock.shift(timedelta(minutes=policy.duration_minutes) - timedelta(seconds=1))
        assert authenticate(store, "ada", PW) is None
        clock.shift(timedelta(seconds=2))
        assert authenticate(store, "ada", PW) is not None
    reasons = [
        (e.action, (e.detail or {}).get("reason")) for e in audit_entries(store)
        if e.action.startswith("login")
    ]  # fmt: skip
    assert reasons[-3:] == [("login.refused", "locked"), ("login.refused", "locked"),
                            ("login", None)]  # fmt: skip


def test_a_success_resets_the_failure_count(store: Store) -> None:
    max_failures = load_policy().lockout.max_failures
    create_user(store, "ada", "clinician", PW)
    for _ in range(max_failures - 1):
        authenticate(store, "ada", "wrong password!")
    assert authenticate(store, "ada", PW) is not None
    for _ in range(max_failures - 1):
        authenticate(store, "ada", "wrong password!")
    assert not get_user(store, "ada").is_locked()


def test_disabled_user_cannot_sign_in_or_use_tokens(store: Store) -> None:
    create_user(store, "bot", "researcher", PW)
    token = issue_token(store, "bot", label="nightly")
    assert user_for_token(store, token) is not None
    disable_user(store, "bot")
    assert authenticate(store, "bot", PW) is None
    assert user_for_token(store, token) is None
    with pytest.raises(AccountError, match="disabled"):
        issue_token(store, "bot")
    enable_user(store, "bot")
    assert authenticate(store, "bot", PW) is not None
    assert user_for_token(store, token) is not None


def test_token_is_random_hashed_and_revocable(store: Store) -> None:
    create_user(store, "bot", "data-manager", PW)
    t1, t2 = issue_token(store, "bot"), issue_token(store, "bot")
    assert t1 != t2 and t1.startswith("rxt_") and len(t1) > 40
    with store.engine.connect() as conn:
        stored = [h for (h,) in conn.execute(sa.text("SELECT token_hash FROM api_tokens"))]
    assert t1 not in stored and t2 not in stored and len(stored) == 2
    user = user_for_token(store, t1)
    assert user is not None and user.name == "bot" and user.role is Role.data_manager
    assert user_for_token(store, t1[:-1] + ("A" if t1[-1] != "A" else "B")) is None
    assert user_for_token(store, "not a token") is None
    first = list_tokens(store, "bot")[0]
    assert first.last_used is not None and t1.startswith(first.prefix)
    revoke_token(store, first.token_id)
    assert user_for_token(store, t1) is None and user_for_token(store, t2) is not None
    with pytest.raises(AccountError, match="no API token with id 999"):
        revoke_token(store, 999)


def test_unknown_user_is_a_clear_error(store: Store) -> None:
    with pytest.raises(UnknownUserError, match='no user "ghost"'):
        disable_user(store, "ghost")
    with pytest.raises(UnknownUserError):
        issue_token(store, "ghost")


def test_new_password_replaces_the_old_and_clears_a_lock(store: Store) -> None:
    create_user(store, "ada", "clinician", PW)
    for _ in range(load_policy().lockout.max_failures):
        authenticate(store, "ada", "wrong password!")
    set_password(store, "ada", "another long password")
    assert authenticate(store, "ada", PW) is None
    assert authenticate(store, "ada", "another long password") is not None


def test_weak_hash_is_upgraded_at_sign_in(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    create_user(store, "ada", "clinician", PW, profile="test")
    monkeypatch.delenv("RUXTRACK_ARGON2_PROFILE")
    assert authenticate(store, "ada", PW) is not None
    with store.engine.connect() as conn:
        (stored,) = conn.execute(sa.text("SELECT password_hash FROM users")).one()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_account_changes_and_sign_ins_are_audited(store: Store) -> None:
    create_user(store, "root", "admin", PW, actor="admin-cli", client="cli")
    authenticate(store, "root", "wrong password!", client="10.0.0.7")
    actions = [(e.actor, e.action, e.client) for e in audit_entries(store)]
    assert actions == [("admin-cli", "user.create", "cli"), ("root", "login.failed", "10.0.0.7")]
    assert store.verify_audit() is None


# -- command line ------------------------------------------------------------------------------
runner = CliRunner()


def _run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), input=stdin, env={"COLUMNS": "160"})
    return result.exit_code, result.output


def test_cli_users_add_token_disable_list(sqlite_url: str) -> None:
    code, out = _run("users", "add", "ada", "--role", "clinician", "--password-stdin",
                     "--db", sqlite_url, stdin=PW + "\n")  # fmt: skip
    assert code == 0, out
    assert 'added user "ada" (clinician)' in out and PW not in out
    with open_store(sqlite_url) as s:
        assert authenticate(s, "ada", PW) is not None  # the newline was not kept
    code, out = _run("users", "add", "root", "--role", "admin", "--db", sqlite_url)
    assert code == 0 and "password (shown once): " in out
    generated = out.split("password (shown once): ")[1].strip()
    code, out = _run("users", "token", "ada", "--db", sqlite_url)
    assert code == 0
    token = next(w for w in out.split() if w.startswith("rxt_"))
    code, out = _run("users", "disable", "ada", "--db", sqlite_url)
    assert code == 0 and 'user "ada" disabled' in out
    code, out = _run("users", "list", "--db", sqlite_url)
    assert code == 0 and "ada" in out and "disabled" in out and "admin" in out
    with open_store(sqlite_url) as s:
        assert user_for_token(s, token) is None
        assert authenticate(s, "root", generated) is not None
        creators = [e.actor for e in audit_entries(s) if e.action == "user.create"]
    assert len(creators) == 2 and all(a.startswith("os:") for a in creators)


def test_cli_refuses_a_bad_role_without_traceback(sqlite_url: str) -> None:
    code, out = _run("users", "add", "ada", "--role", "nurse", "--password-stdin",
                     "--db", sqlite_url, stdin=PW)  # fmt: skip
    assert code == 1
    assert "is not a role" in out and "Traceback" not in out
    code, out = _run("users", "disable", "ghost", "--db", sqlite_url)
    assert code == 1 and 'no user "ghost"' in out


def test_cli_users_password_replaces_the_password(sqlite_url: str) -> None:
    _run("users", "add", "ada", "--role", "clinician", "--password-stdin", "--db", sqlite_url,
         stdin=PW)  # fmt: skip
    code, out = _run("users", "password", "ada", "--password-stdin", "--db", sqlite_url,
                     stdin="a brand new passphrase\n")  # fmt: skip
    assert code == 0 and 'new password set for "ada"' in out
    with open_store(sqlite_url) as s:
        assert authenticate(s, "ada", PW) is None
        assert authenticate(s, "ada", "a brand new passphrase") is not None
