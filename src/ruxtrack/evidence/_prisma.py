"""Screening log (decisions with reasons) and PRISMA 2020 flow counts.

The log is a CSV with one row per imported record (``write_screening_log`` creates it with empty
decision columns); reviewers fill ``screen_decision`` / ``fulltext_decision`` with ``include`` or
``exclude`` and a reason. A flow can also be given directly as counts in YAML (``load_flow``),
as the shipped example of Tomomasa et al. 2021 is: its records are not published, only counts.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ruxtrack.errors import ImportProblem, ImportValidationError, KnowledgeFileError
from ruxtrack.evidence._records import Deduplicated
from ruxtrack.knowledge import Citation, SourceRef, knowledge_path, load_yaml, validate_knowledge

LOG_COLUMNS: tuple[str, ...] = (
    "record_id",
    "database",
    "source_file",
    "pmid",
    "doi",
    "year",
    "first_author",
    "title",
    "duplicate_of",
    "duplicate_key",
    "screen_decision",
    "screen_reason",
    "fulltext_retrieved",
    "fulltext_decision",
    "fulltext_reason",
    "study_id",
)
DECISIONS = ("include", "exclude")
EXAMPLE_FLOW = "evidence/tomomasa2021_flow.yaml"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class UnstagedExclusions(_Frozen):
    """Exclusions a report gives in total, without saying at which stage."""

    n: int | None
    reasons: dict[str, int | None]
    source: SourceRef | None = None


class PrismaFlow(_Frozen):
    """Counts of the PRISMA 2020 flow diagram (new review; databases and registers).

    ``None`` means "not reported". Exclusion reasons map to counts (``None`` = not reported).
    """

    title: str = "PRISMA 2020 flow"
    identified: dict[str, int | None]
    duplicates_removed: int | None = None
    automation_removed: int | None = 0
    other_removed: int | None = 0
    screened: int | None = None
    screen_excluded: int | None = None
    sought: int | None = None
    not_retrieved: int | None = None
    assessed: int | None = None
    fulltext_excluded: int | None = None
    fulltext_reasons: dict[str, int | None] = {}
    unstaged_exclusions: UnstagedExclusions | None = None
    studies_included: int | None = None
    reports_included: int | None = None
    notes: tuple[str, ...] = ()
    sources: dict[str, Citation] = {}
    source: SourceRef | None = None

    @property
    def identified_total(self) -> int | None:
        """Records identified across databases/registers (``None`` if any count is unknown)."""
        vals = list(self.identified.values())
        return None if any(v is None for v in vals) else sum(v for v in vals if v is not None)

    def check(self) -> list[tuple[str, str]]:
        """Arithmetic checks that can be made with the known counts: (field, reason) pairs."""
        out: list[tuple[str, str]] = []

        def eq(field: str, value: int | None, *parts: int | None, sign: tuple[int, ...]) -> None:
            if value is None or any(p is None for p in parts):
                return
            expected = sum(s * p for s, p in zip(sign, parts, strict=True) if p is not None)
            if value != expected:
                out.append((field, f"is {value}, but the flow implies {expected}"))

        removed = (self.duplicates_removed, self.automation_removed, self.other_removed)
        eq("screened", self.screened, self.identified_total, *removed, sign=(1, -1, -1, -1))
        eq("sought", self.sought, self.screened, self.screen_excluded, sign=(1, -1))
        eq("assessed", self.assessed, self.sought, self.not_retrieved, sign=(1, -1))
        eq(
            "reports_included",
            self.reports_included,
            self.assessed,
            self.fulltext_excluded,
            sign=(1, -1),
        )
        reasons = list(self.fulltext_reasons.values())
        if self.fulltext_excluded is not None and reasons and None not in reasons:
            total = sum(r for r in reasons if r is not None)
            if total != self.fulltext_excluded:
                out.append(("fulltext_reasons", f"sum to {total}, not {self.fulltext_excluded}"))
        if (
            self.studies_included is not None
            and self.reports_included is not None
            and self.studies_included > self.reports_included
        ):
            out.append(("studies_included", "exceeds the number of reports included"))
        return out


def load_flow(path: str | Path | None = None) -> PrismaFlow:
    """Load a flow from YAML counts (default: the shipped Tomomasa 2021 example)."""
    target = Path(path) if path is not None else knowledge_path(EXAMPLE_FLOW)
    flow = validate_knowledge(PrismaFlow, load_yaml(target), target)
    problems = flow.check()
    if problems:
        field, reason = problems[0]
        raise KnowledgeFileError(str(target), f"field `{field}` {reason}")
    return flow


def write_screening_log(dedup: Deduplicated, path: str | Path) -> Path:
    """Write a screening log CSV: every imported record, duplicates marked, decisions empty."""
    target = Path(path)
    kept = {(r.source_file, r.source_row): r.record_id for r in dedup.unique}
    dups = {(d.source_file, d.source_row): d for d in dedup.duplicates}
    used = set(kept.values())
    with target.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(LOG_COLUMNS))
        writer.writeheader()
        for r in dedup.records:
            where = (r.source_file, r.source_row)
            d = dups.get(where)
            rid = kept.get(where, r.record_id)
            if d is not None and rid in used:
                rid = f"{r.record_id}@{Path(r.source_file).name}:{r.source_row}"
            used.add(rid)
            writer.writerow(
                {
                    "record_id": rid,
                    "database": r.database,
                    "source_file": Path(r.source_file).name,
                    "pmid": r.pmid or "",
                    "doi": r.doi or "",
                    "year": r.year or "",
                    "first_author": r.authors[0] if r.authors else "",
                    "title": r.title,
                    "duplicate_of": d.duplicate_of if d else "",
                    "duplicate_key": d.key if d else "",
                    "screen_decision": "",
                    "screen_reason": "",
                    "fulltext_retrieved": "",
                    "fulltext_decision": "",
                    "fulltext_reason": "",
                    "study_id": "",
                }
            )
    return target


def flow_from_log(path: str | Path, *, title: str | None = None) -> PrismaFlow:
    """Validate a filled screening log and count the PRISMA 2020 flow from it.

    Rules checked (each problem names file, row, field, value, reason): decisions are ``include``
    or ``exclude``; duplicates carry no decisions; a full-text exclusion has a reason; full-text
    columns are only filled for records included at screening; ``fulltext_retrieved`` is yes/no.
    Records without a screening decision are reported as problems (the flow would be incomplete).
    """
    p = Path(path)
    name = str(p)
    try:
        text = p.read_text(encoding="utf-8-sig")
        reader = csv.DictReader(text.splitlines())
        header = list(reader.fieldnames or [])
        rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ImportValidationError(
            [ImportProblem(name, None, None, None, f"cannot be read: {exc}")]
        ) from exc
    needed = (
        "record_id",
        "database",
        "duplicate_of",
        "screen_decision",
        "fulltext_decision",
        "fulltext_reason",
    )
    missing = [c for c in needed if c not in header]
    if missing:
        raise ImportValidationError(
            [ImportProblem(name, None, c, None, "required column missing") for c in missing]
        )
    problems: list[ImportProblem] = []
    identified: Counter[str] = Counter()
    dups = screened = screen_excl = sought = not_retrieved = assessed = ft_excl = 0
    reasons: Counter[str] = Counter()
    included_reports = 0
    studies: set[str] = set()
    ids: set[str] = set()

    def get(row: dict[str, str], col: str) -> str:
        return (row.get(col) or "").strip()

    for i, row in enumerate(rows, start=1):
        rid = get(row, "record_id")
        if not rid:
            problems.append(ImportProblem(name, i, "record_id", "", "empty record id"))
        elif rid in ids:
            problems.append(ImportProblem(name, i, "record_id", rid, "duplicate record id"))
        ids.add(rid)
        identified[get(row, "database") or "unknown"] += 1
        sd = get(row, "screen_decision").lower()
        fd = get(row, "fulltext_decision").lower()
        retrieved = get(row, "fulltext_retrieved").lower()
        if get(row, "duplicate_of"):
            dups += 1
            if sd or fd:
                problems.append(
                    ImportProblem(
                        name, i, "screen_decision", sd or fd, "a duplicate is not screened"
                    )
                )
            continue
        if sd not in DECISIONS:
            problems.append(
                ImportProblem(name, i, "screen_decision", sd, "must be include or exclude")
            )
            continue
        screened += 1
        if sd == "exclude":
            screen_excl += 1
            if fd:
                problems.append(
                    ImportProblem(
                        name, i, "fulltext_decision", fd, "record was excluded at screening"
                    )
                )
            continue
        sought += 1
        if retrieved not in ("", "yes", "no"):
            problems.append(
                ImportProblem(name, i, "fulltext_retrieved", retrieved, "must be yes or no")
            )
            continue
        if retrieved == "no":
            not_retrieved += 1
            if fd:
                problems.append(
                    ImportProblem(name, i, "fulltext_decision", fd, "full text was not retrieved")
                )
            continue
        if fd not in DECISIONS:
            problems.append(
                ImportProblem(name, i, "fulltext_decision", fd, "must be include or exclude")
            )
            continue
        assessed += 1
        if fd == "exclude":
            reason = get(row, "fulltext_reason")
            if not reason:
                problems.append(
                    ImportProblem(
                        name, i, "fulltext_reason", "", "a full-text exclusion needs a reason"
                    )
                )
                continue
            ft_excl += 1
            reasons[reason] += 1
        else:
            included_reports += 1
            studies.add(get(row, "study_id") or rid)
    if not rows:
        problems.append(ImportProblem(name, None, None, None, "no records"))
    if problems:
        raise ImportValidationError(problems)
    return PrismaFlow(
        title=title or f"PRISMA 2020 flow: {p.name}",
        identified=dict(identified),
        duplicates_removed=dups,
        screened=screened,
        screen_excluded=screen_excl,
        sought=sought,
        not_retrieved=not_retrieved,
        assessed=assessed,
        fulltext_excluded=ft_excl,
        fulltext_reasons=dict(reasons.most_common()),
        studies_included=len(studies),
        reports_included=included_reports,
    )
