"""The ruxtrack exception tree.

Every error the library raises on purpose derives from :class:`RuxtrackError`, so a
face (CLI, web) can catch one root and turn it into a message and an exit code::

    RuxtrackError
    ├── KnowledgeFileError        a shipped or user data file (regimen, criteria, study) is invalid
    ├── UnitError (ValueError)    a unit is unknown, ambiguous, not allowed or not convertible
    │   └── ImplausibleValueError a value is outside the plausible range for its (converted) unit
    ├── TimelineError (ValueError) a timeline is inconsistent (anchor cycle, unknown anchor, ...)
    ├── ImportValidationError     an import found problems; nothing was written
    ├── StoreError                the store cannot be opened, migrated or written
    ├── EvaluationError           a criterion or regimen cannot be evaluated on this input
    └── AnalysisError             a study or statistic cannot be computed on this data

Errors carry structured fields and build their message from them; the cause is chained
with ``raise ... from``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "AnalysisError",
    "EvaluationError",
    "ImplausibleValueError",
    "ImportProblem",
    "ImportValidationError",
    "KnowledgeFileError",
    "RuxtrackError",
    "StoreError",
    "TimelineError",
    "UnitError",
]


class RuxtrackError(Exception):
    """Root of every error ruxtrack raises on purpose."""


class KnowledgeFileError(RuxtrackError):
    """A knowledge file (regimen, criterion set, lab catalogue, study) failed validation."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class UnitError(RuxtrackError, ValueError):
    """A unit is unknown, ambiguous, not accepted for the quantity, or not convertible."""

    def __init__(self, code: str, unit: str | None, reason: str) -> None:
        self.code = code
        self.unit = unit
        self.reason = reason
        shown = "(none)" if unit is None or unit == "" else f'"{unit}"'
        super().__init__(f"{code}: unit {shown}: {reason}")


class ImplausibleValueError(UnitError):
    """A value lies outside the plausible range of its quantity after conversion."""

    def __init__(
        self, code: str, unit: str | None, reason: str, probable_unit: str | None = None
    ) -> None:
        self.probable_unit = probable_unit
        super().__init__(code, unit, reason)


class TimelineError(RuxtrackError, ValueError):
    """A patient's timeline is inconsistent (unknown anchor, anchor cycle, bad time)."""


@dataclass(frozen=True)
class ImportProblem:
    """One problem found while validating an import: where it is and why."""

    file: str
    row: int | None
    field: str | None
    value: str | None
    reason: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.field is not None:
            where += f", field `{self.field}`"
        shown = "" if self.value is None else f' (value "{self.value}")'
        return f"{where}{shown}: {self.reason}"


class ImportValidationError(RuxtrackError):
    """An import found problems; nothing was written."""

    def __init__(self, problems: Sequence[ImportProblem]) -> None:
        self.problems = tuple(problems)
        n = len(self.problems)
        head = "\n".join(f"  {p}" for p in self.problems[:50])
        more = f"\n  ... and {n - 50} more" if n > 50 else ""
        super().__init__(
            f"{n} problem{'s' if n != 1 else ''} found; nothing was written:\n{head}{more}"
        )


class StoreError(RuxtrackError):
    """The store cannot be opened, migrated or written."""


class EvaluationError(RuxtrackError, ValueError):
    """A criterion or regimen cannot be evaluated on this input."""


class AnalysisError(RuxtrackError, ValueError):
    """A study definition or statistic cannot be computed on the data given."""
