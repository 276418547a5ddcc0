"""Bibliographic records from PubMed MEDLINE (.nbib), RIS and CSV exports, and deduplication."""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import rispy
from pydantic import BaseModel, ConfigDict

from ruxtrack.errors import ImportProblem, ImportValidationError

_TAG = re.compile(r"^([A-Z][A-Z0-9]{0,3})\s*- (.*)$")
_CONT = re.compile(r"^\s{6}(.*)$")
_DOI = re.compile(r"10\.\d{4,9}/\S+")

CSV_COLUMNS: tuple[str, ...] = (
    "record_id",
    "database",
    "title",
    "authors",
    "year",
    "journal",
    "doi",
    "pmid",
    "abstract",
)


class Record(BaseModel):
    """One bibliographic record as imported (before deduplication)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    record_id: str
    database: str
    source_file: str
    source_row: int
    title: str
    authors: tuple[str, ...] = ()
    year: int | None = None
    journal: str | None = None
    doi: str | None = None
    pmid: str | None = None
    abstract: str | None = None


def normalise_doi(doi: str | None) -> str | None:
    """Lower-case DOI without resolver prefix (``https://doi.org/``, ``doi:``)."""
    if not doi:
        return None
    m = _DOI.search(doi.strip())
    return m.group(0).rstrip(".;,").lower() if m else None


def normalise_title(title: str) -> str:
    """Case-folded, accent-free title with punctuation and repeated spaces removed."""
    t = unicodedata.normalize("NFKD", title)
    t = "".join(c for c in t if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", t).split())


def _year(text: str | None) -> int | None:
    m = re.search(r"\b(1[89]\d\d|20\d\d|21\d\d)\b", text or "")
    return int(m.group(1)) if m else None


def read_nbib(path: str | Path, *, database: str = "PubMed") -> tuple[Record, ...]:
    """Parse a PubMed MEDLINE export (``.nbib`` / ``.txt``: ``TAG - value`` lines).

    Raises :class:`ImportValidationError` naming the file, line and reason for a malformed line,
    a record without a PMID, or a file without records.
    """
    p = Path(path)
    name = str(p)
    try:
        lines = p.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportValidationError(
            [ImportProblem(name, None, None, None, f"cannot be read: {exc}")]
        ) from exc
    problems: list[ImportProblem] = []
    raw: list[tuple[int, dict[str, list[str]]]] = []
    current: dict[str, list[str]] | None = None
    last: str | None = None
    for no, line in enumerate(lines, start=1):
        if not line.strip():
            current, last = None, None
            continue
        m = _TAG.match(line)
        if m:
            tag, value = m.group(1), m.group(2).strip()
            if current is None:
                current = {}
                raw.append((no, current))
            current.setdefault(tag, []).append(value)
            last = tag
            continue
        c = _CONT.match(line)
        if c and current is not None and last is not None:
            current[last][-1] += " " + c.group(1).strip()
            continue
        problems.append(
            ImportProblem(name, no, None, line[:60], "not a MEDLINE 'TAG - value' line")
        )
    records: list[Record] = []
    for start, fields in raw:
        pmid = (fields.get("PMID") or [""])[0]
        if not pmid.isdigit():
            problems.append(
                ImportProblem(name, start, "PMID", pmid or None, "record without a PMID")
            )
            continue
        doi = None
        for value in fields.get("LID", []) + fields.get("AID", []):
            if value.endswith("[doi]"):
                doi = normalise_doi(value)
                break
        title = " ".join(fields.get("TI", []) or fields.get("BTI", []))
        if not title:
            problems.append(
                ImportProblem(name, start, "TI", None, f"record PMID {pmid} has no title")
            )
        records.append(
            Record(
                record_id=f"pmid:{pmid}",
                database=database,
                source_file=name,
                source_row=start,
                title=title,
                authors=tuple(fields.get("AU", []) or fields.get("FAU", [])),
                year=_year((fields.get("DP") or [""])[0]),
                journal=next(iter(fields.get("JT") or fields.get("TA") or []), None),
                doi=doi,
                pmid=pmid,
                abstract=" ".join(fields.get("AB", [])) or None,
            )
        )
    if not raw and not problems:
        problems.append(ImportProblem(name, None, None, None, "no MEDLINE records found"))
    if problems:
        raise ImportValidationError(problems)
    return tuple(records)


def read_ris(path: str | Path, *, database: str = "RIS") -> tuple[Record, ...]:
    """Parse an RIS export with ``rispy`` (title, authors, year, journal, DOI, PMID)."""
    p = Path(path)
    name = str(p)
    try:
        with p.open(encoding="utf-8-sig") as fh:
            entries = rispy.load(fh)
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportValidationError(
            [ImportProblem(name, None, None, None, f"cannot be read: {exc}")]
        ) from exc
    except Exception as exc:  # rispy raises IOError/ValueError subclasses on malformed input
        raise ImportValidationError(
            [ImportProblem(name, None, None, None, f"is not valid RIS: {exc}")]
        ) from exc
    problems: list[ImportProblem] = []
    records: list[Record] = []
    for i, e in enumerate(entries, start=1):
        title = str(e.get("title") or e.get("primary_title") or "").strip()
        if not title:
            problems.append(ImportProblem(name, i, "TI", None, "RIS record without a title"))
            continue
        pmid = None
        for key in ("accession_number", "pubmed_id"):
            v = str(e.get(key) or "").strip()
            if v.isdigit():
                pmid = v
                break
        authors = tuple(e.get("authors") or e.get("first_authors") or ())
        doi = normalise_doi(str(e.get("doi") or ""))
        rid = f"pmid:{pmid}" if pmid else (f"doi:{doi}" if doi else f"{p.stem}:{i}")
        records.append(
            Record(
                record_id=rid,
                database=database,
                source_file=name,
                source_row=i,
                title=title,
                authors=authors,
                year=_year(str(e.get("year") or e.get("publication_year") or e.get("date") or "")),
                journal=e.get("journal_name") or e.get("secondary_title") or None,
                doi=doi,
                pmid=pmid,
                abstract=e.get("abstract") or e.get("notes_abstract") or None,
            )
        )
    if not entries:
        problems.append(ImportProblem(name, None, None, None, "no RIS records found"))
    if problems:
        raise ImportValidationError(problems)
    return tuple(records)


def read_records_csv(path: str | Path, *, database: str = "CSV") -> tuple[Record, ...]:
    """Read records from a CSV with at least a ``title`` column (see ``CSV_COLUMNS``)."""
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
    if "title" not in header:
        raise ImportValidationError(
            [
                ImportProblem(
                    name, None, "title", None, f"required column missing (columns: {header})"
                )
            ]
        )
    problems: list[ImportProblem] = []
    records: list[Record] = []
    for i, row in enumerate(rows, start=1):
        title = (row.get("title") or "").strip()
        if not title:
            problems.append(ImportProblem(name, i, "title", "", "empty title"))
            continue
        year_text = (row.get("year") or "").strip()
        year = _year(year_text)
        if year_text and year is None:
            problems.append(ImportProblem(name, i, "year", year_text, "not a year"))
        pmid = (row.get("pmid") or "").strip() or None
        if pmid is not None and not pmid.isdigit():
            problems.append(ImportProblem(name, i, "pmid", pmid, "a PMID is digits only"))
        doi_text = (row.get("doi") or "").strip()
        doi = normalise_doi(doi_text)
        if doi_text and doi is None:
            problems.append(ImportProblem(name, i, "doi", doi_text, "not a DOI (10.xxxx/...)"))
        rid = (row.get("record_id") or "").strip() or (f"pmid:{pmid}" if pmid else f"{p.stem}:{i}")
        authors = tuple(a.strip() for a in (row.get("authors") or "").split(";") if a.strip())
        records.append(
            Record(
                record_id=rid,
                database=(row.get("database") or "").strip() or database,
                source_file=name,
                source_row=i,
                title=title,
                authors=authors,
                year=year,
                journal=(row.get("journal") or "").strip() or None,
                doi=doi,
                pmid=pmid,
                abstract=(row.get("abstract") or "").strip() or None,
            )
        )
    if problems:
        raise ImportValidationError(problems)
    return tuple(records)


Format = Literal["nbib", "ris", "csv"]


def detect_format(path: str | Path) -> Format:
    """Format from the file extension: .nbib/.txt (MEDLINE), .ris, .csv."""
    ext = Path(path).suffix.lower()
    if ext in (".nbib", ".txt", ".medline"):
        return "nbib"
    if ext == ".ris":
        return "ris"
    if ext == ".csv":
        return "csv"
    raise ImportValidationError(
        [
            ImportProblem(
                str(path),
                None,
                None,
                ext or None,
                "unknown export format; use .nbib (PubMed MEDLINE), .ris or .csv",
            )
        ]
    )


def read_records(path: str | Path, *, database: str | None = None) -> tuple[Record, ...]:
    """Read one export file, choosing the parser from its extension."""
    fmt = detect_format(path)
    if fmt == "nbib":
        return read_nbib(path, database=database or "PubMed")
    if fmt == "ris":
        return read_ris(path, database=database or Path(path).stem)
    return read_records_csv(path, database=database or Path(path).stem)


class Duplicate(BaseModel):
    """A record removed as a duplicate of an earlier one, and the key that matched."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    record_id: str
    source_file: str
    source_row: int
    duplicate_of: str
    key: Literal["doi", "pmid", "title"]


class Deduplicated(BaseModel):
    """Unique records (first occurrence kept, in input order) and the duplicates removed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    records: tuple[Record, ...]
    unique: tuple[Record, ...]
    duplicates: tuple[Duplicate, ...]


def deduplicate(records: Sequence[Record] | Iterable[Record]) -> Deduplicated:
    """Remove duplicates by DOI, then PMID, then normalised title (+ year when both have one).

    The first occurrence is kept; each duplicate names the record it duplicates and the key.
    """
    recs = tuple(records)
    seen: dict[tuple[str, str], str] = {}
    titles: dict[str, list[tuple[int | None, str]]] = {}
    kept: list[Record] = []
    dups: list[Duplicate] = []
    used_ids: set[str] = set()
    for r in recs:
        keys: list[tuple[Literal["doi", "pmid"], str]] = []
        if r.doi:
            keys.append(("doi", r.doi))
        if r.pmid:
            keys.append(("pmid", r.pmid))
        nt = normalise_title(r.title)
        match: tuple[Literal["doi", "pmid", "title"], str] | None = next(
            ((k, seen[(k, v)]) for k, v in keys if (k, v) in seen), None
        )
        if match is None and nt:
            # same title counts unless both records give a year and the years differ
            same = [
                rid for y, rid in titles.get(nt, []) if y is None or r.year is None or y == r.year
            ]
            if same:
                match = ("title", same[0])
        if match is not None:
            dups.append(
                Duplicate(
                    record_id=r.record_id,
                    source_file=r.source_file,
                    source_row=r.source_row,
                    duplicate_of=match[1],
                    key=match[0],
                )
            )
            continue
        rid = r.record_id
        if rid in used_ids:  # same id from two files without a shared key: keep both, distinct
            rid = f"{rid}#{r.source_row}"
            r = r.model_copy(update={"record_id": rid})
        used_ids.add(rid)
        kept.append(r)
        for k, v in keys:
            seen[(k, v)] = rid
        if nt:
            titles.setdefault(nt, []).append((r.year, rid))
    return Deduplicated(records=recs, unique=tuple(kept), duplicates=tuple(dups))
