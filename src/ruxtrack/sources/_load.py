"""Reading the files of a canonical folder into text cells, with spreadsheet row numbers.

Every cell becomes a stripped string (empty: missing) so that CSV and Parquet are validated by
one code path. Row numbers follow the spreadsheet convention: the header is row 1, the first
record row 2; a Parquet file's records are numbered the same way (record index + 2).
"""

from __future__ import annotations

import csv
import difflib
import io
import math
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ruxtrack.sources._problems import Problems
from ruxtrack.sources._result import check_input_file
from ruxtrack.sources._rows import format_number
from ruxtrack.sources._spec import EXTENSIONS, FILES, FileSpec

__all__ = ["RawTable", "discover", "load_table"]

FIRST_DATA_ROW = 2  # the header is row 1


@dataclass(frozen=True)
class RawTable:
    """One file's cells as text (every spec column present) and each record's row number."""

    file: str
    spec: FileSpec
    cells: pd.DataFrame
    rows: pd.Series

    def __len__(self) -> int:
        return len(self.cells)


def discover(folder: Path, problems: Problems) -> dict[str, Path]:
    """The canonical files in ``folder`` by kind; unknown or doubled files are problems."""
    if not folder.exists():
        problems.add(str(folder), None, None, None, "no such folder")
        return {}
    if not folder.is_dir():
        problems.add(
            folder.name, None, None, None,
            "not a folder: give the folder holding patients.csv (or patients.parquet)",
        )  # fmt: skip
        return {}
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        ext = path.suffix.lower().lstrip(".")
        if ext not in EXTENSIONS or path.name.startswith("."):
            continue
        kind = path.stem
        if not path.is_file() or path.is_symlink():
            refused = check_input_file(path)
            if refused is not None:  # a canonical name that is a folder, a dangling link, ...
                problems.add(path.name, None, None, None, refused.reason)
                continue
        if kind not in FILES:
            hint = difflib.get_close_matches(kind, FILES, n=1)
            problems.add(
                path.name, None, None, None,
                "unknown file: expected " + ", ".join(f"{k}.{ext}" for k in FILES)
                + (f' (did you mean "{hint[0]}.{ext}"?)' if hint else ""),
            )  # fmt: skip
            continue
        if kind in found:
            problems.add(
                path.name, None, None, None,
                f"{found[kind].name} is there too: keep one format per file kind",
            )  # fmt: skip
            continue
        found[kind] = path
    if "patients" not in found:
        problems.add(
            "patients.csv", None, None, None,
            f"required file is missing from {folder} (patients.csv or patients.parquet)",
        )  # fmt: skip
    return found


def load_table(path: Path, spec: FileSpec, problems: Problems) -> RawTable | None:
    """Read one file; None (with problems recorded) when it cannot be read at all."""
    if path.suffix.lower() == ".csv":
        loaded = _read_csv(path, problems)
    else:
        loaded = _read_parquet(path, problems)
    if loaded is None:
        return None
    header, records, rows = loaded
    if not _check_header(path.name, spec, header, problems):
        return None
    data: dict[str, Any] = {}
    for col in spec.column_names:
        if col in header:
            j = header.index(col)
            data[col] = [r[j] for r in records]
        else:
            data[col] = [""] * len(records)
    cells = pd.DataFrame(data, columns=list(spec.column_names), dtype=object)
    return RawTable(path.name, spec, cells, pd.Series(rows, dtype="int64"))


def _check_header(file: str, spec: FileSpec, header: list[str], problems: Problems) -> bool:
    ok = True
    seen: set[str] = set()
    for i, name in enumerate(header):
        if name in seen:
            problems.add(file, 1, name, None, "column appears twice in the header")
            ok = False
        seen.add(name)
        if name not in spec.column_names:
            hint = difflib.get_close_matches(name, spec.column_names, n=1)
            shown = name or f"(column {i + 1} has no name)"
            problems.add(
                file, 1, shown, None,
                "unknown column" + (f' (did you mean "{hint[0]}"?)' if hint else "")
                + "; expected columns: " + ", ".join(spec.column_names),
            )  # fmt: skip
            ok = False
    for name in spec.required:
        if name not in header:
            problems.add(file, 1, name, None, "required column is missing")
            ok = False
    return ok


def _read_csv(
    path: Path, problems: Problems
) -> tuple[list[str], list[list[str]], list[int]] | None:
    raw = path.read_bytes()
    if not raw.strip():
        problems.add(path.name, None, None, None, "file is empty: it needs at least a header line")
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        bad = raw[exc.start : exc.end]
        problems.add(
            path.name, line, None, bad.hex(" "),
            f"not UTF-8 text (byte 0x{bad[0]:02X} at line {line}); save the file as UTF-8 "
            "(in a spreadsheet: CSV UTF-8)",
        )  # fmt: skip
        return None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
        width = len(header)
        records: list[list[str]] = []
        rows: list[int] = []
        row = 1
        for rec in reader:
            row += 1
            if not rec or all(not c.strip() for c in rec):
                continue  # blank lines (and all-empty rows) hold nothing
            if len(rec) != width:
                problems.add(
                    path.name, row, None, None,
                    f"row has {len(rec)} cells but the header has {width} "
                    "(a stray comma or an unquoted comma inside a value?)",
                )  # fmt: skip
                continue
            records.append([c.strip() for c in rec])
            rows.append(row)
    except csv.Error as exc:
        problems.add(path.name, reader.line_num, None, None, f"not valid CSV: {exc}")
        return None
    return header, records, rows


def _read_parquet(
    path: Path, problems: Problems
) -> tuple[list[str], list[list[str]], list[int]] | None:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        problems.add(path.name, None, None, None, f"not a readable Parquet file: {exc}")
        return None
    header = [str(n).strip() for n in table.column_names]
    columns: list[list[str]] = []
    for name, column in zip(header, table.columns, strict=True):
        try:
            columns.append(_parquet_cells(column))
        except TypeError as exc:
            problems.add(path.name, None, name, None, str(exc))
            return None
    n = table.num_rows
    records = [[col[i] for col in columns] for i in range(n)]
    keep = [i for i, r in enumerate(records) if any(r)]
    return header, [records[i] for i in keep], [i + FIRST_DATA_ROW for i in keep]


def _parquet_cells(column: pa.ChunkedArray) -> list[str]:
    t = column.type
    values = column.to_pylist()
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t):
        return ["" if v is None else str(v).strip() for v in values]
    if pa.types.is_boolean(t):
        return ["" if v is None else ("true" if v else "false") for v in values]
    if pa.types.is_integer(t):
        return ["" if v is None else str(v) for v in values]
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return [
            "" if v is None or (isinstance(v, float) and math.isnan(v)) else format_number(v)
            for v in values
        ]
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return ["" if v is None else _iso(v) for v in values]
    if pa.types.is_null(t):
        return [""] * len(values)
    raise TypeError(
        f"column type {t} is not read; use text, numbers, booleans, dates or timestamps"
    )


def _iso(v: Any) -> str:
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, pd.Timestamp):  # pragma: no cover - to_pylist gives datetime
        return str(v.isoformat())
    if isinstance(v, np.datetime64):  # pragma: no cover
        return str(v)
    return str(v)
