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
    "EXCERPT_CHARS",
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
    "excerpt",
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


#: Longest excerpt of a value shown in a message; longer values are cut with a count.
EXCERPT_CHARS = 80


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how long it was (messages stay readable).

    >>> excerpt("x" * 200, 10)
    'xxxxxxxxxx... (200 characters)'
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


@dataclass(frozen=True)
class ImportProblem:
    """One problem found while reading or validating an import: where it is and why.

    ``file``, ``row``, ``field`` and ``value`` locate a problem in a file with rows and
    columns. ``location`` locates it in a source's own terms, as ordered (label, value)
    pairs: a FHIR reader says ``(("resource", "Observation/obs-3"), ("element",
    "valueQuantity.unit"))``, a REDCap reader ``(("record", "17"), ("event", "day_8_arm_1"),
    ("instance", "2"))``, an OMOP reader ``(("table", "measurement"), ("row", "812"))``.
    ``value`` is cut to a readable excerpt (:data:`EXCERPT_CHARS`).

    Examples
    --------
    >>> str(ImportProblem("labs.csv", 14, "unit", "x10^3", "not UCUM"))
    'labs.csv, row 14, field `unit` (value "x10^3"): not UCUM'
    >>> str(ImportProblem.at("bundle.json", "unit not UCUM",
    ...     resource="Observation/o1", element="valueQuantity.unit"))
    'bundle.json, resource Observation/o1, element valueQuantity.unit: unit not UCUM'
    """

    file: str
    row: int | None
    field: str | None
    value: str | None
    reason: str
    location: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.value is not None and len(self.value) > EXCERPT_CHARS:
            object.__setattr__(self, "value", excerpt(self.value))
        if len(self.reason) > 4 * EXCERPT_CHARS:
            object.__setattr__(self, "reason", excerpt(self.reason, 4 * EXCERPT_CHARS))

    @classmethod
    def at(
        cls,
        file: str,
        reason: str,
        *,
        value: str | None = None,
        field: str | None = None,
        row: int | None = None,
        **location: object,
    ) -> ImportProblem:
        """A problem located in a source's own terms (keyword order is the order shown)."""
        where = tuple((k, str(v)) for k, v in location.items() if v is not None)
        return cls(file, row, field, value, reason, where)

    @property
    def where(self) -> str:
        """The location as text: file, then row, the source's own terms, field."""
        parts = [self.file]
        if self.row is not None:
            parts.append(f"row {self.row}")
        parts.extend(f"{label} {value}" for label, value in self.location)
        if self.field is not None:
            parts.append(f"field `{self.field}`")
        return ", ".join(parts)

    def __str__(self) -> str:
        shown = "" if self.value is None else f' (value "{self.value}")'
        return f"{self.where}{shown}: {self.reason}"


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
