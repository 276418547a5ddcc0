"""Study-level proportion data: events out of totals, optionally grouped, validated on entry."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ruxtrack.errors import ImportProblem, ImportValidationError

REQUIRED_COLUMNS: tuple[str, ...] = ("study", "events", "total")


@dataclass(frozen=True)
class ProportionData:
    """Events out of totals, one entry per study, validated (0 <= events <= total, total > 0).

    Parameters
    ----------
    studies, events, totals
        Study labels (unique) and integer counts.
    groups
        Subgroup label per study, or ``None``.
    source
        Where the data came from (a file name), used in messages.
    """

    studies: tuple[str, ...]
    events: tuple[int, ...]
    totals: tuple[int, ...]
    groups: tuple[str, ...] | None = None
    group_column: str | None = None
    source: str = "<data>"
    extra: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems: list[ImportProblem] = []
        n = len(self.studies)
        if len(self.events) != n or len(self.totals) != n:
            problems.append(
                ImportProblem(
                    self.source, None, None, None, "studies, events and totals differ in length"
                )
            )
        if self.groups is not None and len(self.groups) != n:
            problems.append(
                ImportProblem(
                    self.source, None, "group", None, "one group label per study is needed"
                )
            )
        seen: set[str] = set()
        for i, (s, e, t) in enumerate(zip(self.studies, self.events, self.totals, strict=False)):
            row = i + 1
            if s in seen:
                problems.append(
                    ImportProblem(self.source, row, "study", s, "duplicate study label")
                )
            seen.add(s)
            if t <= 0:
                problems.append(ImportProblem(self.source, row, "total", str(t), "must be > 0"))
            if e < 0:
                problems.append(ImportProblem(self.source, row, "events", str(e), "must be >= 0"))
            if e > t:
                problems.append(
                    ImportProblem(self.source, row, "events", str(e), f"exceeds total ({t})")
                )
        if n == 0:
            problems.append(ImportProblem(self.source, None, None, None, "no studies"))
        if problems:
            raise ImportValidationError(problems)

    @property
    def k(self) -> int:
        """Number of studies."""
        return len(self.studies)

    def subset(self, index: Sequence[int]) -> ProportionData:
        """The studies at ``index`` (in that order), keeping group labels."""
        return ProportionData(
            studies=tuple(self.studies[i] for i in index),
            events=tuple(self.events[i] for i in index),
            totals=tuple(self.totals[i] for i in index),
            groups=None if self.groups is None else tuple(self.groups[i] for i in index),
            group_column=self.group_column,
            source=self.source,
        )


#: Largest count read (participants of one study): more is a typing error, and larger numbers
#: overflow the effect-size arithmetic.
MAX_COUNT = 1_000_000_000


def _parse_count(text: str) -> int | None:
    t = text.strip()
    try:
        value = float(t)
    except ValueError:
        return None
    if not math.isfinite(value) or not value.is_integer():
        return None
    return int(value)


def read_proportions(path: str | Path, *, by: str | None = None) -> ProportionData:
    """Read a CSV with columns ``study``, ``events``, ``total`` (and ``by`` if given).

    Every problem is collected and raised together as :class:`ImportValidationError`, each naming
    the file, the row (1 = first data row), the field, the value and the reason.

    Examples
    --------
    >>> from ruxtrack.evidence import read_proportions  # doctest: +SKIP
    >>> data = read_proportions("studies.csv", by="age_group")  # doctest: +SKIP
    """
    p = Path(path)
    name = str(p)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ImportValidationError(
            [ImportProblem(name, None, None, None, f"cannot be read: {exc.strerror or exc}")]
        ) from exc
    except UnicodeDecodeError as exc:
        raise ImportValidationError(
            [ImportProblem(name, None, None, None, f"is not UTF-8 text ({exc.reason})")]
        ) from exc
    try:
        reader = csv.DictReader(text.splitlines())
        header = [h.strip() for h in (reader.fieldnames or [])]
        rows = list(reader)
    except csv.Error as exc:
        raise ImportValidationError(
            [ImportProblem(name, None, None, None, f"is not valid CSV: {exc}")]
        ) from exc
    needed = [*REQUIRED_COLUMNS, *([by] if by else [])]
    missing = [c for c in needed if c not in header]
    if missing:
        raise ImportValidationError(
            [
                ImportProblem(name, None, c, None, f"required column missing (columns: {header})")
                for c in missing
            ]
        )
    problems: list[ImportProblem] = []
    studies: list[str] = []
    events: list[int] = []
    totals: list[int] = []
    groups: list[str] = []
    for i, raw in enumerate(rows, start=1):
        row = {(k or "").strip(): (v or "") for k, v in raw.items() if k is not None}
        if None in raw:
            problems.append(ImportProblem(name, i, None, None, "more values than columns"))
            continue
        label = row["study"].strip()
        if not label:
            problems.append(ImportProblem(name, i, "study", "", "empty study label"))
        counts: dict[str, int] = {}
        for col in ("events", "total"):
            value = _parse_count(row[col])
            if value is None:
                problems.append(
                    ImportProblem(name, i, col, row[col], "not a whole number (a count is needed)")
                )
            else:
                counts[col] = value
        for col in [c for c, v in counts.items() if v > MAX_COUNT]:
            problems.append(
                ImportProblem(
                    name, i, col, row[col], f"larger than {MAX_COUNT:,} (a typing error?)"
                )
            )
            del counts[col]
        if "events" in counts and counts["events"] < 0:
            problems.append(ImportProblem(name, i, "events", row["events"], "must be >= 0"))
        if "total" in counts and counts["total"] <= 0:
            problems.append(ImportProblem(name, i, "total", row["total"], "must be > 0"))
        if len(counts) == 2 and counts["events"] > counts["total"]:
            problems.append(
                ImportProblem(
                    name, i, "events", row["events"], f"exceeds total ({counts['total']})"
                )
            )
        if label and label in studies:
            problems.append(ImportProblem(name, i, "study", label, "duplicate study label"))
        if by:
            g = row[by].strip()
            if not g:
                problems.append(ImportProblem(name, i, by, "", "empty subgroup label"))
            groups.append(g)
        studies.append(label)
        events.append(counts.get("events", 0))
        totals.append(counts.get("total", 1))
    if not rows:
        problems.append(ImportProblem(name, None, None, None, "no data rows"))
    if problems:
        raise ImportValidationError(problems)
    return ProportionData(
        studies=tuple(studies),
        events=tuple(events),
        totals=tuple(totals),
        groups=tuple(groups) if by else None,
        group_column=by,
        source=name,
    )
