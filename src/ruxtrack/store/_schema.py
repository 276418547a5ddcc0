"""The store's tables (SQLAlchemy Core). Migrations under ``migrations/`` create them.

The record tables mirror the canonical files (docs/data-format.md) with the same column names,
plus ``seq`` (order within the patient) and the resolved instants ``t`` / ``t_start`` /
``t_end``. The cohort engine reads these tables directly, so the names stay plain.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["RECORD_TABLES", "TABLES", "imports", "metadata", "patients"]

metadata = sa.MetaData()

_PID = 64  # patient ids are at most 64 characters (timeline.PATIENT_ID)


def _pid() -> sa.Column[str]:
    return sa.Column(
        "patient_id", sa.String(_PID), sa.ForeignKey("patients.patient_id"), primary_key=True
    )


def _seq() -> sa.Column[int]:
    return sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False)


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
