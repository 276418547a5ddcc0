"""The registry store: patients' timelines in SQL (SQLite by default, PostgreSQL).

Open with :func:`open_store`; write only through :meth:`Store.import_timelines` (one
transaction, all or nothing, idempotent per patient); read timelines back or let the cohort
engine read the tables (docs/data-format.md, "The store's tables").
"""

from ruxtrack.store._audit import (
    AuditBreak,
    AuditEntry,
    AuditHead,
    append_audit,
    audit_entries,
    audit_head_of,
    default_actor,
    verify_audit_chain,
)
from ruxtrack.store._audit_export import AuditFormat, audit_event_fhir, write_audit
from ruxtrack.store._course import CourseDay, CourseEntry, course
from ruxtrack.store._results import ImportSummary, PatientChange, PatientSummary, TableChange
from ruxtrack.store._store import (
    ENV_URL,
    PatientNotFoundError,
    Progress,
    Store,
    default_url,
    open_store,
)

__all__ = [
    "ENV_URL",
    "AuditBreak",
    "AuditEntry",
    "AuditFormat",
    "AuditHead",
    "CourseDay",
    "CourseEntry",
    "ImportSummary",
    "PatientChange",
    "PatientNotFoundError",
    "PatientSummary",
    "Progress",
    "Store",
    "TableChange",
    "append_audit",
    "audit_entries",
    "audit_event_fhir",
    "audit_head_of",
    "course",
    "default_actor",
    "default_url",
    "open_store",
    "verify_audit_chain",
    "write_audit",
]
