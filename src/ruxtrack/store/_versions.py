"""Nothing is overwritten: versioned writes, as-of reads and the history of a record.

The record tables hold the current version of every row (what the cohort engine reads);
``recorded_at`` says since when. Before a row changes or goes, its current version is copied to
``<table>_history`` with ``superseded_at``, the kind of change (``edited``, ``replaced`` by an
import, ``deleted``), the reason and who made it. A past state is the union of the current
rows recorded by then and the history rows that were current then.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ruxtrack.sources import RESOLVED_COLUMNS, Row
from ruxtrack.store._schema import HISTORY, RECORD_TABLES, TABLES, patients

__all__ = [
    "RECORD_KINDS",
    "Change",
    "RecordKind",
    "RecordVersion",
    "chunks",
    "comparable",
    "hash_rows",
    "read_history",
    "read_rows",
    "write_version",
]

#: The record kinds that can be edited one at a time (the record tables).
RecordKind = Literal["events", "observations", "drugs", "support", "assessments"]
RECORD_KINDS: tuple[RecordKind, ...] = ("events", "observations", "drugs", "support",
                                         "assessments")  # fmt: skip

#: Why a version was superseded.
Change = Literal["edited", "replaced", "deleted"]

_CHUNK = 500  # ids per IN (...) clause
_BOOKKEEPING = ("content_hash", "import_id", "recorded_at")


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """``items`` in slices of ``size``."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _norm(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    return v


def comparable(name: str, row: Mapping[str, Any]) -> tuple[Any, ...]:
    """A row's content (every resolved column but ``seq``) in a comparable form."""
    return tuple(_norm(row.get(c)) for c in RESOLVED_COLUMNS[name] if c != "seq")


def hash_rows(tables: Mapping[str, Sequence[Row]]) -> str:
    """SHA-256 of a patient's rows, record order aside (``patients.content_hash``)."""
    h = hashlib.sha256()
    for name in RESOLVED_COLUMNS:
        lines = sorted(
            json.dumps(comparable(name, r), default=str, separators=(",", ":"))
            for r in tables[name]
        )
        h.update(name.encode())
        for line in lines:
            h.update(line.encode())
            h.update(b"\n")
    return h.hexdigest()


@dataclass(frozen=True)
class RecordVersion:
    """A superseded version of a row: its values, when it was current, why it ended.

    ``kind`` is ``patients`` (demographics) or a record kind; ``values`` are the row's columns
    (``seq`` numbers the record within the patient). ``valid_from`` is None for rows stored
    before versioning existed.
    """

    kind: str
    seq: int | None
    values: dict[str, Any]
    valid_from: datetime | None
    valid_to: datetime
    change: Change
    reason: str | None
    changed_by: str
    import_id: int | None


def _retire(
    conn: Connection,
    name: str,
    pid: str,
    seqs: Sequence[int] | None,
    *,
    change: Change,
    reason: str | None,
    actor: str,
    import_id: int | None,
    now: datetime,
) -> None:
    """Copy the current version of rows to the history table (and delete record rows)."""
    table, hist = TABLES[name], HISTORY[name]
    cols = [c.name for c in table.columns]
    meta: dict[str, sa.ColumnElement[Any]] = {
        "superseded_at": sa.literal(now, sa.DateTime),
        "change": sa.literal(change, sa.String(16)),
        "change_reason": sa.literal(reason, sa.Text),
        "changed_by": sa.literal(actor, sa.String(128)),
        "change_import_id": sa.literal(import_id, sa.Integer),
    }
    groups: list[Sequence[int] | None] = [None] if seqs is None else list(chunks(seqs, _CHUNK))
    for group in groups:
        where = [table.c.patient_id == pid]
        if group is not None:
            where.append(table.c.seq.in_(group))
        sel = sa.select(*[table.c[c] for c in cols], *[v.label(k) for k, v in meta.items()])
        conn.execute(hist.insert().from_select([*cols, *meta], sel.where(*where)))
        if name != "patients":
            conn.execute(table.delete().where(*where))


