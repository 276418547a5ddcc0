"""The registry store: SQLAlchemy 2 Core over SQLite (default) or PostgreSQL.

Every import is one transaction. A patient is the unit of change: a patient whose records are
identical to the store's is left untouched, a patient whose records differ has all of them
replaced at once, a new patient is inserted, and patients absent from the import stay as they
are. Nothing is written unless every timeline passed validation.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
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
from ruxtrack.store._results import ImportSummary, PatientChange, PatientSummary, TableChange
from ruxtrack.store._schema import RECORD_TABLES, TABLES, imports, patients
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

    def __init__(self, patient_id: str) -> None:
        self.patient_id = patient_id
        super().__init__(f'no patient "{patient_id}" in the store')


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


def open_store(url: str | os.PathLike[str] | None = None) -> Store:
    """Open (creating and migrating as needed) the store at ``url``.

    Parameters
    ----------
    url
        An SQLAlchemy URL (``sqlite:///path.sqlite``, ``postgresql+psycopg://user:pw@host/db``;
        ``postgresql://`` is read as psycopg 3), or a :class:`~pathlib.Path` to an SQLite file.
        None: the environment variable ``RUXTRACK_DATABASE_URL``, else :func:`default_url`.

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


def _hash_rows(tables: Mapping[str, Sequence[Row]]) -> str:
    h = hashlib.sha256()
    for name in RESOLVED_COLUMNS:
        lines = sorted(
            json.dumps(_comparable(name, r), default=str, separators=(",", ":"))
            for r in tables[name]
        )
        h.update(name.encode())
        for line in lines:
            h.update(line.encode())
            h.update(b"\n")
    return h.hexdigest()


def _comparable(name: str, row: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(_norm(row.get(c)) for c in RESOLVED_COLUMNS[name] if c != "seq")


def _norm(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    return v


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


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
    ) -> ImportSummary:
        """Write timelines in one transaction: all or nothing, idempotent per patient.

        A patient not yet in the store is inserted. A patient whose records (demographics and
        every record, order aside) equal the store's is left untouched. A patient whose records
        differ has all of them replaced atomically; the summary says what changed. Patients
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
            return self._write(prepared, source, progress)
        except SQLAlchemyError as exc:
            raise StoreError(
                f"the import into {self.url} failed and was rolled back: {db_reason(exc)}"
            ) from exc

    def import_folder(self, path: str | Path, *, progress: Progress | None = None) -> ImportSummary:
        """Validate a canonical folder (CSV or Parquet) and import it in one transaction.

        Equivalent to ``import_timelines(read_folder(path), source=str(path))``.

        Raises
        ------
        ImportValidationError
            Listing every problem in the folder; nothing was written.
        """
        return self.import_source(read_canonical(path), progress=progress)

    def import_source(
        self, result: SourceResult, *, progress: Progress | None = None
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
        return self.import_timelines(timelines, source=result.source or None, progress=progress)

    def export_folder(self, path: str | Path, format: Format = "csv") -> dict[str, Path]:
        """Write every patient as a canonical folder; importing it again changes nothing."""
        return write_folder(self.timelines(), path, format=format)

    def _write(
        self,
        prepared: Mapping[str, tuple[dict[str, list[Row]], str]],
        source: str | None,
        progress: Progress | None,
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

            import_id = self._log_import(conn, source, len(new), len(changed), len(same))
            changes = [self._diff(conn, pid, prepared[pid][0]) for pid in changed]
            for ch in changes:
                for name, c in ch.tables:
                    counts[name] += c
            for pid in new:
                rows = prepared[pid][0]
                for name in RECORD_TABLES:
                    counts[name] += TableChange(inserted=len(rows[name]))
            self._delete(conn, changed)

            writing = new + changed
            total = len(writing) + sum(
                len(prepared[pid][0][name]) for pid in writing for name in RECORD_TABLES
            )
            done = 0
            patient_rows = [
                {**prepared[pid][0]["patients"][0], "content_hash": prepared[pid][1],
                 "import_id": import_id}
                for pid in writing
            ]  # fmt: skip
            for batch in _chunks(patient_rows, _BATCH):
                conn.execute(patients.insert(), list(batch))
                done += len(batch)
                if progress is not None:
                    progress(done, total)
            for name, table in RECORD_TABLES.items():
                rows_all = [r for pid in writing for r in prepared[pid][0][name]]
                for batch in _chunks(rows_all, _BATCH):
                    conn.execute(table.insert(), list(batch))
                    done += len(batch)
                    if progress is not None:
                        progress(done, total)
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
        conn: Connection, source: str | None, inserted: int, replaced: int, unchanged: int
    ) -> int:
        result = conn.execute(
            imports.insert().values(
                imported_at=datetime.now(UTC).replace(tzinfo=None),
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
    def _diff(conn: Connection, pid: str, rows: Mapping[str, Sequence[Row]]) -> PatientChange:
        old_patient = (
            conn.execute(sa.select(patients).where(patients.c.patient_id == pid)).mappings().one()
        )
        demo_changed = _comparable("patients", dict(old_patient)) != _comparable(
            "patients", rows["patients"][0]
        )
        tables = []
        for name, table in RECORD_TABLES.items():
            old = Counter(
                _comparable(name, dict(r))
                for r in conn.execute(sa.select(table).where(table.c.patient_id == pid)).mappings()
            )
            new = Counter(_comparable(name, r) for r in rows[name])
            kept = sum((old & new).values())
            tables.append(
                (
                    name,
                    TableChange(
                        inserted=sum(new.values()) - kept,
                        removed=sum(old.values()) - kept,
                        unchanged=kept,
                    ),
                )
            )
        return PatientChange(pid, demo_changed, tuple(tables))

    @staticmethod
    def _delete(conn: Connection, ids: Sequence[str]) -> None:
        for chunk in _chunks(ids, _CHUNK):
            for table in reversed(RECORD_TABLES.values()):
                conn.execute(table.delete().where(table.c.patient_id.in_(chunk)))
            conn.execute(patients.delete().where(patients.c.patient_id.in_(chunk)))

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

    def timeline(self, patient_id: str) -> Timeline:
        """The timeline of one patient.

        Raises
        ------
        PatientNotFoundError
            When the store has no such patient (a :class:`StoreError`).
        """
        with self._engine.connect() as conn:
            found = list(self._read(conn, [patient_id], {}))
        if not found:
            raise PatientNotFoundError(patient_id)
        return found[0]

    def timelines(self, *, batch_size: int = _CHUNK) -> Iterator[Timeline]:
        """Every patient's timeline in patient-id order, read in batches (bounded memory)."""
        ids = self.patient_ids()
        times: dict[str, TimeRef] = {}
        for chunk in _chunks(ids, batch_size):
            with self._engine.connect() as conn:
                yield from self._read(conn, chunk, times)

    @staticmethod
    def _read(
        conn: Connection, ids: Sequence[str], times: dict[str, TimeRef]
    ) -> Iterator[Timeline]:
        q = sa.select(patients).where(patients.c.patient_id.in_(ids))
        heads = {r["patient_id"]: dict(r) for r in conn.execute(q).mappings()}
        records: dict[str, dict[str, list[Row]]] = defaultdict(lambda: defaultdict(list))
        for name, table in RECORD_TABLES.items():
            qr = (
                sa.select(table)
                .where(table.c.patient_id.in_(ids))
                .order_by(table.c.patient_id, table.c.seq)
            )
            for r in conn.execute(qr).mappings():
                records[r["patient_id"]][name].append(dict(r))
        for pid in ids:
            if pid in heads:
                yield timeline_from_rows(heads[pid], records.get(pid, {}), times)


def _age(row: Mapping[str, Any], events: Sequence[tuple[str, int, datetime]]) -> float | None:
    if row["age_years"] is not None:
        return float(row["age_years"])
    birth = row["birth_date"]
    if birth is None or not events:
        return None
    ref = next((t for e, o, t in events if (e, o) == ("admission", 1)), events[0][2])
    return float((ref.date() - birth).days / 365.25)
