"""Thin adapter to the accounts and audit contract of the store lane (COMMON.md).

``ruxtrack.accounts`` provides users, roles, password hashing (argon2id), lockout and API
tokens; ``Store.audit`` the hash-chained audit log. Until they are installed the interim
stand-in (``_interim_accounts``) serves the same names.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from ruxtrack.store import Store

__all__ = [
    "ROLES",
    "WebUser",
    "accounts_module",
    "audit",
    "authenticate",
    "create_user",
    "disable_user",
    "issue_token",
    "list_users",
    "user_for_token",
]

#: The four roles of issue 12, as their ``Role`` values.
ROLES: tuple[str, ...] = ("clinician", "data-manager", "researcher", "admin")


@dataclass(frozen=True)
class WebUser:
    """Who is signed in: the account name and its role (one of :data:`ROLES`)."""

    name: str
    role: str


def accounts_module() -> ModuleType:
    """``ruxtrack.accounts`` when installed, else the interim stand-in."""
    try:
        return importlib.import_module("ruxtrack.accounts")
    except ModuleNotFoundError as exc:
        if exc.name != "ruxtrack.accounts":
            raise
        return importlib.import_module("ruxtrack.web._interim_accounts")


def _web_user(user: Any) -> WebUser | None:
    if user is None:
        return None
    role = getattr(user.role, "value", user.role)
    return WebUser(name=str(user.name), role=str(role))


def authenticate(store: Store, name: str, password: str) -> WebUser | None:
    """The user when name and password match and the account is usable (lockout applies)."""
    return _web_user(accounts_module().authenticate(store, name, password))


def user_for_token(store: Store, token: str) -> WebUser | None:
    """The user an API token belongs to, None for an unknown, revoked or disabled one."""
    return _web_user(accounts_module().user_for_token(store, token))


def create_user(store: Store, name: str, role: str, password: str) -> WebUser:
    """Create an account (the role as one of :data:`ROLES`)."""
    acc = accounts_module()
    user = _web_user(acc.create_user(store, name, acc.Role(role), password))
    assert user is not None
    return user


def issue_token(store: Store, name: str) -> str:
    """A new API token for ``name`` (shown once, stored hashed)."""
    return str(accounts_module().issue_token(store, name))


def disable_user(store: Store, name: str) -> None:
    """Disable an account: no sign-in, no token use."""
    accounts_module().disable_user(store, name)


def list_users(store: Store) -> list[tuple[WebUser, bool]]:
    """Every account with whether it is disabled."""
    acc = accounts_module()
    out: list[tuple[WebUser, bool]] = []
    for u in acc.list_users(store):
        wu = _web_user(u)
        if wu is not None:
            out.append((wu, bool(getattr(u, "disabled", False))))
    return out


def audit(
    store: Store,
    actor: str,
    action: str,
    patient_id: str | None,
    detail: Any = None,
    client: str | None = None,
) -> None:
    """Append one entry to the audit log (who, what, which patient, detail, client)."""
    write = getattr(store, "audit", None)
    if callable(write):
        write(actor, action, patient_id, detail, client)
    else:
        accounts_module().record_audit(store, actor, action, patient_id, detail, client)
