"""The registry store: patients' timelines in SQL (SQLite by default, PostgreSQL).

Open with :func:`open_store`; write only through :meth:`Store.import_timelines` (one
transaction, all or nothing, idempotent per patient); read timelines back or let the cohort
engine read the tables (docs/data-format.md, "The store's tables").
"""

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
    "CourseDay",
    "CourseEntry",
    "ImportSummary",
    "PatientChange",
    "PatientNotFoundError",
    "PatientSummary",
    "Progress",
    "Store",
    "TableChange",
    "course",
    "default_url",
    "open_store",
]
