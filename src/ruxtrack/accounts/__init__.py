"""Accounts: users with roles, argon2id passwords, lockout, disable, API tokens.

Kept in the store's database (tables ``users`` and ``api_tokens``); every change and every
sign-in attempt is written to the store's audit log. The policy (lockout count and duration,
password length, argon2 parameters, token size) is data: knowledge/security/accounts.yaml.
See docs/accounts.md.
"""

from ruxtrack.accounts._accounts import (
    TOKEN_PREFIX,
    AccountError,
    Role,
    TokenInfo,
    UnknownUserError,
    User,
    authenticate,
    create_user,
    disable_user,
    enable_user,
    generate_password,
    get_user,
    hash_password,
    issue_token,
    list_tokens,
    list_users,
    revoke_token,
    set_password,
    user_for_token,
)
from ruxtrack.accounts._policy import ENV_ARGON2_PROFILE, AccountPolicy, load_policy

__all__ = [
    "ENV_ARGON2_PROFILE",
    "TOKEN_PREFIX",
    "AccountError",
    "AccountPolicy",
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
    "load_policy",
    "revoke_token",
    "set_password",
    "user_for_token",
]
