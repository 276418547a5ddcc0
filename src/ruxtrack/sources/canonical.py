"""The canonical folder format (docs/data-format.md): read with full validation, write back.

``read_folder`` validates everything before returning and raises one
:class:`~ruxtrack.errors.ImportValidationError` listing every problem (file, row, column,
value, reason). Rows are numbered as a spreadsheet shows them: the header is row 1, the first
record row 2 (Parquet records are numbered the same way).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq

from ruxtrack.errors import RuxtrackError
from ruxtrack.sources._load import RawTable, discover, load_table
from ruxtrack.sources._problems import Problems
from ruxtrack.sources._result import RecordRef, SourceResult, Where, source_result
from ruxtrack.sources._rows import RESOLVED_COLUMNS, Row, resolved_rows, to_file_rows
from ruxtrack.sources._spec import FILES, ColumnSpec
from ruxtrack.sources._validate import RowMap, build_timelines
from ruxtrack.timeline import Timeline

__all__ = ["ExportError", "Format", "read_canonical", "read_folder", "write_folder"]

Format = Literal["csv", "parquet"]


class ExportError(RuxtrackError):
    """An export cannot be written (bad format, target not writable)."""


def read_canonical(path: str | Path) -> SourceResult:
    """Read a canonical folder (CSV or Parquet files) through the source interface.

    Every problem is located by file, spreadsheet row (header = row 1) and column, including
    those of the shared checks (:func:`ruxtrack.sources.check_timelines`).

    Examples
    --------
    >>> from ruxtrack.sources import read_canonical
    >>> read_canonical("no/such/folder").problems[0].reason
    'no such folder'
    """
    folder = Path(path)
    problems = Problems()
    tables: dict[str, RawTable] = {}
    for kind, file in discover(folder, problems).items():
        table = load_table(file, FILES[kind], problems)
        if table is not None:
            tables[kind] = table
    rows: RowMap = {}
    timelines = build_timelines(tables, problems, rows) if "patients" in tables else []
    found = problems.sorted()
    return source_result(str(folder), timelines, found, locate=_row_locator(rows, folder))


def _row_locator(rows: RowMap, folder: Path) -> Callable[[RecordRef], Where]:
    def locate(ref: RecordRef) -> Where:
        hit = rows.get((ref.patient_id, ref.kind, -1 if ref.index is None else ref.index))
        if hit is None:  # pragma: no cover - every built record has a row
            return Where(str(folder), None, (("patient", ref.patient_id),), ref.field)
        return Where(hit[0], hit[1], (), ref.field)

    return locate


def read_folder(path: str | Path) -> list[Timeline]:
    """Read and validate a canonical folder (CSV or Parquet files) into timelines.

    Parameters
    ----------
    path
        The folder holding ``patients.csv`` (or ``.parquet``) and the optional ``events``,
        ``observations``, ``drugs``, ``support`` and ``assessments`` files.

    Returns
    -------
    list[Timeline]
        One timeline per patient, in the order of the patients file. Observations are in the
        lab catalogue's canonical unit, with the value and unit as given kept in
        ``source_value`` / ``source_unit``.

    Raises
    ------
    ImportValidationError
        Listing every problem found (file, row, column, value, reason); nothing is returned.

    Examples
    --------
    >>> from ruxtrack.sources import read_folder
    >>> timelines = read_folder("docs/examples/minimal")  # doctest: +SKIP
    """
    return read_canonical(path).raise_for_problems()


def write_folder(
    timelines: Iterable[Timeline], path: str | Path, format: Format = "csv"
) -> dict[str, Path]:
    """Write timelines as a canonical folder that :func:`read_folder` reads back unchanged.

    Every file kind is written (header only when there are no records). Times are written as
    recorded (relative times stay relative); observations as received (``source_value`` /
    ``source_unit``), so re-importing reproduces the same canonical values. Parquet files keep
    times as text for the same reason, numbers as float64, ``occurrence`` as int64 and
    ``synthetic`` as boolean.

    Parameters
    ----------
    timelines
        The timelines to write (e.g. ``Store.timelines()``).
    path
        Target folder; created if needed. Existing canonical files in it are overwritten.
    format
        ``"csv"`` (UTF-8, comma-separated, header line) or ``"parquet"``.

    Returns
    -------
    dict[str, Path]
        The file written for each kind.

    Raises
    ------
    ExportError
        For an unknown format or a target that cannot be written.
    """
    if format not in ("csv", "parquet"):
        raise ExportError(f'unknown export format "{format}": use csv or parquet')
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create {folder}: {exc}") from exc
    rows: dict[str, list[Row]] = {name: [] for name in RESOLVED_COLUMNS}
    for tl in timelines:
        for name, table_rows in resolved_rows(tl).items():
            rows[name].extend(table_rows)
    written: dict[str, Path] = {}
    for name, spec in FILES.items():
        target = folder / f"{name}.{format}"
        other = folder / f"{name}.{'parquet' if format == 'csv' else 'csv'}"
        try:
            if other.exists():
                other.unlink()  # one format per kind, as read_folder requires
            cells = list(to_file_rows(name, rows[name]))
            if format == "csv":
                _write_csv(target, spec.column_names, cells)
            else:
                _write_parquet(target, spec.columns, cells)
        except OSError as exc:
            raise ExportError(f"cannot write {target}: {exc}") from exc
        written[name] = target
    return written


def _write_csv(target: Path, columns: tuple[str, ...], cells: list[dict[str, str]]) -> None:
    with target.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows(cells)


_ARROW: dict[str, pa.DataType] = {
    "number": pa.float64(),
    "integer": pa.int64(),
    "bool": pa.bool_(),
}


def _write_parquet(
    target: Path, columns: tuple[ColumnSpec, ...], cells: list[dict[str, str]]
) -> None:
    arrays = {}
    for col in columns:
        texts = [c[col.name] for c in cells]
        kind = _ARROW.get(col.kind)
        if kind == pa.float64():
            arrays[col.name] = pa.array([float(v) if v else None for v in texts], pa.float64())
        elif kind == pa.int64():
            arrays[col.name] = pa.array([int(v) if v else None for v in texts], pa.int64())
        elif kind == pa.bool_():
            arrays[col.name] = pa.array([v == "true" if v else None for v in texts], pa.bool_())
        else:
            arrays[col.name] = pa.array([v or None for v in texts], pa.string())
    pq.write_table(pa.table(arrays), target)
