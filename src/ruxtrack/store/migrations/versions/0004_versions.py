"""Versions: nothing is overwritten.

Adds ``recorded_at`` (when a row's version became current) to patients and the record tables,
filled for existing rows from their import's time, and a ``<table>_history`` table for each,
holding superseded versions (edited, replaced by an import, deleted) with when, why and by whom.

Revision ID: 0004_versions
Revises: 0003_audit
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_versions"
down_revision = "0003_audit"
branch_labels = None
depends_on = None

_TABLES = ("patients", "events", "observations", "drugs", "support", "assessments")


def upgrade() -> None:
    bind = op.get_bind()
    for name in _TABLES:
        with op.batch_alter_table(name) as batch:
            batch.add_column(sa.Column("recorded_at", sa.DateTime, comment="UTC"))
    op.execute(
        "UPDATE patients SET recorded_at = "
        "(SELECT imported_at FROM imports WHERE imports.import_id = patients.import_id)"
    )
    for name in _TABLES[1:]:
        op.execute(
            f"UPDATE {name} SET recorded_at = (SELECT recorded_at FROM patients "
            f"WHERE patients.patient_id = {name}.patient_id)"
        )
    inspector = sa.inspect(bind)
    for name in _TABLES:
        # The history table copies its table's columns as they stand at this revision.
        columns = [
            sa.Column(c["name"], c["type"], nullable=c["nullable"], comment=c.get("comment"))
            for c in inspector.get_columns(name)
        ]
        op.create_table(
            f"{name}_history",
            sa.Column("version_id", sa.Integer, primary_key=True, autoincrement=True),
            *columns,
            sa.Column("superseded_at", sa.DateTime, nullable=False, comment="UTC"),
            sa.Column("change", sa.String(16), nullable=False, comment="edited, replaced, deleted"),
            sa.Column("change_reason", sa.Text),
            sa.Column("changed_by", sa.String(128), nullable=False),
            sa.Column("change_import_id", sa.Integer),
        )
        op.create_index(
            f"ix_{name}_history_pid", f"{name}_history", ["patient_id", "superseded_at"]
        )


def downgrade() -> None:
    for name in reversed(_TABLES):
        op.drop_index(f"ix_{name}_history_pid", table_name=f"{name}_history")
        op.drop_table(f"{name}_history")
        if op.get_bind().dialect.name == "sqlite":
            # Native DROP COLUMN (SQLite >= 3.35): a batch copy would drop `patients`, which
            # the record tables' foreign keys forbid.
            op.execute(f'ALTER TABLE "{name}" DROP COLUMN recorded_at')
        else:
            op.drop_column(name, "recorded_at")
