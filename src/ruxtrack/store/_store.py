"""The registry store: SQLAlchemy 2 Core over SQLite (default) or PostgreSQL.

Every import is one transaction. A patient is the unit of change: a patient whose records are
identical to the store's is left untouched, a patient whose records differ has all of them
replaced at once, a new patient is inserted, and patients absent from the import stay as they
are. Nothing is written unless every timeline passed validation.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import platformdirs
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from ruxtrack import __version__
from ruxtrack.errors import ImportValidationError, StoreError, excerpt
from ruxtrack.sources import (
    RESOLVED_COLUMNS,
    Format,
    Row,
    SourceResult,
    check_timelines,
    read_canonical,
    resolved_rows,
    timeline_from_rows,
    write_folder,
)
from ruxtrack.store._audit import (
    AuditBreak,
    AuditRecord,
    append_audit,
    append_audit_many,
    default_actor,
    utc_now,
    verify_audit_chain,
)
from ruxtrack.store._edit import (
    StoredRecord,
    TimelineRecord,
    change_record,
    kind_of,
    stored_records,
)
from ruxtrack.store._results import ImportSummary, PatientChange, PatientSummary, TableChange
from ruxtrack.store._schema import RECORD_TABLES, TABLES, imports, patients
from ruxtrack.store._versions import (
    RecordKind,
    RecordVersion,
    read_history,
    read_rows,
    write_version,
)
from ruxtrack.store._versions import chunks as _chunks
from ruxtrack.store._versions import comparable as _comparable
from ruxtrack.store._versions import hash_rows as _hash_rows
from ruxtrack.timeline import Timeline, TimeRef

__all__ = [
    "ENV_URL",
    "PatientNotFoundError",
    "Progress",
    "Store",
    "default_url",
    "open_store",
]

#: Environment variable naming the store's SQLAlchemy URL.
ENV_URL = "RUXTRACK_DATABASE_URL"

#: ``progress(done, total)``: rows written so far out of the rows to write.
Progress = Callable[[int, int], None]

_MIGRATIONS = Path(__file__).parent / "migrations"
_CHUNK = 500  # ids per IN (...) clause
_BATCH = 5000  # rows per executemany


class PatientNotFoundError(StoreError, LookupError):
    """The store has no patient with this id."""

    def __init__(self, patient_id: str, close_matches: Sequence[str] = ()) -> None:
        self.patient_id = patient_id
        self.close_matches = tuple(close_matches)
        hint = ""
        if self.close_matches:
            hint = "; did you mean " + " or ".join(f'"{c}"' for c in self.close_matches) + "?"
        super().__init__(f'no patient "{patient_id}" in the store{hint}')


def default_url() -> str:
    """The default store: ``ruxtrack.sqlite`` in the user's data directory (platformdirs)."""
    path = Path(platformdirs.user_data_dir("ruxtrack", appauthor=False)) / "ruxtrack.sqlite"
    return f"sqlite:///{path}"