def write_version(
    conn: Connection,
    pid: str,
    old: Mapping[str, Sequence[Row]],
    new: Mapping[str, Sequence[Row]],
    *,
    change: Change,
    reason: str | None,
    actor: str,
    now: datetime,
    bookkeeping: Mapping[str, Any],
    import_id: int | None = None,
) -> dict[str, list[int]]:
    """Make ``new`` the current state of patient ``pid``, keeping every superseded version.

    Rows are matched by ``seq``: a row whose content differs is versioned as ``change``; a row
    missing from ``new`` as ``deleted`` (``replaced`` when an import replaces it); rows equal
    in both are left alone. ``bookkeeping`` (content hash, import id) is set on the patient
    row without making a demographic version. Returns the seqs written per table.
    """
    gone_change: Change = "replaced" if change == "replaced" else "deleted"
    old_p, new_p = old["patients"][0], new["patients"][0]
    values = dict(bookkeeping)
    if comparable("patients", old_p) != comparable("patients", new_p):
        _retire(conn, "patients", pid, None, change=change, reason=reason, actor=actor,
                import_id=import_id, now=now)  # fmt: skip
        values.update({k: v for k, v in new_p.items() if k not in _BOOKKEEPING})
        values["recorded_at"] = now
    conn.execute(patients.update().where(patients.c.patient_id == pid).values(**values))
    written: dict[str, list[int]] = {}
    for name, table in RECORD_TABLES.items():
        before = {int(r["seq"]): r for r in old[name]}
        after = {int(r["seq"]): r for r in new[name]}
        gone = [s for s in before if s not in after]
        differ = [s for s in before if s in after
                  and comparable(name, before[s]) != comparable(name, after[s])]  # fmt: skip
        added = [s for s in after if s not in before]
        if gone:
            _retire(conn, name, pid, gone, change=gone_change, reason=reason, actor=actor,
                    import_id=import_id, now=now)  # fmt: skip
        if differ:
            _retire(conn, name, pid, differ, change=change, reason=reason, actor=actor,
                    import_id=import_id, now=now)  # fmt: skip
        rows = [{**after[s], "recorded_at": now} for s in sorted(differ + added)]
        for batch in chunks(rows, 5000):
            conn.execute(table.insert(), list(batch))
        written[name] = sorted(differ + added + gone)
    return written


def read_rows(
    conn: Connection, name: str, ids: Sequence[str], as_of: datetime | None
) -> Iterator[Row]:
    """Rows of one table for ``ids`` as they stood at ``as_of`` (None: now), by patient, seq."""
    table = TABLES[name]
    order = [table.c.patient_id] + ([table.c.seq] if "seq" in table.c else [])
    if as_of is None:
        q = sa.select(table).where(table.c.patient_id.in_(ids)).order_by(*order)
        for r in conn.execute(q).mappings():
            yield dict(r)
        return
    hist = HISTORY[name]
    cols = [c.name for c in table.columns]
    current = sa.select(*[table.c[c] for c in cols]).where(
        table.c.patient_id.in_(ids),
        sa.or_(table.c.recorded_at.is_(None), table.c.recorded_at <= as_of),
    )
    earlier = sa.select(*[hist.c[c] for c in cols]).where(
        hist.c.patient_id.in_(ids),
        sa.or_(hist.c.recorded_at.is_(None), hist.c.recorded_at <= as_of),
        hist.c.superseded_at > as_of,
    )
    both = sa.union_all(current, earlier).subquery()
    q = sa.select(both).order_by(*[both.c[c.name] for c in order])
    for r in conn.execute(q).mappings():
        yield dict(r)


def read_history(conn: Connection, pid: str, kind: str | None = None) -> list[RecordVersion]:
    """Superseded versions of a patient's rows (one kind, or all), oldest change first."""
    out: list[RecordVersion] = []
    names = list(TABLES) if kind is None else [kind]
    for name in names:
        hist = HISTORY[name]
        cols = [c.name for c in TABLES[name].columns]
        q = sa.select(hist).where(hist.c.patient_id == pid).order_by(hist.c.version_id)
        for r in conn.execute(q).mappings():
            out.append(
                RecordVersion(
                    kind=name,
                    seq=r.get("seq"),
                    values={c: r[c] for c in cols if c not in _BOOKKEEPING},
                    valid_from=r["recorded_at"],
                    valid_to=r["superseded_at"],
                    change=r["change"],
                    reason=r["change_reason"],
                    changed_by=r["changed_by"],
                    import_id=r["change_import_id"],
                )
            )
    out.sort(key=lambda v: (v.valid_to, v.kind, v.seq or 0))
    return out
