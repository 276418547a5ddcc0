"""INTERIM stand-in for ``ruxtrack.accounts`` and the store's audit log (issue 12, store lane).

Used only while ``ruxtrack.accounts`` is absent from the installation; it keeps users, API
tokens and audit entries in the server's memory, with the contract's function names, so that the
web face can be built and tested before the store lane lands. Delete this module at merge time
(``web/_accounts.py`` then finds the real one).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError

__all__ = [
    "Role",
    "User",
    "audit_entries",
    "authenticate",
    "create_user",
    "disable_user",
    "issue_token",
    "list_users",
    "record_audit",
    "user_for_token",
]

_MAX_FAILURES = 5
_LOCK_S = 15 * 60


class Role(StrEnum):
    clinician = "clinician"
    data_manager = "data-manager"
    researcher = "researcher"
    admin = "admin"


@dataclass
class User:
    name: str
    role: Role
    password_hash: str = field(repr=False)
    disabled: bool = False
    failures: int = 0
    locked_until: float = 0.0


@dataclass
class _Registry:
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # sha256(token) -> name
    audit: list[dict[str, Any]] = field(default_factory=list)


_REGISTRIES: dict[str, _Registry] = {}


def _hasher() -> PasswordHasher:
    if os.environ.get("RUXTRACK_ARGON2_PROFILE") == "test":
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()


def _reg(store: Any) -> _Registry:
    return _REGISTRIES.setdefault(str(store.url), _Registry())


def create_user(store: Any, name: str, role: Role | str, password: str) -> User:
    reg = _reg(store)
    if name in reg.users:
        raise ValueError(f'user "{name}" exists')
    user = User(name=name, role=Role(role), password_hash=_hasher().hash(password))
    reg.users[name] = user
    return user


def authenticate(store: Any, name: str, password: str) -> User | None:
    user = _reg(store).users.get(name)
    if user is None or user.disabled:
        return None
    now = time.monotonic()
    if user.locked_until > now:
        return None
    try:
        _hasher().verify(user.password_hash, password)
    except VerificationError:
        user.failures += 1
        if user.failures >= _MAX_FAILURES:
            user.locked_until = now + _LOCK_S
            user.failures = 0
        return None
    user.failures = 0
    return user


def issue_token(store: Any, name: str) -> str:
    reg = _reg(store)
    if name not in reg.users:
        raise KeyError(name)
    token = secrets.token_urlsafe(32)
    reg.tokens[hashlib.sha256(token.encode()).hexdigest()] = name
    return token


def user_for_token(store: Any, token: str) -> User | None:
    reg = _reg(store)
    name = reg.tokens.get(hashlib.sha256(token.encode()).hexdigest())
    user = reg.users.get(name) if name else None
    return None if user is None or user.disabled else user


def disable_user(store: Any, name: str) -> None:
    _reg(store).users[name].disabled = True


def list_users(store: Any) -> list[User]:
    return sorted(_reg(store).users.values(), key=lambda u: u.name)


def record_audit(
    store: Any, actor: str, action: str, patient_id: str | None, detail: Any, client: str | None
) -> None:
    _reg(store).audit.append(
        {
            "actor": actor,
            "action": action,
            "patient_id": patient_id,
            "detail": detail,
            "client": client,
            "at": time.time(),
        }
    )


def audit_entries(store: Any) -> list[dict[str, Any]]:
    return list(_reg(store).audit)
