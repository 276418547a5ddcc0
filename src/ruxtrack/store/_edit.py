"""Changing one record: edit with a reason, add, delete with a reason (versioned, audited).

The patient's timeline is rebuilt with the change and passes the import's validation (the
timeline model, anchors, and ``normalise_timelines``: units checked and converted,
implausible values refused); the rows that differ are then written as new versions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy.engine import Connection, Engine

from ruxtrack.errors import ImportProblem, ImportValidationError, StoreError, TimelineError
from ruxtrack.sources import Row, resolved_rows, timeline_from_rows
from ruxtrack.sources._units import normalise_timelines
from ruxtrack.store._audit import AuditRecord, append_audit_many, default_actor, utc_now
from ruxtrack.store._schema import TABLES
from ruxtrack.store._versions import (
    RECORD_KINDS,
    Change,
    RecordKind,
    hash_rows,
    read_rows,
    write_version,
)
from ruxtrack.timeline import (
    Assessment,
    DrugExposure,
    Event,
    Observation,
    SupportEpisode,
    Timeline,
)

__all__ = ["StoredRecord", "TimelineRecord", "change_record", "kind_of", "stored_records"]

TimelineRecord = Event | Observation | DrugExposure | SupportEpisode | Assessment
_KIND: dict[type[Any], RecordKind] = {
    Event: "events", Observation: "observations", DrugExposure: "drugs",
    SupportEpisode: "support", Assessment: "assessments",
}  # fmt: skip
#: Fields that, when edited, make an observation's kept source value stale.
_MEASURE = frozenset({"code", "value", "unit"})

Operation = Literal["edit", "add", "delete"]


@dataclass(frozen=True)
class StoredRecord:
    """A current record with its id within the patient (``seq``) and when it was recorded."""

    kind: RecordKind
    seq: int
    record: TimelineRecord
    recorded_at: datetime | None


def kind_of(record: TimelineRecord) -> RecordKind:
    """The record table a timeline record belongs to."""
    try:
        return _KIND[type(record)]
    except KeyError:
        raise StoreError(f"{type(record).__name__} is not a timeline record") from None


def _check_kind(kind: str) -> RecordKind:
    if kind not in RECORD_KINDS:
        raise StoreError(f'"{kind}" is not a record kind: one of {", ".join(RECORD_KINDS)}')
    return kind


def _current(conn: Connection, pid: str) -> dict[str, list[Row]]:
    rows = {name: list(read_rows(conn, name, [pid], None)) for name in TABLES}
    if not rows["patients"]:
        from ruxtrack.store._store import PatientNotFoundError

        raise PatientNotFoundError(pid)
    return rows


def _timeline(rows: Mapping[str, Sequence[Row]]) -> Timeline:
    return timeline_from_rows(rows["patients"][0], rows, {})


def stored_records(engine: Engine, pid: str, kind: str) -> list[StoredRecord]:
    """Current records of one kind with their seq, in order."""
    k = _check_kind(kind)
    with engine.connect() as conn:
        rows = _current(conn, pid)
    tl = _timeline(rows)
    return [
        StoredRecord(k, int(r["seq"]), rec, r.get("recorded_at"))
        for r, rec in zip(rows[k], getattr(tl, k), strict=True)
    ]


def _problem(pid: str, kind: str, seq: int | None, exc: Exception) -> ImportValidationError:
    where = f"patient {pid}"
    if isinstance(exc, ValidationError):
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"] if p not in ("patient",))
            value = err.get("input")
            shown = None if isinstance(value, dict | list | tuple) or value is None else str(value)
            problems.append(
                ImportProblem(where, seq, f"{kind}.{loc}" if loc else kind, shown, err["msg"])
            )
        return ImportValidationError(problems)
    return ImportValidationError([ImportProblem(where, seq, kind, None, str(exc))])


def _renumber(exc: ImportValidationError, pid: str, seqs: list[int]) -> ImportValidationError:
    """Name the record by its id (seq) rather than its position in the rebuilt timeline."""
    return ImportValidationError(
        [
            replace(p, file=f"patient {pid}", row=seqs[p.row - 1] if p.row else None)
            for p in exc.problems
        ]
    )


def _apply(
    tl: Timeline,
    seqs: list[int],
    kind: RecordKind,
    op: Operation,
    seq: int | None,
    changes: Mapping[str, Any] | None,
    record: TimelineRecord | None,
) -> tuple[Timeline, list[int], int]:
    """The timeline with the change applied, the seqs of ``kind`` after it, and the seq."""
    items = list(getattr(tl, kind))
    pid = tl.patient.patient_id
    if op == "add":
        assert record is not None
        if record.patient_id != pid:
            raise StoreError(f"the record is for patient {record.patient_id}, not {pid}")
        new_seq = max(seqs, default=-1) + 1
        items.append(record)
        seqs = [*seqs, new_seq]
    else:
        assert seq is not None
        if seq not in seqs:
            raise StoreError(f"patient {pid} has no current {kind} record {seq}")
        i = seqs.index(seq)
        new_seq = seq
        if op == "delete":
            del items[i]
            seqs = seqs[:i] + seqs[i + 1 :]
        else:
            old = items[i]
            data = old.model_dump()
            edits = dict(changes or {})
            unknown = sorted(set(edits) - set(data) - {"patient_id"})
            if unknown or "patient_id" in edits:
                bad = ", ".join(unknown or ["patient_id"])
                raise StoreError(f"{kind} records have no editable field {bad}")
            if kind == "observations" and _MEASURE & set(edits):
                data["source_value"] = data["source_unit"] = None
            data.update(edits)
            items[i] = type(old).model_validate(data)
    fields = {k: getattr(tl, k) for k in RECORD_KINDS}
    fields[kind] = tuple(items)
    return Timeline(patient=tl.patient, **fields), seqs, new_seq


def change_record(
    engine: Engine,
    pid: str,
    kind: str,
    op: Operation,
    *,
    seq: int | None = None,
    changes: Mapping[str, Any] | None = None,
    record: TimelineRecord | None = None,
    reason: str | None,
    actor: str | None,
    client: str | None,
) -> StoredRecord:
    """Edit, add or delete one record in one transaction (see :meth:`Store.edit_record`)."""
    k = _check_kind(kind)
    if op != "add" and (reason is None or not reason.strip()):
        verb = "an edit" if op == "edit" else "a deletion"
        raise StoreError(f"{verb} needs a reason (what was wrong, or why it goes)")
    who = actor or default_actor()
    with engine.begin() as conn:
        old = _current(conn, pid)
        tl = _timeline(old)
        seqs = {name: [int(r["seq"]) for r in old[name]] for name in RECORD_KINDS}
        try:
            new_tl, kind_seqs, new_seq = _apply(tl, seqs[k], k, op, seq, changes, record)
            (new_tl,) = normalise_timelines([new_tl])
            if k == "observations" and op != "delete":
                new_tl = _keep_received(new_tl, kind_seqs.index(new_seq))
            new_rows = resolved_rows(new_tl)
        except ImportValidationError as exc:
            raise _renumber(exc, pid, kind_seqs) from exc
        except (ValidationError, TimelineError, ValueError) as exc:
            raise _problem(pid, k, seq, exc) from exc
        seqs[k] = kind_seqs
        for name in RECORD_KINDS:
            for row, s in zip(new_rows[name], seqs[name], strict=True):
                row["seq"] = s
        now = utc_now()
        change: Change = "deleted" if op == "delete" else "edited"
        written = write_version(
            conn, pid, old, new_rows, change=change, reason=reason, actor=who, now=now,
            bookkeeping={"content_hash": hash_rows(new_rows)},
        )  # fmt: skip
        before = next((r for r in old[k] if r["seq"] == new_seq), None)
        after = next((r for r in new_rows[k] if r["seq"] == new_seq), None)
        detail: dict[str, Any] = {
            "kind": k, "seq": new_seq, "before": _plain(before), "after": _plain(after),
            "also_versioned": {n: s for n, s in written.items() if s and n != k} or None,
        }  # fmt: skip
        append_audit_many(conn, [AuditRecord(op, pid, detail, reason)], actor=who,
                          client=client, at=now)  # fmt: skip
    if op == "delete":
        assert before is not None
        gone = _timeline(old)
        return StoredRecord(k, new_seq, getattr(gone, k)[seqs_index(old[k], new_seq)], now)
    return StoredRecord(k, new_seq, getattr(new_tl, k)[kind_seqs.index(new_seq)], now)


def _keep_received(tl: Timeline, i: int) -> Timeline:
    """Record what was entered as the source value, as the file reader does for every row."""
    o = tl.observations[i]
    if o.source_value is not None:
        return tl
    obs = list(tl.observations)
    obs[i] = o.model_copy(update={"source_value": o.value, "source_unit": o.unit})
    return tl.model_copy(update={"observations": tuple(obs)})


def seqs_index(rows: Sequence[Row], seq: int) -> int:
    """Position of the row with ``seq``."""
    return next(i for i, r in enumerate(rows) if r["seq"] == seq)


def _plain(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        k: (v.isoformat() if isinstance(v, datetime) else v)
        for k, v in row.items()
        if k not in ("patient_id", "seq", "recorded_at")
    }
