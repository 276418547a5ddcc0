"""Users, roles, argon2id passwords, lockout and API tokens, kept in the store's database."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ruxtrack.accounts._policy import ENV_ARGON2_PROFILE, ProfileName, load_policy
from ruxtrack.errors import RuxtrackError
from ruxtrack.store import Store, append_audit
from ruxtrack.store._schema import api_tokens, users

__all__ = [
    "TOKEN_PREFIX",
    "AccountError",
    "Role",
    "TokenInfo",
    "UnknownUserError",
    "User",
    "authenticate",
    "create_user",
    "disable_user",
    "enable_user",
    "generate_password",
    "get_user",
    "hash_password",
    "issue_token",
    "list_tokens",
    "list_users",
    "revoke_token",
    "set_password",
    "user_for_token",
]

#: Every API token starts with this, so that a leaked one is recognisable in logs and scanners.
TOKEN_PREFIX = "rxt_"  # noqa: S105 - a marker, not a secret

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


class Role(StrEnum):
    """What a user may do (the web app's guards act on it; docs/accounts.md)."""

    clinician = "clinician"  # reads and writes patients, sees decisions
    data_manager = "data-manager"  # imports, edits and corrects records
    researcher = "researcher"  # runs studies on de-identified data only
    admin = "admin"  # manages users


class AccountError(RuxtrackError, ValueError):
    """An account operation was refused (bad name, role or password; duplicate user)."""


class UnknownUserError(AccountError, LookupError):
    """No user of this name."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f'no user "{name}"')


@dataclass(frozen=True)
class User:
    """A user as the faces see it (never the password hash)."""

    user_id: int
    name: str
    role: Role
    disabled: bool
    locked_until: datetime | None
    last_login: datetime | None
    created_at: datetime

    def is_locked(self, now: datetime | None = None) -> bool:
        """True while a lockout is running (times are UTC)."""
        return self.locked_until is not None and self.locked_until > (now or _now())


@dataclass(frozen=True)
class TokenInfo:
    """An API token's bookkeeping (the token itself is never stored)."""

    token_id: int
    user: str
    prefix: str
    label: str | None
    created_at: datetime
    last_used: datetime | None
    revoked_at: datetime | None


def _now() -> datetime:
    """UTC now, naive (the store keeps naive UTC datetimes)."""
    return datetime.now(UTC).replace(tzinfo=None)


@cache
def _hasher(profile: ProfileName | None, _env: str | None) -> PasswordHasher:
    p = load_policy().argon2_profile(profile)
    return PasswordHasher(
        time_cost=p.time_cost,
        memory_cost=p.memory_cost_kib,
        parallelism=p.parallelism,
        hash_len=p.hash_len,
        salt_len=p.salt_len,
        type=Type.ID,
    )


def _current_hasher(profile: ProfileName | None = None) -> PasswordHasher:
    return _hasher(profile, None if profile else os.environ.get(ENV_ARGON2_PROFILE))


def hash_password(password: str, *, profile: ProfileName | None = None) -> str:
    """An argon2id hash of ``password`` (PHC string with its salt and parameters).

    ``profile="test"`` (or ``RUXTRACK_ARGON2_PROFILE=test``) selects the cheap test profile;
    otherwise the production parameters of knowledge/security/accounts.yaml apply.
    """
    _check_password(password)
    return _current_hasher(profile).hash(password)


def _check_password(password: str) -> None:
    rules = load_policy().password
    if not isinstance(password, str) or not (rules.min_length <= len(password) <= rules.max_length):
        raise AccountError(f"a password needs {rules.min_length} to {rules.max_length} characters")


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise AccountError(
            f'"{name}" is not a user name: 1-64 letters, digits, ".", "_", "@" or "-", '
            "starting with a letter or digit"
        )


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise AccountError(f'"{role}" is not a role: one of {choices}') from None


def generate_password() -> str:
    """A random password (24 URL-safe characters, about 144 bits) to hand over once."""
    return secrets.token_urlsafe(18)


def _user(row: Any) -> User:
    return User(
        user_id=int(row.user_id),
        name=row.name,
        role=Role(row.role),
        disabled=bool(row.disabled),
        locked_until=row.locked_until,
        last_login=row.last_login,
        created_at=row.created_at,
    )


def _row(conn: Connection, name: str) -> Any:
    return conn.execute(sa.select(users).where(users.c.name == name)).one_or_none()


def _audit(
    store: Store,
    conn: Connection,
    actor: str | None,
    action: str,
    detail: dict[str, Any],
    client: str | None,
) -> None:
    append_audit(conn, actor=actor, action=action, detail=detail, client=client)


def create_user(
    store: Store,
    name: str,
    role: Role | str,
    password: str,
    *,
    profile: ProfileName | None = None,
    actor: str | None = None,
    client: str | None = None,
) -> User:
    """Add a user with a role and a password (hashed with argon2id).

    Raises
    ------
    AccountError
        When the name or role is invalid, the password too short or too long, or the name
        is taken.

    Examples
    --------
    >>> from ruxtrack.store import open_store
    >>> store = open_store("sqlite://")
    >>> create_user(store, "ada", "clinician", "correct horse battery", profile="test").role
    <Role.clinician: 'clinician'>
    """
    _check_name(name)
    r = _role(role)
    hashed = hash_password(password, profile=profile)
    try:
        with store.engine.begin() as conn:
            conn.execute(
                users.insert().values(
                    name=name,
                    role=r.value,
                    password_hash=hashed,
                    disabled=False,
                    failed_logins=0,
                    created_at=_now(),
                )
            )
            _audit(store, conn, actor, "user.create", {"user": name, "role": r.value}, client)
            return _user(_row(conn, name))
    except IntegrityError as exc:
        raise AccountError(f'a user named "{name}" exists already') from exc


def get_user(store: Store, name: str) -> User:
    """The user of this name; :class:`UnknownUserError` when there is none."""
    with store.engine.connect() as conn:
        row = _row(conn, name)
    if row is None:
        raise UnknownUserError(name)
    return _user(row)


def list_users(store: Store) -> list[User]:
    """Every user, by name."""
    with store.engine.connect() as conn:
        return [_user(r) for r in conn.execute(sa.select(users).order_by(users.c.name))]


@cache
def _dummy_hash(profile: ProfileName | None, _env: str | None) -> str:
    return _current_hasher(profile).hash(secrets.token_urlsafe(16))


def authenticate(
    store: Store,
    name: str,
    password: str,
    *,
    client: str | None = None,
    profile: ProfileName | None = None,
) -> User | None:
    """The user when ``name`` and ``password`` match and the account is usable, else None.

    A disabled or locked account is refused without checking the password. Each wrong
    password counts; after ``lockout.max_failures`` consecutive failures the account is
    locked for ``lockout.duration_minutes`` (knowledge/security/accounts.yaml). A success
    resets the count, records the sign-in time (``last_login``) and re-hashes a password
    whose hash used weaker parameters than the current profile. Every attempt is audited.
    An unknown name costs the same hashing time as a known one.
    """
    policy = load_policy().lockout
    hasher = _current_hasher(profile)
    now = _now()
    with store.engine.begin() as conn:
        row = _row(conn, name)
        if row is None:
            try:
                hasher.verify(_dummy_hash(profile, os.environ.get(ENV_ARGON2_PROFILE)), password)
            except VerificationError:
                pass
            _audit(store, conn, name, "login.refused", {"reason": "unknown_user"}, client)
            return None
        if row.disabled:
            _audit(store, conn, name, "login.refused", {"reason": "disabled"}, client)
            return None
        if row.locked_until is not None and row.locked_until > now:
            _audit(store, conn, name, "login.refused", {"reason": "locked"}, client)
            return None
        try:
            hasher.verify(row.password_hash, password)
        except (VerificationError, VerifyMismatchError, InvalidHashError):
            failures = int(row.failed_logins) + 1
            values: dict[str, Any] = {"failed_logins": failures}
            detail: dict[str, Any] = {"reason": "wrong_password", "failures": failures}
            if failures >= policy.max_failures:
                values = {
                    "failed_logins": 0,
                    "locked_until": now + timedelta(minutes=policy.duration_minutes),
                }
                detail["locked_until"] = values["locked_until"].isoformat()
            conn.execute(users.update().where(users.c.user_id == row.user_id).values(**values))
            _audit(store, conn, name, "login.failed", detail, client)
            return None
        values = {"failed_logins": 0, "locked_until": None, "last_login": now}
        if hasher.check_needs_rehash(row.password_hash):
            values["password_hash"] = hasher.hash(password)
        conn.execute(users.update().where(users.c.user_id == row.user_id).values(**values))
        _audit(store, conn, name, "login", {}, client)
        return _user(_row(conn, name))


def _update_user(
    store: Store,
    name: str,
    values: dict[str, Any],
    action: str,
    actor: str | None,
    client: str | None,
) -> User:
    with store.engine.begin() as conn:
        row = _row(conn, name)
        if row is None:
            raise UnknownUserError(name)
        conn.execute(users.update().where(users.c.user_id == row.user_id).values(**values))
        _audit(store, conn, actor, action, {"user": name}, client)
        return _user(_row(conn, name))


def disable_user(
    store: Store, name: str, *, actor: str | None = None, client: str | None = None
) -> User:
    """Disable a user: no sign-in and no API token works until :func:`enable_user`."""
    return _update_user(store, name, {"disabled": True}, "user.disable", actor, client)


def enable_user(
    store: Store, name: str, *, actor: str | None = None, client: str | None = None
) -> User:
    """Re-enable a disabled user and clear any lockout."""
    values = {"disabled": False, "failed_logins": 0, "locked_until": None}
    return _update_user(store, name, values, "user.enable", actor, client)


def set_password(
    store: Store,
    name: str,
    password: str,
    *,
    profile: ProfileName | None = None,
    actor: str | None = None,
    client: str | None = None,
) -> User:
    """Replace a user's password (and clear any lockout)."""
    values = {"password_hash": hash_password(password, profile=profile), "failed_logins": 0,
              "locked_until": None}  # fmt: skip
    return _update_user(store, name, values, "user.password", actor, client)


def _token_hash(token: str) -> str:
    # Tokens carry 256 random bits: a fast hash suffices (no dictionary to guess from).
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(
    store: Store,
    name: str,
    *,
    label: str | None = None,
    actor: str | None = None,
    client: str | None = None,
) -> str:
    """A new API token for ``name``: returned once, stored only as its SHA-256 hash.

    Raises
    ------
    UnknownUserError
        When there is no such user.
    AccountError
        When the user is disabled.
    """
    token = TOKEN_PREFIX + secrets.token_urlsafe(load_policy().tokens.random_bytes)
    prefix = token[: len(TOKEN_PREFIX) + 6]
    with store.engine.begin() as conn:
        row = _row(conn, name)
        if row is None:
            raise UnknownUserError(name)
        if row.disabled:
            raise AccountError(f'user "{name}" is disabled; enable it before issuing a token')
        result = conn.execute(
            api_tokens.insert().values(
                user_id=row.user_id,
                token_hash=_token_hash(token),
                prefix=prefix,
                label=label,
                created_at=_now(),
            )
        )
        key = result.inserted_primary_key
        token_id = None if key is None else int(key[0])
        detail = {"user": name, "token_id": token_id, "prefix": prefix}
        _audit(store, conn, actor, "token.issue", detail, client)
    return token


def user_for_token(store: Store, token: str) -> User | None:
    """The user an API token belongs to; None when unknown, revoked or the user is disabled.

    Records the token's last use.
    """
    if not token.startswith(TOKEN_PREFIX):
        return None
    digest = _token_hash(token)
    with store.engine.begin() as conn:
        q = (
            sa.select(api_tokens.c.token_id, api_tokens.c.token_hash, users)
            .join(users, users.c.user_id == api_tokens.c.user_id)
            .where(api_tokens.c.token_hash == digest, api_tokens.c.revoked_at.is_(None))
        )
        row = conn.execute(q).one_or_none()
        if row is None or not hmac.compare_digest(row.token_hash, digest) or row.disabled:
            return None
        conn.execute(
            api_tokens.update()
            .where(api_tokens.c.token_id == row.token_id)
            .values(last_used=_now())
        )
        return _user(row)


def list_tokens(store: Store, name: str | None = None) -> list[TokenInfo]:
    """API tokens (all users, or one), oldest first; never the tokens themselves."""
    q = sa.select(api_tokens, users.c.name).join(users, users.c.user_id == api_tokens.c.user_id)
    if name is not None:
        q = q.where(users.c.name == name)
    with store.engine.connect() as conn:
        return [
            TokenInfo(
                token_id=int(r.token_id),
                user=r.name,
                prefix=r.prefix,
                label=r.label,
                created_at=r.created_at,
                last_used=r.last_used,
                revoked_at=r.revoked_at,
            )
            for r in conn.execute(q.order_by(api_tokens.c.token_id))
        ]


def revoke_token(
    store: Store, token_id: int, *, actor: str | None = None, client: str | None = None
) -> None:
    """Revoke an API token by its id (see :func:`list_tokens`); revoking twice is harmless."""
    with store.engine.begin() as conn:
        row = conn.execute(
            sa.select(api_tokens.c.token_id, api_tokens.c.revoked_at).where(
                api_tokens.c.token_id == token_id
            )
        ).one_or_none()
        if row is None:
            raise AccountError(f"no API token with id {token_id}")
        if row.revoked_at is None:
            conn.execute(
                api_tokens.update()
                .where(api_tokens.c.token_id == token_id)
                .values(revoked_at=_now())
            )
            _audit(store, conn, actor, "token.revoke", {"token_id": token_id}, client)
