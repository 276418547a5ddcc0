"""Accounts and audit commands: ``users ...`` and ``audit-log ...`` (docs/accounts.md)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ruxtrack.cli._errors import cli_errors, err_console
from ruxtrack.cli._options import DbOption
from ruxtrack.cli._registry import ActorOption, _store

__all__ = ["register"]

console = Console(highlight=False, soft_wrap=True)

users_app = typer.Typer(
    help="Manage the users of the web application (roles, passwords, API tokens).",
    no_args_is_help=True,
)
audit_app = typer.Typer(
    help="Check and export the hash-chained audit log.",
    no_args_is_help=True,
)

#: Exit code of ``audit-log verify`` when the chain is broken (1 is any other error).
EXIT_BROKEN = 3


def _when(t: datetime | None) -> str:
    return "" if t is None else t.strftime("%Y-%m-%d %H:%M UTC")


PasswordStdinOption = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from standard input (else one is generated and shown once).",
    ),
]


def _password(from_stdin: bool) -> str:
    """The password typed on standard input, or a generated one."""
    from ruxtrack.accounts import generate_password

    if not from_stdin:
        return generate_password()
    text = sys.stdin.read()
    # One trailing line break belongs to `echo`/a file, not to the password.
    if text.endswith("\r\n"):
        return text[:-2]
    return text.removesuffix("\n")


def _show_generated(password: str, from_stdin: bool) -> None:
    if not from_stdin:
        console.print(f"password (shown once): {password}", markup=False)


@users_app.command("add")
def add_command(
    name: Annotated[str, typer.Argument(help="User name (letters, digits, . _ @ -).")],
    role: Annotated[
        str,
        typer.Option(
            "--role", "-r", help="clinician, data-manager, researcher or admin.", show_default=False
        ),
    ],
    password_stdin: PasswordStdinOption = False,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Add a user with a role; the password is hashed with argon2id."""
    from ruxtrack.accounts import create_user

    password = _password(password_stdin)
    with _store(db) as store, cli_errors():
        user = create_user(store, name, role, password, actor=actor, client="cli")
        console.print(f'added user "{user.name}" ({user.role.value}) to {store.url}', markup=False)
    _show_generated(password, password_stdin)


