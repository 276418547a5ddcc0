"""The audit trail: an append-only, hash-chained log of who read and wrote what.

Each entry's ``hash`` is SHA-256 over its own fields and the previous entry's hash
(``prev_hash``); entry ids run 1, 2, 3, ... without gaps. A head record (table ``audit_head``)
holds the number of entries and the last hash, updated in the same transaction as every
append, so that deleting the newest entries shows as a chain shorter than its head.

What this detects: any entry changed, removed (first, middle or last), inserted or reordered
by someone who edits rows without recomputing every later hash and the head. What it cannot
detect on its own: a person with write access to the database who recomputes the whole chain
and the head, or who empties both tables. Record the head hash outside the database
(``ruxtrack audit-log verify`` prints it; ``--expect-head`` checks it later) to close that gap.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ruxtrack.errors import StoreError
from ruxtrack.store._schema import audit_head, audit_log

__all__ = [
    "GENESIS",
    "AuditBreak",
    "AuditEntry",
    "AuditHead",
    "AuditRecord",
    "append_audit",
    "append_audit_many",
    "audit_entries",
    "audit_head_of",
    "default_actor",
    "entry_hash",
    "verify_audit_chain",
]

#: ``prev_hash`` of the first entry.
GENESIS = "0" * 64


def default_actor() -> str:
    """``os:<login name>`` of the process (the CLI's actor unless ``--actor`` is given)."""
    try:
        return f"os:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name (some containers)
        return "os:unknown"


def utc_now() -> datetime:
    """UTC now, naive (the store keeps naive UTC datetimes)."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class AuditEntry:
    """One audit entry. ``detail`` holds what was read or written (before/after, counts)."""

    entry_id: int
    at: datetime
    actor: str
    action: str
    patient_id: str | None
    detail: dict[str, Any] | None
    reason: str | None
    client: str | None
    prev_hash: str
    hash: str

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``at`` as ISO 8601 with ``Z``)."""
        return {
            "entry_id": self.entry_id,
            "at": self.at.isoformat() + "Z",
            "actor": self.actor,
            "action": self.action,
            "patient_id": self.patient_id,
            "detail": self.detail,
            "reason": self.reason,
            "client": self.client,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class AuditBreak:
    """The first place where the audit chain is broken.

    ``problem`` is a stable code: ``changed`` (an entry's content no longer matches its hash),
    ``unlinked`` (``prev_hash`` differs from the previous entry's hash: an entry before it was
    changed or removed), ``missing`` (an entry id is absent), ``truncated`` (the head counts
    more entries than there are: the newest were removed), ``extra`` (entries beyond the
    head), ``head_missing``, ``head_mismatch`` (the head's hash differs from the last entry's)
    or ``head_unexpected`` (the head differs from the one expected by the caller).
    """

    entry_id: int | None
    problem: str
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class AuditHead:
    """The chain's head: number of entries and the hash of the last."""

    entries: int
    last_hash: str

    def __str__(self) -> str:
        return f"{self.entries}:{self.last_hash}"


class _HasEngine(Protocol):
    @property
    def engine(self) -> Engine: ...


def _engine(store: Engine | _HasEngine) -> Engine:
    return store if isinstance(store, Engine) else store.engine


def _canonical(detail: Mapping[str, Any] | None) -> str | None:
    if detail is None:
        return None
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), default=str,
                      ensure_ascii=False)  # fmt: skip


def entry_hash(
    entry_id: int,
    at: datetime,
    actor: str,
    action: str,
    patient_id: str | None,
    detail_text: str | None,
    reason: str | None,
    client: str | None,
    prev_hash: str,
) -> str:
    """SHA-256 of an entry's fields and the previous hash (a canonical JSON array)."""
    payload = [entry_id, at.isoformat(timespec="microseconds"), actor, action, patient_id,
               detail_text, reason, client, prev_hash]  # fmt: skip
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AuditRecord:
    """What one audit entry says (the who, when and chain fields are added on append)."""

    action: str
    patient_id: str | None = None
    detail: Mapping[str, Any] | None = None
    reason: str | None = None


def append_audit(
    conn: Connection,
    *,
    actor: str | None,
    action: str,
    patient_id: str | None = None,
    detail: Mapping[str, Any] | None = None,
    reason: str | None = None,
    client: str | None = None,
    at: datetime | None = None,
) -> int:
    """Append one entry inside the caller's transaction; returns its id."""
    record = AuditRecord(action, patient_id, detail, reason)
    return append_audit_many(conn, [record], actor=actor, client=client, at=at)


def append_audit_many(
    conn: Connection,
    records: Sequence[AuditRecord],
    *,
    actor: str | None,
    client: str | None = None,
    at: datetime | None = None,
) -> int:
    """Append entries (one actor, one instant) inside the caller's transaction; the last id.

    The head row is updated first, which takes the write lock (SQLite) or the row lock
    (PostgreSQL), so concurrent appends are serialised and the chain stays linear.
    """
    if not records:
        return 0
    bumped = conn.execute(
        audit_head.update()
        .where(audit_head.c.id == 1)
        .values(entries=audit_head.c.entries + len(records))
    )
    if bumped.rowcount != 1:
        raise StoreError(
            "the audit log's head record is missing; nothing was written "
            "(run `ruxtrack audit-log verify`)"
        )
    entries, prev = conn.execute(
        sa.select(audit_head.c.entries, audit_head.c.last_hash).where(audit_head.c.id == 1)
    ).one()
    entry_id = int(entries) - len(records)
    when = (at or utc_now()).replace(tzinfo=None)
    who = actor or default_actor()
    rows = []
    for rec in records:
        entry_id += 1
        text = _canonical(rec.detail)
        digest = entry_hash(entry_id, when, who, rec.action, rec.patient_id, text, rec.reason,
                            client, prev)  # fmt: skip
        rows.append({
            "entry_id": entry_id, "at": when, "actor": who, "action": rec.action,
            "patient_id": rec.patient_id, "detail": text, "reason": rec.reason,
            "client": client, "prev_hash": prev, "hash": digest,
        })  # fmt: skip
        prev = digest
    for i in range(0, len(rows), 5000):
        conn.execute(audit_log.insert(), rows[i : i + 5000])
    conn.execute(audit_head.update().where(audit_head.c.id == 1).values(last_hash=prev))
    return entry_id


