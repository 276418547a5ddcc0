"""The store's tables (SQLAlchemy Core). Migrations under ``migrations/`` create them.

The record tables mirror the canonical files (docs/data-format.md) with the same column names,
plus ``seq`` (order within the patient) and the resolved instants ``t`` / ``t_start`` /
``t_end``. The cohort engine reads these tables directly, so the names stay plain.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "HISTORY",
    "HISTORY_COLUMNS",
    "RECORD_TABLES",
    "TABLES",
    "api_tokens",
    "audit_head",
    "audit_log",
    "imports",
    "metadata",
    "patients",
    "users",
]

metadata = sa.MetaData()

_PID = 64  # patient ids are at most 64 characters (timeline.PATIENT_ID)


def _pid() -> sa.Column[str]:
    return sa.Column(
        "patient_id", sa.String(_PID), sa.ForeignKey("patients.patient_id"), primary_key=True
    )


def _seq() -> sa.Column[int]:
    return sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False)


def _recorded_at() -> sa.Column[object]:
    # When this version of the row became current (UTC); NULL for rows older than versioning.
    return sa.Column("recorded_at", sa.DateTime, comment="UTC")


imports = sa.Table(
    "imports",
    metadata,
    sa.Column("import_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("imported_at", sa.DateTime, nullable=False, comment="UTC"),
    sa.Column("source", sa.Text),
    sa.Column("ruxtrack_version", sa.String(32), nullable=False),
    sa.Column("patients_inserted", sa.Integer, nullable=False),
    sa.Column("patients_replaced", sa.Integer, nullable=False),
    sa.Column("patients_unchanged", sa.Integer, nullable=False),
)

patients = sa.Table(
    "patients",
    metadata,
    sa.Column("patient_id", sa.String(_PID), primary_key=True),
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
    _recorded_at(),
)

events = sa.Table(
    "events",
    metadata,
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
    _recorded_at(),
    sa.UniqueConstraint("patient_id", "event", "occurrence", name="uq_events_key"),
)

observations = sa.Table(
    "observations",
    metadata,
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
    _recorded_at(),
    sa.Index("ix_observations_code_t", "code", "t"),
)

drugs = sa.Table(
    "drugs",
    metadata,
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
    _recorded_at(),
    sa.Index("ix_drugs_drug", "drug"),
)

support = sa.Table(
    "support",
    metadata,
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
    _recorded_at(),
)

assessments = sa.Table(
    "assessments",
    metadata,
    _pid(),
    _seq(),
    sa.Column("time", sa.Text, nullable=False),
    sa.Column("t", sa.DateTime, nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("code", sa.String(64)),
    sa.Column("provenance", sa.Text),
    _recorded_at(),
    sa.Index("ix_assessments_kind", "kind"),
)

#: Record tables in the order they are written (deleted in reverse).
RECORD_TABLES: dict[str, sa.Table] = {
    "events": events,
    "observations": observations,
    "drugs": drugs,
    "support": support,
    "assessments": assessments,
}

TABLES: dict[str, sa.Table] = {"patients": patients, **RECORD_TABLES}

# -- versions (store/_versions.py; migration 0004) ---------------------------------------------
#: Columns a history row adds to the columns of its table.
HISTORY_COLUMNS = ("version_id", "superseded_at", "change", "change_reason", "changed_by",
                   "change_import_id")  # fmt: skip


def _history_table(table: sa.Table) -> sa.Table:
    """``<table>_history``: earlier versions of its rows, with when and why they were superseded.

    A row here was current from its ``recorded_at`` until ``superseded_at``.
    """
    copied = [
        sa.Column(c.name, c.type, nullable=c.nullable and not c.primary_key, comment=c.comment)
        for c in table.columns
    ]
    return sa.Table(
        f"{table.name}_history",
        metadata,
        sa.Column("version_id", sa.Integer, primary_key=True, autoincrement=True),
        *copied,
        sa.Column("superseded_at", sa.DateTime, nullable=False, comment="UTC"),
        sa.Column("change", sa.String(16), nullable=False, comment="edited, replaced, deleted"),
        sa.Column("change_reason", sa.Text),
        sa.Column("changed_by", sa.String(128), nullable=False),
        sa.Column("change_import_id", sa.Integer),
        sa.Index(f"ix_{table.name}_history_pid", "patient_id", "superseded_at"),
    )


#: The history table of each versioned table (patients and the five record tables).
HISTORY: dict[str, sa.Table] = {name: _history_table(t) for name, t in TABLES.items()}

# -- accounts (ruxtrack.accounts; migration 0002) ---------------------------------------------
users = sa.Table(
    "users",
    metadata,
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

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("token_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.user_id"), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True, comment="SHA-256"),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("label", sa.Text),
    sa.Column("created_at", sa.DateTime, nullable=False, comment="UTC"),
    sa.Column("last_used", sa.DateTime, comment="UTC"),
    sa.Column("revoked_at", sa.DateTime, comment="UTC"),
)

# -- audit trail (store/_audit.py; migration 0003) ---------------------------------------------
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("entry_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", sa.DateTime, nullable=False, comment="UTC"),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("patient_id", sa.String(_PID)),
    sa.Column("detail", sa.Text, comment="canonical JSON"),
    sa.Column("reason", sa.Text),
    sa.Column("client", sa.Text),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index("ix_audit_log_patient", "patient_id"),
)

#: One row (id 1): how many entries the chain has and the hash of the last one. Deleting the
#: newest entries therefore shows as a chain shorter than its head.
audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("entries", sa.Integer, nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
)
