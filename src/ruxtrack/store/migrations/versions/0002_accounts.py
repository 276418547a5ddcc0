"""Accounts: users (role, argon2id hash, lockout, disable, last login) and API tokens.

Revision ID: 0002_accounts
Revises: 0001_initial
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_accounts"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("user_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("failed_logins", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.DateTime, comment="UTC"),
        sa.Column("last_login", sa.DateTime, comment="UTC"),
        sa.Column("created_at", sa.DateTime, nullable=False, comment="UTC"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.user_id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True, comment="SHA-256"),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("label", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False, comment="UTC"),
        sa.Column("last_used", sa.DateTime, comment="UTC"),
        sa.Column("revoked_at", sa.DateTime, comment="UTC"),
    )


def downgrade() -> None:
    op.drop_table("api_tokens")
    op.drop_table("users")
