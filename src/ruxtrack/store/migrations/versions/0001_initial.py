"""Initial schema: imports, patients and the five record tables.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

_RECORDS = ("events", "observations", "drugs", "support", "assessments")


def _pid() -> sa.Column[str]:
    return sa.Column(
        "patient_id", sa.String(64), sa.ForeignKey("patients.patient_id"), primary_key=True
    )


def _seq() -> sa.Column[int]:
    return sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False)


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("import_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("imported_at", sa.DateTime, nullable=False, comment="UTC"),
        sa.Column("source", sa.Text),
        sa.Column("ruxtrack_version", sa.String(32), nullable=False),
        sa.Column("patients_inserted", sa.Integer, nullable=False),
        sa.Column("patients_replaced", sa.Integer, nullable=False),
        sa.Column("patients_unchanged", sa.Integer, nullable=False),
    )
    op.create_table(
        "patients",
        sa.Column("patient_id", sa.String(64), primary_key=True),
        sa.Column("sex", sa.String(16), nullable=False),
        sa.Column("birth_date", sa.Date),
        sa.Column("age_years", sa.Double),
        sa.Column("age_at", sa.String(80)),
        sa.Column("blood_group", sa.String(4)),
        sa.Column("comorbidities", sa.Text),
        sa.Column("synthetic", sa.Boolean, nullable=False),
        sa.Column("time_basis", sa.String(16), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.import_id"), nullable=False),
    )
    op.create_table(
        "events",
        _pid(),
        _seq(),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("occurrence", sa.Integer, nullable=False),
        sa.Column("time", sa.Text, nullable=False),
        sa.Column("t", sa.DateTime, nullable=False),
        sa.Column("donor_type", sa.Text),
        sa.Column("hla_match", sa.String(8)),
        sa.Column("cell_source", sa.Text),
        sa.Column("conditioning", sa.Text),
        sa.Column("conditioning_intensity", sa.Text),
        sa.Column("gvhd_prophylaxis", sa.Text),
        sa.Column("provenance", sa.Text),
        sa.UniqueConstraint("patient_id", "event", "occurrence", name="uq_events_key"),
    )
    op.create_table(
        "observations",
        _pid(),
        _seq(),
        sa.Column("time", sa.Text, nullable=False),
        sa.Column("t", sa.DateTime, nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("value", sa.Double, nullable=False),
        sa.Column("unit", sa.String(64), nullable=False),
        sa.Column("comparator", sa.String(2)),
        sa.Column("source_value", sa.Double),
        sa.Column("source_unit", sa.String(64)),
        sa.Column("provenance", sa.Text),
    )
    op.create_index("ix_observations_code_t", "observations", ["code", "t"])
    op.create_table(
        "drugs",
        _pid(),
        _seq(),
        sa.Column("drug", sa.String(64), nullable=False),
        sa.Column("rxnorm", sa.String(16)),
        sa.Column("dose", sa.Double, nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("frequency", sa.String(16), nullable=False),
        sa.Column("route", sa.String(16), nullable=False),
        sa.Column("start", sa.Text, nullable=False),
        sa.Column("end", sa.Text),
        sa.Column("t_start", sa.DateTime, nullable=False),
        sa.Column("t_end", sa.DateTime),
        sa.Column("reason", sa.Text),
        sa.Column("provenance", sa.Text),
    )
    op.create_index("ix_drugs_drug", "drugs", ["drug"])
    op.create_table(
        "support",
        _pid(),
        _seq(),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("start", sa.Text, nullable=False),
        sa.Column("end", sa.Text),
        sa.Column("t_start", sa.DateTime, nullable=False),
        sa.Column("t_end", sa.DateTime),
        sa.Column("fio2", sa.Double),
        sa.Column("flow_l_min", sa.Double),
        sa.Column("provenance", sa.Text),
    )
    op.create_table(
        "assessments",
        _pid(),
        _seq(),
        sa.Column("time", sa.Text, nullable=False),
        sa.Column("t", sa.DateTime, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("code", sa.String(64)),
        sa.Column("provenance", sa.Text),
    )
    op.create_index("ix_assessments_kind", "assessments", ["kind"])


def downgrade() -> None:
    for name in reversed(_RECORDS):
        op.drop_table(name)
    op.drop_table("patients")
    op.drop_table("imports")
