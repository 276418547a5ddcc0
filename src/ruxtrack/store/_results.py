"""What the store returns: import summaries and patient listings (frozen)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ImportSummary", "PatientChange", "PatientSummary", "TableChange"]


@dataclass(frozen=True)
class TableChange:
    """Rows of one table an import inserted, removed, or found already present."""

    inserted: int = 0
    removed: int = 0
    unchanged: int = 0

    def __add__(self, other: TableChange) -> TableChange:
        return TableChange(
            self.inserted + other.inserted,
            self.removed + other.removed,
            self.unchanged + other.unchanged,
        )

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.removed)


@dataclass(frozen=True)
class PatientChange:
    """A patient already in the store whose records an import replaced, and what differed.

    ``demographics_changed`` is true when the patients row itself (sex, age, ...) differed;
    ``tables`` gives, per record table, the rows added, removed and kept.
    """

    patient_id: str
    demographics_changed: bool
    tables: tuple[tuple[str, TableChange], ...]

    def describe(self) -> str:
        """``P07: demographics; observations +3 -1; drugs +1 -1``."""
        parts = ["demographics"] if self.demographics_changed else []
        parts += [f"{name} +{c.inserted} -{c.removed}" for name, c in self.tables if c.changed]
        if not parts:
            parts = ["record order only"]
        return f"{self.patient_id}: " + "; ".join(parts)


@dataclass(frozen=True)
class ImportSummary:
    """The outcome of one import (one transaction).

    ``inserted`` are patients new to the store, ``replaced`` patients whose records differed
    and were replaced as a whole, ``unchanged`` patients whose records were identical (nothing
    was written for them). ``tables`` counts rows per table; for ``patients`` the counts are
    patients inserted, replaced (as ``removed``: their old version) and unchanged.
    ``import_id`` is None when nothing changed (an idempotent re-import writes nothing).
    """

    url: str
    source: str | None
    import_id: int | None
    inserted: tuple[str, ...]
    replaced: tuple[PatientChange, ...]
    unchanged: tuple[str, ...]
    tables: tuple[tuple[str, TableChange], ...] = field(default=())

    @property
    def changed(self) -> bool:
        """Whether the import wrote anything."""
        return bool(self.inserted or self.replaced)

    def table(self, name: str) -> TableChange:
        """Counts for one table (``patients``, ``events``, ``observations``, ...)."""
        return dict(self.tables).get(name, TableChange())


@dataclass(frozen=True)
class PatientSummary:
    """One line of the patient list.

    ``age_years`` is the age recorded (at ``age_at``) or, from the birth date, the age at the
    first admission (else the earliest event); None when it cannot be known.
    ``anchors`` are the patient's event labels in time order (``hsct``, ``hsct#2``, ...).
    """

    patient_id: str
    sex: str
    age_years: float | None
    synthetic: bool
    time_basis: str
    anchors: tuple[str, ...]
    counts: tuple[tuple[str, int], ...]

    def count(self, table: str) -> int:
        return dict(self.counts).get(table, 0)
