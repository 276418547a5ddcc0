"""The registry store: patients' timelines in SQL (SQLite by default, PostgreSQL).

Open with :func:`open_store`; write through :meth:`Store.import_timelines` (one transaction,
all or nothing, idempotent per patient) or one record at a time (:meth:`Store.edit_record`,
:meth:`Store.add_record`, :meth:`Store.delete_record`). Nothing is overwritten: superseded
versions stay in history tables, and :meth:`Store.timeline` reads a record as it stood at a
past time. Every read and write of a patient record goes into a hash-chained audit log
(:func:`verify_audit_chain`). The cohort engine reads the current rows (the record tables;
docs/data-format.md, "The store's tables"; docs/registry.md, "Versions" and "Audit trail").
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
from ruxtrack.store._edit import StoredRecord, TimelineRecord
from ruxtrack.store._results import ImportSummary, PatientChange, PatientSummary, TableChange
from ruxtrack.store._store import (
    ENV_URL,
    PatientNotFoundError,
    Progress,
    Store,
    default_url,
    open_store,
)
from ruxtrack.store._versions import RECORD_KINDS, RecordKind, RecordVersion

__all__ = [
    "ENV_URL",
    "RECORD_KINDS",
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
    "RecordKind",
    "RecordVersion",
    "Store",
    "StoredRecord",
    "TableChange",
    "TimelineRecord",
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
