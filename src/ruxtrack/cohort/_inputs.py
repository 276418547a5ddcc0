"""Input adapters: every data source becomes the same six Ibis tables on one engine.

The tables have the store's resolved long shape (docs/data-format.md, "The store's tables"): times
are timestamps in ``t`` (events, observations, assessments) and ``t_start`` / ``t_end`` (drugs,
support). Sources:

* a store URL (``sqlite:///x.db``, ``postgresql://...``) read through Ibis' own SQLite/PostgreSQL
  backends (DuckDB's ``sqlite_scan`` needs an extension download: trap G4) and handed to the engine;
* a Parquet folder with timestamp columns (what ``ruxtrack synth --format parquet`` writes), read
  by the engine directly, so a million patients never pass through Python objects;
* a canonical CSV folder (or a Parquet folder with relative times), read and resolved by
  :mod:`ruxtrack.sources`;
* a wide spreadsheet (CSV or XLSX, one row per patient) — see :func:`read_wide`.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.datatypes as dt
import pandas as pd
from ibis.backends import BaseBackend

from ruxtrack.errors import AnalysisError

__all__ = ["TABLE_SCHEMAS", "CohortTables", "Engine", "connect_engine", "open_tables"]

Engine = Literal["duckdb", "pyspark"]

#: The columns the cohort layer reads from each table, with their types. Other columns are ignored.
TABLE_SCHEMAS: dict[str, dict[str, str]] = {
    "patients": {
        "patient_id": "string",
        "sex": "string",
        "birth_date": "date",
        "age_years": "float64",
        "age_at": "string",
        "blood_group": "string",
        "comorbidities": "string",
        "synthetic": "boolean",
    },
    "events": {"patient_id": "string", "event": "string", "occurrence": "int64", "t": "timestamp"},
    "observations": {
        "patient_id": "string",
        "t": "timestamp",
        "code": "string",
        "value": "float64",
        "unit": "string",
    },
    "drugs": {
        "patient_id": "string",
        "drug": "string",
        "dose": "float64",
        "unit": "string",
        "frequency": "string",
        "t_start": "timestamp",
        "t_end": "timestamp",
    },
    "support": {
        "patient_id": "string",
        "mode": "string",
        "t_start": "timestamp",
        "t_end": "timestamp",
        "fio2": "float64",
    },
    "assessments": {
        "patient_id": "string",
        "t": "timestamp",
        "kind": "string",
        "value": "string",
        "code": "string",
    },
}

# Canonical-file column -> resolved column, for files that carry timestamps already.
_TIME_RENAMES: dict[str, dict[str, str]] = {
    "events": {"time": "t"},
    "observations": {"time": "t"},
    "assessments": {"time": "t"},
    "drugs": {"start": "t_start", "end": "t_end"},
    "support": {"start": "t_start", "end": "t_end"},
}


@dataclass(frozen=True)
class CohortTables:
    """The six tables of a cohort on one Ibis backend, in the store's resolved shape."""

    con: BaseBackend
    patients: ibis.Table
    events: ibis.Table
    observations: ibis.Table
    drugs: ibis.Table
    support: ibis.Table
    assessments: ibis.Table
    origin: str

    def table(self, name: str) -> ibis.Table:
        """One table by name."""
        tbl: ibis.Table = getattr(self, name)
        return tbl


def connect_engine(engine: Engine = "duckdb", threads: int | None = None) -> BaseBackend:
    """An in-process engine: DuckDB (default) or PySpark in local mode.

    Spark settings follow the project's dependency notes (G5/G6): ``local[2]``, two shuffle
    partitions, no UI, loopback address, UTC session time zone and a fresh warehouse directory.
    """
    if engine == "duckdb":
        con = ibis.duckdb.connect()
        if threads is not None:
            con.raw_sql(f"SET threads = {int(threads)}")
        return con
    if engine == "pyspark":
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise AnalysisError(
                "the pyspark engine needs the [spark] extra: pip install 'ruxtrack[spark]'"
            ) from exc
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # Python workers must run this interpreter (with pandas and pyarrow), not the system one.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        warehouse = tempfile.mkdtemp(prefix="ruxtrack-spark-")
        session = (
            SparkSession.builder.master("local[2]")
            .appName("ruxtrack-cohort")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.warehouse.dir", warehouse)
            .getOrCreate()
        )
        return ibis.pyspark.connect(session)
    raise AnalysisError(f"unknown engine {engine!r}: use duckdb or pyspark")