def _entry(r: Any) -> AuditEntry:
    return AuditEntry(
        entry_id=int(r.entry_id),
        at=r.at,
        actor=r.actor,
        action=r.action,
        patient_id=r.patient_id,
        detail=None if r.detail is None else json.loads(r.detail),
        reason=r.reason,
        client=r.client,
        prev_hash=r.prev_hash,
        hash=r.hash,
    )


def audit_entries(
    store: Engine | _HasEngine,
    *,
    patient_id: str | None = None,
    since: datetime | None = None,
    batch: int = 5000,
) -> Iterator[AuditEntry]:
    """Entries in chain order (optionally one patient's, or from ``since`` UTC), streamed."""
    engine = _engine(store)
    last = 0
    while True:
        q = sa.select(audit_log).where(audit_log.c.entry_id > last)
        if patient_id is not None:
            q = q.where(audit_log.c.patient_id == patient_id)
        if since is not None:
            q = q.where(audit_log.c.at >= since.replace(tzinfo=None))
        q = q.order_by(audit_log.c.entry_id).limit(batch)
        with engine.connect() as conn:
            rows = conn.execute(q).all()
        if not rows:
            return
        for r in rows:
            yield _entry(r)
        last = int(rows[-1].entry_id)


def audit_head_of(store: Engine | _HasEngine) -> AuditHead | None:
    """The head record, or None when it was removed."""
    with _engine(store).connect() as conn:
        row = conn.execute(
            sa.select(audit_head.c.entries, audit_head.c.last_hash).where(audit_head.c.id == 1)
        ).one_or_none()
    return None if row is None else AuditHead(int(row.entries), row.last_hash)


def verify_audit_chain(
    store: Engine | _HasEngine, *, expect_head: str | None = None
) -> AuditBreak | None:
    """The first break in the audit chain, or None when it is intact.

    Parameters
    ----------
    store
        A :class:`~ruxtrack.store.Store` (or its engine).
    expect_head
        A head recorded earlier outside the database (``ENTRIES:HASH`` as printed by
        ``ruxtrack audit-log verify``); the chain must still contain it as entry ENTRIES.
    """
    running = GENESIS
    expected = 1
    witnessed: tuple[int, str] | None = None
    if expect_head is not None:
        n_text, _, h = expect_head.partition(":")
        if not n_text.isdigit() or len(h) != 64:
            raise StoreError(f'"{expect_head}" is not a head: ENTRIES:SHA256 (64 hex digits)')
        witnessed = (int(n_text), h)
    engine = _engine(store)
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=5000).execute(
            sa.select(audit_log).order_by(audit_log.c.entry_id)
        )
        for r in result:
            eid = int(r.entry_id)
            if eid != expected:
                return AuditBreak(
                    expected, "missing", f"audit entry {expected} is missing (next is {eid})"
                )
            if r.prev_hash != running:
                return AuditBreak(
                    eid, "unlinked",
                    f"audit entry {eid} does not link to entry {eid - 1}: "
                    f"entry {eid - 1} was changed or replaced",
                )  # fmt: skip
            digest = entry_hash(eid, r.at, r.actor, r.action, r.patient_id, r.detail,
                                r.reason, r.client, r.prev_hash)  # fmt: skip
            if digest != r.hash:
                return AuditBreak(
                    eid, "changed", f"audit entry {eid} was changed after it was written"
                )
            running = r.hash
            if witnessed is not None and eid == witnessed[0] and running != witnessed[1]:
                return AuditBreak(
                    eid, "head_unexpected",
                    f"audit entry {eid} differs from the head recorded earlier: "
                    "the chain was rewritten",
                )  # fmt: skip
            expected += 1
    count = expected - 1
    head = audit_head_of(engine)
    if head is None:
        return AuditBreak(None, "head_missing", "the audit log's head record was removed")
    if witnessed is not None and witnessed[0] > count:
        return AuditBreak(
            count + 1, "truncated",
            f"the audit log ends at entry {count}, but a head recorded earlier names entry "
            f"{witnessed[0]}: entries {count + 1}-{witnessed[0]} were removed",
        )  # fmt: skip
    if head.entries > count:
        return AuditBreak(
            count + 1, "truncated",
            f"the audit log ends at entry {count}, but its head counts {head.entries}: "
            f"entr{'y' if head.entries == count + 1 else 'ies'} {count + 1}"
            f"{'' if head.entries == count + 1 else f'-{head.entries}'} removed",
        )  # fmt: skip
    if head.entries < count:
        return AuditBreak(
            head.entries + 1, "extra",
            f"audit entries {head.entries + 1}-{count} lie beyond the head "
            "(written around the audit API)",
        )  # fmt: skip
    if head.last_hash != running:
        return AuditBreak(
            count or None, "head_mismatch",
            f"the audit log's head does not match entry {count}: the chain was changed",
        )  # fmt: skip
    return None