def _resolve_url(url: str | os.PathLike[str] | None) -> URL:
    if isinstance(url, os.PathLike):
        # a file path: an SQLite store there
        url = f"sqlite:///{Path(url).expanduser().resolve()}"
    text = url or os.environ.get(ENV_URL) or default_url()
    try:
        parsed = make_url(text)
    except ArgumentError as exc:
        raise StoreError(f'"{text}" is not an SQLAlchemy database URL') from exc
    # Plain postgresql:// means psycopg2 to SQLAlchemy; ruxtrack depends on psycopg 3.
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def open_store(url: str | os.PathLike[str] | None = None, *, create: bool = True) -> Store:
    """Open (creating and migrating as needed) the store at ``url``.

    Parameters
    ----------
    url
        An SQLAlchemy URL (``sqlite:///path.sqlite``, ``postgresql+psycopg://user:pw@host/db``;
        ``postgresql://`` is read as psycopg 3), or a :class:`~pathlib.Path` to an SQLite file.
        None: the environment variable ``RUXTRACK_DATABASE_URL``, else :func:`default_url`.
    create
        False for commands that only read: an SQLite file that does not exist is an error
        instead of a new, empty store (a mistyped path must not leave a file behind).

    Raises
    ------
    StoreError
        When the URL is invalid, the database cannot be reached, or its schema is newer than
        this version of ruxtrack knows.

    Examples
    --------
    >>> store = open_store("sqlite://")
    >>> store.counts()["patients"]
    0
    """
    parsed = _resolve_url(url)
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        target = Path(str(parsed.database)).expanduser()
        if not create and not target.exists():
            raise StoreError(
                f"no store at {target}: the file does not exist "
                "(ruxtrack import or ruxtrack demo creates one)"
            )
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot open {shown}: cannot create the folder {target.parent}: "
                f"{exc.strerror or exc}"
            ) from exc
        if target.is_dir():
            raise StoreError(f"cannot open {shown}: {target} is a folder, not a database file")
    try:
        # hide_parameters: an error must never print patient ids, times or values
        engine = sa.create_engine(parsed, hide_parameters=True)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise StoreError(f"cannot open {shown}: {_driver_hint(parsed, exc)}") from exc
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    try:
        _migrate(engine, shown)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(f"cannot open {shown}: {db_reason(exc)}") from exc
    except StoreError:
        engine.dispose()
        raise
    return Store(engine)


def _driver_hint(url: URL, exc: Exception) -> str:
    if isinstance(exc, NoSuchModuleError | ImportError) and "psycopg" in url.drivername:
        return (
            "the PostgreSQL driver (psycopg 3) is not installed; install it with "
            "pip install 'ruxtrack[postgres]'"
        )
    return str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__


def db_reason(exc: SQLAlchemyError) -> str:
    """The database's reason without SQL, parameters or row values (which hold patient data).

    Only the first line of the driver's message is kept: PostgreSQL's ``DETAIL:`` lines quote
    key values.
    """
    orig = getattr(exc, "orig", None)
    text = str(orig) if orig is not None else str(exc)
    first = text.strip().splitlines()[0] if text.strip() else ""
    first = first.split("[SQL:")[0].strip()
    name = (orig or exc).__class__.__name__
    return excerpt(f"{name}: {first}" if first else name, 200)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # Write-ahead log: readers do not block the writer, and a commit (every audited read is
    # one) costs one WAL append instead of journal + database syncs (~2 ms instead of ~20 ms
    # here). NORMAL sync keeps the file consistent; after a power cut the last transactions
    # may be lost, each with its own audit entries (docs/registry.md).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _alembic_config(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def _migrate(engine: Engine, shown: str) -> None:
    with engine.begin() as conn:
        cfg = _alembic_config(conn)
        script = ScriptDirectory.from_config(cfg)
        current = MigrationContext.configure(conn).get_current_revision()
        known = {s.revision for s in script.walk_revisions()}
        if current is not None and current not in known:
            raise StoreError(
                f"{shown} has schema revision {current}, which this ruxtrack ({__version__}) "
                "does not know: it was written by a newer version"
            )
        if current != script.get_current_head():
            command.upgrade(cfg, "head")