def _conform(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Keep the columns the cohort layer reads, add missing optional ones, fix the types."""
    schema = TABLE_SCHEMAS[name]
    frame = frame.rename(
        columns={k: v for k, v in _TIME_RENAMES.get(name, {}).items() if v not in frame.columns}
    )
    out = pd.DataFrame(index=frame.index)
    for col, typ in schema.items():
        src = frame[col] if col in frame.columns else pd.Series([None] * len(frame), dtype=object)
        if typ == "string":
            text = src.astype("string")
            out[col] = text.astype(object).where(text.notna(), None)
        elif typ == "float64":
            out[col] = pd.to_numeric(src, errors="coerce").astype("float64")
        elif typ == "boolean":
            out[col] = src.map(
                lambda v: None if v is None or v != v else str(v).strip().lower() in ("true", "1")
            ).astype(object)
        elif typ == "int64":
            out[col] = pd.to_numeric(src, errors="coerce").fillna(1).astype("int64")
        elif typ == "timestamp":
            out[col] = pd.to_datetime(src, errors="raise").astype("datetime64[us]")
        elif typ == "date":
            out[col] = pd.to_datetime(src, errors="raise").dt.normalize().astype("datetime64[us]")
    if "patient_id" in out and out["patient_id"].isna().any():
        raise AnalysisError(f"{name}: rows without patient_id")
    return out.reset_index(drop=True)


def _ibis_schema(name: str) -> ibis.Schema:
    types = {k: ("timestamp" if v == "date" else v) for k, v in TABLE_SCHEMAS[name].items()}
    return ibis.schema(types)


def _from_frames(frames: Mapping[str, pd.DataFrame], con: BaseBackend, origin: str) -> CohortTables:
    tables: dict[str, ibis.Table] = {}
    for name in TABLE_SCHEMAS:
        frame = frames.get(name)
        if frame is None:
            frame = pd.DataFrame(columns=list(TABLE_SCHEMAS[name]))
        conformed = _conform(frame, name)
        tbl_name = f"rx_{name}"
        mem = ibis.memtable(conformed, schema=_ibis_schema(name))
        tables[name] = con.create_table(tbl_name, mem, overwrite=True)
    return CohortTables(con=con, origin=origin, **tables)


def _parquet_has_timestamps(folder: Path) -> bool:
    import pyarrow.parquet as pq

    for name, renames in _TIME_RENAMES.items():
        path = folder / f"{name}.parquet"
        if not path.exists():
            continue
        schema = pq.read_schema(path)
        for col in renames:
            if col in schema.names:
                typ = schema.field(col).type
                import pyarrow as pa

                if not (
                    pa.types.is_timestamp(typ) or pa.types.is_date(typ) or pa.types.is_null(typ)
                ):
                    return False
    return True


def _read_parquet_direct(folder: Path, con: BaseBackend) -> CohortTables:
    tables: dict[str, ibis.Table] = {}
    for name, schema in TABLE_SCHEMAS.items():
        path = folder / f"{name}.parquet"
        target = _ibis_schema(name)
        if not path.exists():
            if name == "patients":
                raise AnalysisError(f"{folder}: patients.parquet is required")
            empty = pd.DataFrame({c: pd.Series([], dtype=object) for c in schema})
            tables[name] = con.create_table(
                f"rx_{name}", _conform(empty, name), schema=target, overwrite=True
            )
            continue
        raw = con.read_parquet(str(path), table_name=f"rx_raw_{name}")
        renames = {v: k for k, v in _TIME_RENAMES.get(name, {}).items() if k in raw.columns}
        if renames:
            raw = raw.rename(renames)
        cols: dict[str, Any] = {}
        for col in schema:
            typ = target[col]
            if col in raw.columns:
                expr = raw[col]
                if col == "occurrence":
                    expr = expr.cast("int64").fill_null(1)
                elif expr.type() != typ:
                    expr = expr.cast(typ)
                cols[col] = expr
            elif col == "occurrence":
                cols[col] = ibis.literal(1, type=dt.int64)
            else:
                cols[col] = ibis.null(typ)
        tables[name] = raw.select(**cols)
    return CohortTables(con=con, origin=str(folder), **tables)


def _read_store(url: str, con: BaseBackend) -> CohortTables:
    """Read the store through Ibis' SQLite/PostgreSQL backend and hand the tables to the engine."""
    try:
        if url.startswith("sqlite:///"):
            path = url.removeprefix("sqlite:///")
            if path not in ("", ":memory:") and not Path(path).is_file():
                # Reading never creates: sqlite would leave an empty file behind.
                raise AnalysisError(f"{url}: no store there (the file does not exist)")
            src = ibis.sqlite.connect(path)
        elif url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            src = ibis.connect(url.replace("postgresql+psycopg://", "postgres://"))
        else:
            raise AnalysisError(
                f"unsupported store URL {url!r}: sqlite:///PATH or postgresql://..."
            )
    except AnalysisError:
        raise
    except Exception as exc:
        raise AnalysisError(f"cannot open the store {url}: {exc}") from exc
    frames: dict[str, pd.DataFrame] = {}
    present = set(src.list_tables())
    for name, schema in TABLE_SCHEMAS.items():
        if name not in present:
            if name == "patients":
                raise AnalysisError(f"{url}: no patients table (is this a ruxtrack store?)")
            continue
        tbl = src.table(name)
        frames[name] = tbl.select([c for c in schema if c in tbl.columns]).to_pandas()
    return _from_frames(frames, con, origin=url)


def _read_canonical(folder: Path, con: BaseBackend) -> CohortTables:
    """Read a canonical CSV/Parquet folder through the shared reader (units, relative times)."""
    try:
        from ruxtrack import sources
    except ImportError as exc:  # pragma: no cover - the reader ships with ruxtrack
        raise AnalysisError(
            "reading a canonical CSV folder needs ruxtrack.sources, which is not installed"
        ) from exc
    timelines = sources.read_folder(folder)
    frames = sources.resolved_frames(timelines)
    return _from_frames(frames, con, origin=str(folder))


def open_tables(
    data: str | Path | Mapping[str, pd.DataFrame],
    *,
    engine: Engine = "duckdb",
    con: BaseBackend | None = None,
) -> CohortTables:
    """Open cohort data as Ibis tables on ``engine``.

    Parameters
    ----------
    data
        A store URL, a folder (CSV or Parquet, canonical layout) or a mapping of table name to a
        frame already in the store's resolved shape.
    engine
        ``duckdb`` (default, in-process) or ``pyspark`` (local mode).
    con
        An engine connection to reuse (one Spark session per process).

    Raises
    ------
    AnalysisError
        When the source cannot be read.
    """
    backend = con if con is not None else connect_engine(engine)
    if isinstance(data, Mapping):
        return _from_frames(data, backend, origin="frames")
    text = str(data)
    if "://" in text:
        return _read_store(text, backend)
    folder = Path(text)
    if not folder.is_dir():
        raise AnalysisError(f"{folder}: not a folder, store URL or spreadsheet")
    if (folder / "patients.parquet").exists() and _parquet_has_timestamps(folder):
        if engine == "duckdb" and con is None:
            return _read_parquet_direct(folder, backend)
        if hasattr(backend, "read_parquet"):
            return _read_parquet_direct(folder, backend)
    if (folder / "patients.csv").exists() or (folder / "patients.parquet").exists():
        return _read_canonical(folder, backend)
    raise AnalysisError(f"{folder}: no patients.csv or patients.parquet")


@contextmanager
def spark_session_engine() -> Iterator[BaseBackend]:
    """A PySpark engine for the duration of a block (stopped afterwards)."""
    backend = connect_engine("pyspark")
    try:
        yield backend
    finally:
        session = getattr(backend, "_session", None)
        if session is not None:
            session.stop()
