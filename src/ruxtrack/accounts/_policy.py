"""The account policy as data (knowledge/security/accounts.yaml): lockout, passwords, hashing."""

from __future__ import annotations

import os
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ruxtrack.knowledge import Citation, SourceRef, load_yaml, validate_knowledge

__all__ = ["ENV_ARGON2_PROFILE", "AccountPolicy", "Argon2Profile", "ProfileName", "load_policy"]

#: Environment variable selecting the argon2 profile; only the test suite sets it (to "test").
ENV_ARGON2_PROFILE = "RUXTRACK_ARGON2_PROFILE"

ProfileName = Literal["production", "test"]

_FILE = "security/accounts.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Lockout(_Model):
    """Consecutive failed sign-ins that lock an account, and for how long."""

    max_failures: int = Field(ge=1, le=100)  # NIST 800-63B §5.2.2: no more than 100
    duration_minutes: float = Field(gt=0)
    source: SourceRef


class PasswordRules(_Model):
    """Accepted password lengths (characters)."""

    min_length: int = Field(ge=8)
    max_length: int = Field(ge=64)
    source: SourceRef


class Argon2Profile(_Model):
    """argon2id parameters (memory in KiB)."""

    time_cost: int = Field(ge=1)
    memory_cost_kib: int = Field(ge=8)
    parallelism: int = Field(ge=1)
    hash_len: int = Field(ge=16)
    salt_len: int = Field(ge=16)
    source: SourceRef


class Argon2Profiles(_Model):
    production: Argon2Profile
    test: Argon2Profile


class Tokens(_Model):
    random_bytes: int = Field(ge=16)
    source: SourceRef


class Session(_Model):
    idle_timeout_minutes: float = Field(gt=0)
    source: SourceRef


class AccountPolicy(_Model):
    """knowledge/security/accounts.yaml."""

    id: Literal["accounts"]
    version: str
    sources: dict[str, Citation]
    lockout: Lockout
    password: PasswordRules
    argon2: Argon2Profiles
    tokens: Tokens
    session: Session

    def argon2_profile(self, name: ProfileName | None = None) -> Argon2Profile:
        """The named profile; None: ``$RUXTRACK_ARGON2_PROFILE``, else production."""
        chosen = name or os.environ.get(ENV_ARGON2_PROFILE) or "production"
        if chosen == "test":
            return self.argon2.test
        return self.argon2.production


@cache
def load_policy() -> AccountPolicy:
    """The shipped account policy (validated, cached)."""
    policy: AccountPolicy = validate_knowledge(AccountPolicy, load_yaml(_FILE), _FILE)
    return policy