class Store:
    """A registry store: patients' timelines in SQL, written only by atomic imports.

    Use :func:`open_store` to get one. Closing (or leaving a ``with`` block) releases the
    connections.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # -- basics -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The store's URL, with any password hidden."""
        return self._engine.url.render_as_string(hide_password=True)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (read access for the cohort engine; write through imports)."""
        return self._engine

    def close(self) -> None:
        """Release the store's connections."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    # -- writing ------------------------------------------------------------------------------
    def import_timelines(
        self,
        timelines: Iterable[Timeline],
        *,
        source: str | None = None,
        progress: Progress | None = None,
        actor: str | None = None,
        client: str | None = None,
    ) -> ImportSummary:
        """Write timelines in one transaction: all or nothing, idempotent per patient.

        A patient not yet in the store is inserted. A patient whose records (demographics and
        every record, order aside) equal the store's is left untouched. A patient whose records
        differ is replaced atomically; the summary says what changed. Nothing is overwritten:
        every row the replacement changes or removes keeps its previous version in the
        history tables (change ``replaced``, with the import's id). Patients
        not in ``timelines`` are not touched. Importing the same data twice writes nothing the
        second time (no rows, no import-log entry).

        Observations are checked against the lab catalogue and stored in their canonical unit
        (``source_value`` / ``source_unit`` keep what was received).

        Parameters
        ----------
        timelines
            Validated timelines, e.g. from :func:`ruxtrack.sources.read_folder`.
        source
            Where they came from (a path); recorded in the ``imports`` table.
        progress
            Called as ``progress(rows_written, rows_total)`` while writing.
        actor, client
            Who imports and from where, for the audit log (one ``import`` entry per patient
            inserted or replaced); ``actor`` None is the operating-system user.

        Raises
        ------
        ImportValidationError
            When a patient id repeats or an observation's code or unit fails the catalogue;
            nothing was written.
        StoreError
            When the database refuses the write; the transaction was rolled back.
        """
        tls, problems = check_timelines(list(timelines), source=source or "import")
        if problems:
            raise ImportValidationError(problems)
        prepared: dict[str, tuple[dict[str, list[Row]], str]] = {}
        for tl in tls:
            rows = resolved_rows(tl)
            prepared[tl.patient.patient_id] = (rows, _hash_rows(rows))
        try:
            return self._write(prepared, source, progress, actor or default_actor(), client)
        except SQLAlchemyError as exc:
            raise StoreError(
                f"the import into {self.url} failed and was rolled back: {db_reason(exc)}"
            ) from exc

    def import_folder(
        self,
        path: str | Path,
        *,
        progress: Progress | None = None,
        actor: str | None = None,
        client: str | None = None,
    ) -> ImportSummary:
        """Validate a canonical folder (CSV or Parquet) and import it in one transaction.

        Equivalent to ``import_timelines(read_folder(path), source=str(path))``.

        Raises
        ------
        ImportValidationError
            Listing every problem in the folder; nothing was written.
        """
        return self.import_source(
            read_canonical(path), progress=progress, actor=actor, client=client
        )

    def import_source(
        self,
        result: SourceResult,
        *,
        progress: Progress | None = None,
        actor: str | None = None,
        client: str | None = None,
    ) -> ImportSummary:
        """The one door for a source reader's result: all or nothing, in one transaction.

        Raises
        ------
        ImportValidationError
            When the reader found problems (each located in the source's own terms);
            nothing was written.
        StoreError
            When the database refuses the write; the transaction was rolled back.
        """
        timelines = result.raise_for_problems()
        return self.import_timelines(
            timelines,
            source=result.source or None,
            progress=progress,
            actor=actor,
            client=client,
        )

    def export_folder(
        self,
        path: str | Path,
        format: Format = "csv",
        *,
        actor: str | None = None,
        client: str | None = None,
    ) -> dict[str, Path]:
        """Write every patient as a canonical folder; importing it again changes nothing.

        Audited: one ``export`` entry per patient (``actor`` None: the operating-system user).
        """
        detail = {"path": str(path), "format": format}
        stream = self._stream(_CHUNK, None, "export", detail, actor, client)
        return write_folder(stream, path, format=format)

    def _write(
        self,
        prepared: Mapping[str, tuple[dict[str, list[Row]], str]],
        source: str | None,
        progress: Progress | None,
        actor: str,
        client: str | None,
    ) -> ImportSummary:
        ids = list(prepared)
        with self._engine.begin() as conn:
            stored = self._stored_hashes(conn, ids)
            new = [pid for pid in ids if pid not in stored]
            same = [pid for pid in ids if stored.get(pid) == prepared[pid][1]]
            changed = [pid for pid in ids if pid in stored and stored[pid] != prepared[pid][1]]
            counts: dict[str, TableChange] = {name: TableChange() for name in RESOLVED_COLUMNS}
            for pid in same:
                rows = prepared[pid][0]
                for name in RECORD_TABLES:
                    counts[name] += TableChange(unchanged=len(rows[name]))
            counts["patients"] = TableChange(len(new), len(changed), len(same))
            if not new and not changed:
                return self._summary(source, None, new, [], same, counts)

            now = utc_now()
            import_id = self._log_import(conn, source, len(new), len(changed), len(same), now)
            for pid in new:
                rows = prepared[pid][0]
                for name in RECORD_TABLES:
                    counts[name] += TableChange(inserted=len(rows[name]))
            total = sum(len(prepared[pid][0][name]) for pid in new + changed for name in TABLES)
            done = 0

            def step(n: int) -> None:
                nonlocal done
                done += n
                if progress is not None:
                    progress(done, total)

            changes = []
            reason = f"import {import_id}" + ("" if source is None else f" from {source}")
            for pid in changed:
                rows = prepared[pid][0]
                old = self._current_rows(conn, pid)
                change = self._diff(pid, old, rows)
                changes.append(change)
                for name, c in change.tables:
                    counts[name] += c
                write_version(
                    conn, pid, old, rows, change="replaced", reason=reason, actor=actor,
                    now=now, import_id=import_id,
                    bookkeeping={"content_hash": prepared[pid][1], "import_id": import_id},
                )  # fmt: skip
                step(sum(len(rows[name]) for name in TABLES))

            patient_rows = [
                {**prepared[pid][0]["patients"][0], "content_hash": prepared[pid][1],
                 "import_id": import_id, "recorded_at": now}
                for pid in new
            ]  # fmt: skip
            for batch in _chunks(patient_rows, _BATCH):
                conn.execute(patients.insert(), list(batch))
                step(len(batch))
            for name, table in RECORD_TABLES.items():
                rows_all = [
                    {**r, "recorded_at": now} for pid in new for r in prepared[pid][0][name]
                ]
                for batch in _chunks(rows_all, _BATCH):
                    conn.execute(table.insert(), list(batch))
                    step(len(batch))
            entries = [
                AuditRecord("import", pid, {"import_id": import_id, "source": source,
                                            "change": "inserted"})
                for pid in new
            ] + [
                AuditRecord("import", ch.patient_id, {
                    "import_id": import_id, "source": source, "change": "replaced",
                    "demographics_changed": ch.demographics_changed,
                    "tables": {n: {"inserted": c.inserted, "removed": c.removed}
                               for n, c in ch.tables if c.changed},
                })
                for ch in changes
            ]  # fmt: skip
            append_audit_many(conn, entries, actor=actor, client=client, at=now)
            return self._summary(source, import_id, new, changes, same, counts)

    def _summary(
        self,
        source: str | None,
        import_id: int | None,
        new: list[str],
        changes: list[PatientChange],
        same: list[str],
        counts: Mapping[str, TableChange],
    ) -> ImportSummary:
        return ImportSummary(
            url=self.url,
            source=source,
            import_id=import_id,
            inserted=tuple(new),
            replaced=tuple(changes),
            unchanged=tuple(same),
            tables=tuple(counts.items()),
        )

    @staticmethod
    def _stored_hashes(conn: Connection, ids: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for chunk in _chunks(ids, _CHUNK):
            q = sa.select(patients.c.patient_id, patients.c.content_hash).where(
                patients.c.patient_id.in_(chunk)
            )
            out.update({pid: h for pid, h in conn.execute(q)})
        return out

    @staticmethod
    def _log_import(
        conn: Connection,
        source: str | None,
        inserted: int,
        replaced: int,
        unchanged: int,
        now: datetime,
    ) -> int:
        result = conn.execute(
            imports.insert().values(
                imported_at=now,
                source=source,
                ruxtrack_version=__version__,
                patients_inserted=inserted,
                patients_replaced=replaced,
                patients_unchanged=unchanged,
            )
        )
        key = result.inserted_primary_key
        if key is None:  # pragma: no cover - every supported dialect returns it
            raise StoreError("the database did not return the import's id")
        return int(key[0])

    @staticmethod
    def _current_rows(conn: Connection, pid: str) -> dict[str, list[Row]]:
        """The patient's current rows (patients and record tables), records by seq."""
        return {name: list(read_rows(conn, name, [pid], None)) for name in TABLES}

    @staticmethod
    def _diff(
        pid: str, old: Mapping[str, Sequence[Row]], rows: Mapping[str, Sequence[Row]]
    ) -> PatientChange:
        demo_changed = _comparable("patients", old["patients"][0]) != _comparable(
            "patients", rows["patients"][0]
        )
        tables = []
        for name in RECORD_TABLES:
            before = Counter(_comparable(name, r) for r in old[name])
            after = Counter(_comparable(name, r) for r in rows[name])
            kept = sum((before & after).values())
            tables.append(
                (
                    name,
                    TableChange(
                        inserted=sum(after.values()) - kept,
                        removed=sum(before.values()) - kept,
                        unchanged=kept,
                    ),
                )
            )
        return PatientChange(pid, demo_changed, tuple(tables))

    # -- audit --------------------------------------------------------------------------------
    def audit(
        self,
        actor: str | None,
        action: str,
        patient_id: str | None = None,
        detail: Mapping[str, Any] | None = None,
        client: str | None = None,
        *,
        reason: str | None = None,
    ) -> int:
        """Append one entry to the hash-chained audit log (its own transaction); its id.

        ``actor`` None means the operating-system user (``os:<login>``). ``action`` is a
        stable code (docs/registry.md, "Audit trail"); ``detail`` is JSON-ready data (what
        was read or written, before/after); ``client`` says from where (an IP address, "cli").
        The store's own writes and reads audit themselves; faces call this for what happens
        outside the store (a decision shown, a report downloaded).
        """
        with _db_errors(f"writing the audit log of {self.url}"), self._engine.begin() as conn:
            return append_audit(
                conn, actor=actor, action=action, patient_id=patient_id, detail=detail,
                reason=reason, client=client,
            )  # fmt: skip

    def verify_audit(self, *, expect_head: str | None = None) -> AuditBreak | None:
        """The first break in the audit chain, or None (see :func:`verify_audit_chain`)."""
        return verify_audit_chain(self._engine, expect_head=expect_head)

    # -- reading ------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Rows per table: patients, events, observations, drugs, support, assessments."""
        with self._engine.connect() as conn:
            return {
                name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
                for name, t in TABLES.items()
            }

    def patient_ids(self) -> list[str]:
        """Every patient id, sorted."""
        with self._engine.connect() as conn:
            q = sa.select(patients.c.patient_id).order_by(patients.c.patient_id)
            return [pid for (pid,) in conn.execute(q)]

    def patients(self) -> list[PatientSummary]:
        """One summary per patient (id, sex, age, synthetic, anchors, record counts), by id."""
        with self._engine.connect() as conn:
            per_table: dict[str, dict[str, int]] = {}
            for name, table in RECORD_TABLES.items():
                q = sa.select(table.c.patient_id, sa.func.count()).group_by(table.c.patient_id)
                per_table[name] = {pid: int(n) for pid, n in conn.execute(q)}
            anchors: dict[str, list[tuple[str, int, datetime]]] = defaultdict(list)
            ev = RECORD_TABLES["events"]
            q_ev = sa.select(ev.c.patient_id, ev.c.event, ev.c.occurrence, ev.c.t).order_by(
                ev.c.patient_id, ev.c.t, ev.c.seq
            )
            for pid, event, occ, t in conn.execute(q_ev):
                anchors[pid].append((event, occ, t))
            out = []
            for row in conn.execute(sa.select(patients).order_by(patients.c.patient_id)).mappings():
                pid = row["patient_id"]
                evs = anchors.get(pid, [])
                out.append(
                    PatientSummary(
                        patient_id=pid,
                        sex=row["sex"],
                        age_years=_age(dict(row), evs),
                        synthetic=bool(row["synthetic"]),
                        time_basis=row["time_basis"],
                        anchors=tuple(e if o == 1 else f"{e}#{o}" for e, o, _ in evs),
                        counts=tuple((name, per_table[name].get(pid, 0)) for name in RECORD_TABLES),
                    )
                )
            return out

    def timeline(
        self,
        patient_id: str,
        as_of: datetime | None = None,
        *,
        actor: str | None = None,
        client: str | None = None,
        reason: str | None = None,
    ) -> Timeline:
        """The timeline of one patient, now or as it stood at ``as_of``.

        Every call is a read of a patient record and is audited (action ``read``; ``actor``
        None is the operating-system user).

        Parameters
        ----------
        patient_id
            The patient.
        as_of
            A past instant (UTC; an aware datetime is converted): the record as it stood
            then, before later edits, replacements and deletions. None: now.

        Raises
        ------
        PatientNotFoundError
            When the store has no such patient (or had none at ``as_of``).
        """
        when = _utc(as_of)
        with _db_errors(f"reading {self.url}"), self._engine.begin() as conn:
            found = list(self._read(conn, [patient_id], {}, when))
            if not found:
                raise PatientNotFoundError(patient_id, self._close_ids(patient_id))
            detail = None if when is None else {"as_of": when.isoformat()}
            append_audit(
                conn, actor=actor or default_actor(), action="read", patient_id=patient_id,
                detail=detail, reason=reason, client=client,
            )  # fmt: skip
        return found[0]

    def _close_ids(self, patient_id: str, limit: int = 100_000) -> list[str]:
        """Ids like ``patient_id``: the same but for case first, then close spellings."""
        with self._engine.connect() as conn:
            same_case = sa.func.lower(patients.c.patient_id) == patient_id.lower()
            hits = list(conn.execute(sa.select(patients.c.patient_id).where(same_case)).scalars())
            if hits:
                return hits[:3]
            ids = list(conn.execute(sa.select(patients.c.patient_id).limit(limit)).scalars())
        import difflib

        return difflib.get_close_matches(patient_id, ids, n=3, cutoff=0.7)

    def timelines(
        self,
        *,
        batch_size: int = _CHUNK,
        as_of: datetime | None = None,
        actor: str | None = None,
        client: str | None = None,
    ) -> Iterator[Timeline]:
        """Every patient's timeline in patient-id order, read in batches (bounded memory).

        Audited: one ``read`` entry per patient, written as each batch is read.
        """
        detail = {"bulk": True} if as_of is None else {"bulk": True, "as_of": str(as_of)}
        return self._stream(batch_size, _utc(as_of), "read", detail, actor, client)

    def _stream(
        self,
        batch_size: int,
        as_of: datetime | None,
        action: str,
        detail: Mapping[str, Any],
        actor: str | None,
        client: str | None,
    ) -> Iterator[Timeline]:
        ids = self.patient_ids()
        times: dict[str, TimeRef] = {}
        who = actor or default_actor()
        for chunk in _chunks(ids, batch_size):
            with self._engine.begin() as conn:
                found = list(self._read(conn, chunk, times, as_of))
                records = [AuditRecord(action, tl.patient.patient_id, detail) for tl in found]
                append_audit_many(conn, records, actor=who, client=client)
            yield from found

    @staticmethod
    def _read(
        conn: Connection,
        ids: Sequence[str],
        times: dict[str, TimeRef],
        as_of: datetime | None = None,
    ) -> Iterator[Timeline]:
        heads = {r["patient_id"]: r for r in read_rows(conn, "patients", ids, as_of)}
        records: dict[str, dict[str, list[Row]]] = defaultdict(lambda: defaultdict(list))
        for name in RECORD_TABLES:
            for r in read_rows(conn, name, ids, as_of):
                records[r["patient_id"]][name].append(r)
        for pid in ids:
            if pid in heads:
                yield timeline_from_rows(heads[pid], records.get(pid, {}), times)

    # -- versions -----------------------------------------------------------------------------
    def records(self, patient_id: str, kind: RecordKind) -> list[StoredRecord]:
        """The current records of one kind with their ids (``seq``), in timeline order.

        ``seq`` is the id :meth:`edit_record` and :meth:`delete_record` take; it stays with
        the record through edits. Not audited (use :meth:`timeline` to read a record).
        """
        return stored_records(self._engine, patient_id, kind)

    def history(self, patient_id: str, kind: str | None = None) -> list[RecordVersion]:
        """Every superseded version of the patient's rows (edited, replaced, deleted).

        ``kind``: ``patients`` (demographics) or a record kind; None: all. Oldest change first.
        """
        with self._engine.connect() as conn:
            return read_history(conn, patient_id, kind)

    def edit_record(
        self,
        patient_id: str,
        kind: RecordKind,
        seq: int,
        changes: Mapping[str, Any],
        *,
        reason: str,
        actor: str | None = None,
        client: str | None = None,
    ) -> StoredRecord:
        """Change fields of one record; the previous version is kept with the reason.

        ``changes`` maps timeline field names (e.g. ``value``, ``unit``, ``time``, ``dose``)
        to new values. The edited timeline passes the same validation as an import (model,
        anchors, units and plausible ranges of ruxtrack.sources); an observation given in
        another accepted unit is converted. Records whose resolved time moves with an edited
        event are versioned too. Audited as ``edit`` with before and after.

        Raises
        ------
        ImportValidationError
            When the edit fails validation (nothing written), naming field and reason.
        StoreError
            When the reason is blank or there is no such record (``PatientNotFoundError``
            for an unknown patient).
        """
        with _db_errors(f"the edit in {self.url}"):
            return change_record(
                self._engine, patient_id, kind, "edit", seq=seq, changes=changes,
                reason=reason, actor=actor, client=client,
            )  # fmt: skip

    def add_record(
        self,
        patient_id: str,
        record: TimelineRecord,
        *,
        reason: str | None = None,
        actor: str | None = None,
        client: str | None = None,
    ) -> StoredRecord:
        """Add one record (observation, drug exposure, support episode, assessment, event).

        Validated as an import is (units checked and converted, implausible values refused
        with the reason). Audited as ``add``.

        Raises
        ------
        ImportValidationError
            When the record fails validation; nothing was written.
        """
        with _db_errors(f"the addition in {self.url}"):
            return change_record(
                self._engine, patient_id, kind_of(record), "add", record=record,
                reason=reason, actor=actor, client=client,
            )  # fmt: skip

    def delete_record(
        self,
        patient_id: str,
        kind: RecordKind,
        seq: int,
        *,
        reason: str,
        actor: str | None = None,
        client: str | None = None,
    ) -> None:
        """Remove one record with a reason; history keeps it (change ``deleted``).

        Raises
        ------
        ImportValidationError
            When the patient's timeline would become invalid (an event other records are
            timed from); nothing was written.
        """
        with _db_errors(f"the deletion in {self.url}"):
            change_record(
                self._engine, patient_id, kind, "delete", seq=seq, reason=reason,
                actor=actor, client=client,
            )  # fmt: skip


@contextmanager
def _db_errors(what: str) -> Iterator[None]:
    """A database failure as a StoreError naming what failed (the SQL and its values left out)."""
    try:
        yield
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        first = str(orig if orig is not None else exc).splitlines()[0] if str(exc) else ""
        raise StoreError(f"{what} failed: {exc.__class__.__name__}: {first}") from exc


def _utc(t: datetime | None) -> datetime | None:
    if t is None or t.tzinfo is None:
        return t
    return t.astimezone(UTC).replace(tzinfo=None)


def _age(row: Mapping[str, Any], events: Sequence[tuple[str, int, datetime]]) -> float | None:
    if row["age_years"] is not None:
        return float(row["age_years"])
    birth = row["birth_date"]
    if birth is None or not events:
        return None
    ref = next((t for e, o, t in events if (e, o) == ("admission", 1)), events[0][2])
    return float((ref.date() - birth).days / 365.25)
