"""Thin adapter to ``ruxtrack.accounts`` (users, roles, argon2id, lockout, API tokens) and the
store's hash-chained audit log, in the shape the web handlers use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ruxtrack import accounts
from ruxtrack.store import Store

__all__ = [
    "ROLES",
    "AccountError",
    "WebUser",
    "audit",
    "authenticate",
    "create_user",
    "disable_user",
    "generate_password",
    "issue_token",
    "list_users",
    "still_active",
    "user_for_token",
]

#: The four roles of issue 12, as their ``Role`` values.
ROLES: tuple[str, ...] = tuple(r.value for r in accounts.Role)
AccountError = accounts.AccountError
generate_password = accounts.generate_password


@dataclass(frozen=True)
class WebUser:
    """Who is signed in: the account name and its role (one of :data:`ROLES`)."""

    name: str
    role: str


def _web_user(user: accounts.User | None) -> WebUser | None:
    return None if user is None else WebUser(name=user.name, role=user.role.value)


def authenticate(store: Store, name: str, password: str, client: str | None) -> WebUser | None:
    """The user when name and password match and the account is usable (lockout applies;
    every attempt is audited by the accounts module)."""
    return _web_user(accounts.authenticate(store, name, password, client=client))


def still_active(store: Store, user: WebUser) -> bool:
    """Whether a signed-in user's account still exists, is enabled and has the same role
    (checked on every request, so disabling an account ends its sessions at once)."""
    try:
        found = accounts.get_user(store, user.name)
    except accounts.UnknownUserError:
        return False
    return not found.disabled and found.role.value == user.role


def user_for_token(store: Store, token: str) -> WebUser | None:
    """The user an API token belongs to, None for an unknown, revoked or disabled one."""
    return _web_user(accounts.user_for_token(store, token))


def create_user(
    store: Store, name: str, role: str, password: str, *, actor: str, client: str | None
) -> WebUser:
    """Create an account (audited)."""
    user = _web_user(accounts.create_user(store, name, role, password, actor=actor, client=client))
    assert user is not None
    return user


def issue_token(store: Store, name: str, *, actor: str, client: str | None) -> str:
    """A new API token for ``name`` (shown once, stored hashed; audited)."""
    return accounts.issue_token(store, name, label="web", actor=actor, client=client)


def disable_user(store: Store, name: str, *, actor: str, client: str | None) -> None:
    """Disable an account: no sign-in, no token use (audited)."""
    accounts.disable_user(store, name, actor=actor, client=client)


def list_users(store: Store) -> list[tuple[WebUser, bool]]:
    """Every account with whether it is disabled."""
    return [(WebUser(u.name, u.role.value), u.disabled) for u in accounts.list_users(store)]


def audit(
    store: Store,
    actor: str,
    action: str,
    patient_id: str | None,
    detail: Any = None,
    client: str | None = None,
) -> None:
    """Append one entry to the store's hash-chained audit log."""
    store.audit(actor, action, patient_id, detail, client)