@users_app.command("password")
def password_command(
    name: Annotated[str, typer.Argument(help="User name.")],
    password_stdin: PasswordStdinOption = False,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Set a new password for a user (clears a lockout)."""
    from ruxtrack.accounts import set_password

    password = _password(password_stdin)
    with _store(db) as store, cli_errors():
        set_password(store, name, password, actor=actor, client="cli")
        console.print(f'new password set for "{name}"', markup=False)
    _show_generated(password, password_stdin)


@users_app.command("token")
def token_command(
    name: Annotated[str, typer.Argument(help="User name.")],
    label: Annotated[
        str | None, typer.Option("--label", help="What the token is for.", show_default=False)
    ] = None,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Issue an API token for scripts; it is shown once and stored only as a hash."""
    from ruxtrack.accounts import issue_token

    with _store(db) as store, cli_errors():
        token = issue_token(store, name, label=label, actor=actor, client="cli")
    err_console.print(f'API token for "{name}" (shown once; keep it secret):', markup=False)
    console.print(token, markup=False)


@users_app.command("revoke-token")
def revoke_command(
    token_id: Annotated[int, typer.Argument(help="The token's id (see `users tokens`).")],
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Revoke an API token."""
    from ruxtrack.accounts import revoke_token

    with _store(db) as store, cli_errors():
        revoke_token(store, token_id, actor=actor, client="cli")
        console.print(f"revoked API token {token_id}", markup=False)


@users_app.command("tokens")
def tokens_command(
    name: Annotated[str | None, typer.Argument(help="Only this user's tokens.")] = None,
    db: DbOption = None,
) -> None:
    """List API tokens (id, user, first characters, created, last used, revoked)."""
    from ruxtrack.accounts import list_tokens

    with _store(db) as store, cli_errors():
        rows = list_tokens(store, name)
    table = Table(title=f"{len(rows)} API tokens", title_justify="left")
    for col in ("id", "user", "starts", "label", "created", "last used", "revoked"):
        table.add_column(col)
    for t in rows:
        table.add_row(str(t.token_id), t.user, t.prefix + "…", t.label or "",
                      _when(t.created_at), _when(t.last_used), _when(t.revoked_at))  # fmt: skip
    console.print(table)


def _set_disabled(name: str, disabled: bool, db: str | None, actor: str | None) -> None:
    from ruxtrack.accounts import disable_user, enable_user

    with _store(db) as store, cli_errors():
        verb = disable_user if disabled else enable_user
        user = verb(store, name, actor=actor, client="cli")
        state = "disabled" if user.disabled else "enabled"
        console.print(f'user "{user.name}" {state}', markup=False)


@users_app.command("disable")
def disable_command(
    name: Annotated[str, typer.Argument(help="User name.")],
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Disable a user: sign-in and API tokens stop working."""
    _set_disabled(name, True, db, actor)


@users_app.command("enable")
def enable_command(
    name: Annotated[str, typer.Argument(help="User name.")],
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Re-enable a user and clear a lockout."""
    _set_disabled(name, False, db, actor)


@users_app.command("list")
def list_command(db: DbOption = None) -> None:
    """List users: role, status, last sign-in."""
    from ruxtrack.accounts import list_users

    with _store(db) as store, cli_errors():
        rows = list_users(store)
        url = store.url
    if not rows:
        console.print(f"No users in {url}.", markup=False)
        return
    table = Table(title=f"{len(rows)} users in {url}", title_justify="left")
    for col in ("user", "role", "status", "last sign-in", "created"):
        table.add_column(col)
    for u in rows:
        status = "disabled" if u.disabled else "active"
        if u.is_locked():
            status += f", locked until {_when(u.locked_until)}"
        table.add_row(u.name, u.role.value, status, _when(u.last_login), _when(u.created_at))
    console.print(table)


@audit_app.command("verify")
def verify_command(
    db: DbOption = None,
    expect_head: Annotated[
        str | None,
        typer.Option(
            "--expect-head",
            help="A head printed by an earlier verify (ENTRIES:HASH), kept outside the "
            "database: the chain must still contain it.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check the audit chain: exit 0 when intact, 3 naming the first broken entry."""
    from ruxtrack.store import audit_head_of

    with _store(db, create=False) as store, cli_errors():
        broken = store.verify_audit(expect_head=expect_head)
        if broken is not None:
            where = "" if broken.entry_id is None else f" at entry {broken.entry_id}"
            err_console.print(
                Text.assemble(
                    ("audit log broken", "bold red"),
                    f"{where} ({broken.problem}): {broken.message}",
                )
            )
            raise typer.Exit(code=EXIT_BROKEN)
        head = audit_head_of(store)
    assert head is not None  # verify returns a break when the head is missing
    console.print(f"audit log intact: {head.entries} entries", markup=False)
    console.print(f"head: {head}", markup=False)


@audit_app.command("export")
def export_command(
    format: Annotated[
        str, typer.Option("--format", "-f", help="jsonl or fhir (a FHIR R4 Bundle of AuditEvent).")
    ] = "jsonl",
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="File to write (default: standard output).",
                     show_default=False),
    ] = None,
    patient: Annotated[
        str | None,
        typer.Option("--patient", help="Only entries about this patient.", show_default=False),
    ] = None,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:  # fmt: skip
    """Write the audit log as JSON lines (one entry a line) or FHIR AuditEvent resources."""
    from ruxtrack.store import write_audit

    fmt = format.lower()
    if fmt not in ("jsonl", "fhir"):
        raise typer.BadParameter(f'"{format}": use jsonl or fhir', param_hint="--format")
    with _store(db, create=False) as store, cli_errors():
        if out is None:
            n = write_audit(store, sys.stdout, format=fmt, patient_id=patient)  # type: ignore[arg-type]
        else:
            with out.open("w", encoding="utf-8") as fh:
                n = write_audit(store, fh, format=fmt, patient_id=patient)  # type: ignore[arg-type]
        store.audit(actor, "audit.export", patient, {"format": fmt, "entries": n}, "cli")
    if out is not None:
        console.print(f"wrote {n} audit entries to {out}", markup=False)


def register(app: typer.Typer) -> None:
    """Add the ``users`` and ``audit-log`` command groups to the root app."""
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit-log")
