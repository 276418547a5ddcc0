"""Wide spreadsheets (CSV or XLSX, one row per patient) read through the source interface.

The study says which columns it reads (:class:`WideColumn`: kind, plausible range, allowed
levels); this reader checks every cell against that and reports every problem located by
file, spreadsheet row (header = row 1) and column, like a canonical import: the file is a
regular UTF-8 CSV or a readable workbook, no row is cut short, no column name repeats, a
column close to an expected name is named as a likely misspelling, numbers are finite and
inside their range (ages 0-130, lab values inside the lab catalogue's plausible range, counts
not negative), yes/no cells are yes/no, group cells use a declared level, each patient once.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from ruxtrack.errors import ImportProblem, ImportValidationError
from ruxtrack.sources._limits import load_limits
from ruxtrack.sources._result import check_input_file
from ruxtrack.sources._rows import format_number

__all__ = ["SPREADSHEET_SUFFIXES", "WideColumn", "WideSheet", "read_wide_sheet"]

SPREADSHEET_SUFFIXES = (".csv", ".xlsx", ".xlsm")
_TRUE = {"true", "yes", "1", "y", "si", "sí"}
_FALSE = {"false", "no", "0", "n"}


@dataclass(frozen=True)
class WideColumn:
    """One feature read from a column: its kind, plausible range and allowed levels."""

    feature: str
    column: str
    kind: Literal["number", "bool", "text"]
    low: float | None = None
    high: float | None = None
    levels: tuple[str, ...] = ()
    what: str = ""


@dataclass(frozen=True)
class WideSheet:
    """The checked cells: ``values[feature]`` per data row (None: blank), and row numbers."""

    source: str
    rows: list[int]
    values: dict[str, list[Any]]
    patient_ids: list[str]


def read_wide_sheet(
    path: str | Path,
    columns: Sequence[WideColumn],
    *,
    id_column: str = "patient_id",
    sheet: str | int = 0,
) -> WideSheet:
    """Read and check a wide sheet; :class:`ImportValidationError` lists every problem.

    Examples
    --------
    >>> read_wide_sheet("missing.csv", [])
    Traceback (most recent call last):
    ...
    ruxtrack.errors.ImportValidationError: 1 problem found; nothing was written:
      missing.csv: no such file or folder
    """
    p = Path(path)
    name = str(p)
    refused = check_input_file(p)
    if refused is not None:
        raise ImportValidationError([refused])
    problems: list[ImportProblem] = []
    if p.suffix.lower() == ".csv":
        header, records = _read_csv(p, problems)
    elif p.suffix.lower() in (".xlsx", ".xlsm"):
        header, records = _read_xlsx(p, sheet, problems)
    else:
        raise ImportValidationError(
            [ImportProblem(name, None, None, None, "not a spreadsheet: use .csv or .xlsx")]
        )
    if problems:
        raise ImportValidationError(problems)
    index = _check_header(name, header, columns, id_column, problems)
    if id_column not in index:
        problems.append(
            ImportProblem(name, 1, id_column, None, "no patient id column: it is required")
        )
        raise ImportValidationError(problems)
    rows = [r for r, _ in records]
    values: dict[str, list[Any]] = {}
    ids = [cells[index[id_column]] for _, cells in records]
    _check_ids(name, rows, ids, id_column, problems)
    for col in columns:
        j = index.get(col.column)
        if j is None:
            values[col.feature] = [None] * len(records)
            continue
        values[col.feature] = [_cell(name, row, col, cells[j], problems) for row, cells in records]
    if problems:
        raise ImportValidationError(problems)
    return WideSheet(name, rows, values, ids)


def _read_csv(
    path: Path, problems: list[ImportProblem]
) -> tuple[list[str], list[tuple[int, list[str]]]]:
    name = str(path)
    raw = path.read_bytes()
    if not raw.strip():
        problems.append(ImportProblem(name, None, None, None, "file is empty"))
        return [], []
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        problems.append(
            ImportProblem(
                name,
                line,
                None,
                None,
                f"not UTF-8 text (byte 0x{raw[exc.start]:02X}); save the sheet as CSV UTF-8",
            )
        )
        return [], []
    if "\x00" in text:
        problems.append(ImportProblem(name, None, None, None, "binary data, not CSV text"))
        return [], []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    try:
        header = [h.strip() for h in next(reader)]
        for rec in reader:
            row = reader.line_num
            if not rec or all(not c.strip() for c in rec):
                continue
            if len(rec) != len(header):
                problems.append(
                    ImportProblem(
                        name,
                        row,
                        None,
                        None,
                        f"row has {len(rec)} cells but the header has {len(header)} (cut short, "
                        "or a stray comma?)",
                    )
                )
                continue
            records.append((row, [c.strip() for c in rec]))
    except csv.Error as exc:
        problems.append(ImportProblem(name, reader.line_num, None, None, f"not valid CSV: {exc}"))
    return header, records


def _read_xlsx(
    path: Path, sheet: str | int, problems: list[ImportProblem]
) -> tuple[list[str], list[tuple[int, list[str]]]]:
    import zipfile

    from openpyxl import load_workbook

    name = str(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, EOFError) as exc:
        problems.append(
            ImportProblem(
                name,
                None,
                None,
                None,
                f"not a readable Excel workbook ({type(exc).__name__}); save it again as .xlsx "
                "or export CSV UTF-8",
            )
        )
        return [], []
    except Exception as exc:  # openpyxl raises its own InvalidFileException and others
        problems.append(
            ImportProblem(
                name,
                None,
                None,
                None,
                f"not a readable Excel workbook ({type(exc).__name__})",
            )
        )
        return [], []
    try:
        names = wb.sheetnames
        if isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                problems.append(ImportProblem(name, None, None, str(sheet), "no such sheet"))
                return [], []
            ws = wb[names[sheet]]
        elif sheet not in names:
            problems.append(
                ImportProblem(
                    name,
                    None,
                    None,
                    sheet,
                    "no such sheet; sheets: " + ", ".join(names),
                )
            )
            return [], []
        else:
            ws = wb[sheet]
        header: list[str] = []
        records: list[tuple[int, list[str]]] = []
        for i, values in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = [_text(v) for v in values]
            if i == 1:
                header = [c.strip() for c in cells]
                while header and not header[-1]:
                    header.pop()
                continue
            if all(not c for c in cells):
                continue
            cells = (cells + [""] * len(header))[: len(header)]
            records.append((i, cells))
        return header, records
    except Exception as exc:  # a damaged part inside the zip shows only while reading
        problems.append(
            ImportProblem(
                name,
                None,
                None,
                None,
                f"the workbook is damaged ({type(exc).__name__})",
            )
        )
        return [], []
    finally:
        wb.close()


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return format_number(v) if math.isfinite(float(v)) else str(v)
    if isinstance(v, datetime | date):
        return v.isoformat()
    return str(v).strip()


def _check_header(
    name: str,
    header: list[str],
    columns: Sequence[WideColumn],
    id_column: str,
    problems: list[ImportProblem],
) -> dict[str, int]:
    index: dict[str, int] = {}
    for j, h in enumerate(header):
        if not h:
            continue
        if h in index:
            problems.append(
                ImportProblem(
                    name,
                    1,
                    h,
                    None,
                    f"column name appears twice (columns {index[h] + 1} and {j + 1})",
                )
            )
            continue
        index[h] = j
    expected = {c.column for c in columns} | {id_column}
    unused = [h for h in index if h not in expected]
    for want in sorted(expected - set(index)):
        hint = difflib.get_close_matches(want, unused, n=1, cutoff=0.85)
        if hint:
            problems.append(
                ImportProblem(
                    name,
                    1,
                    hint[0],
                    None,
                    f'unknown column; did you mean "{want}"? (the study reads "{want}")',
                )
            )
    return index


def _check_ids(
    name: str, rows: list[int], ids: list[str], id_column: str, problems: list[ImportProblem]
) -> None:
    first: dict[str, int] = {}
    for row, pid in zip(rows, ids, strict=True):
        if not pid:
            problems.append(ImportProblem(name, row, id_column, None, "no patient id"))
        elif pid in first:
            problems.append(
                ImportProblem(
                    name,
                    row,
                    id_column,
                    pid,
                    f"patient {pid} appears twice (first in row {first[pid]})",
                )
            )
        else:
            first[pid] = row


def _cell(name: str, row: int, col: WideColumn, text: str, problems: list[ImportProblem]) -> Any:
    if not text:
        return None
    limit = load_limits().files.max_cell_chars
    if len(text) > limit:
        problems.append(
            ImportProblem(name, row, col.column, text, f"cell longer than {limit} characters")
        )
        return None
    if col.kind == "number":
        try:
            value = float(text)
        except ValueError:
            comma = " (use a decimal point, not a comma)" if "," in text else ""
            problems.append(ImportProblem(name, row, col.column, text, f"not a number{comma}"))
            return None
        if not math.isfinite(value):
            problems.append(ImportProblem(name, row, col.column, text, "not a finite number"))
            return None
        if (col.low is not None and value < col.low) or (col.high is not None and value > col.high):
            what = f" for {col.what}" if col.what else ""
            problems.append(
                ImportProblem(
                    name,
                    row,
                    col.column,
                    text,
                    f"outside the plausible range{what}: {_range(col.low, col.high)}",
                )
            )
            return None
        return value
    if col.kind == "bool":
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        problems.append(ImportProblem(name, row, col.column, text, "not a yes/no value"))
        return None
    if col.levels and text not in col.levels:
        hint = difflib.get_close_matches(text, col.levels, n=1)
        extra = f' (did you mean "{hint[0]}"?)' if hint else ""
        problems.append(
            ImportProblem(
                name,
                row,
                col.column,
                text,
                "not a declared level; expected one of " + ", ".join(col.levels) + extra,
            )
        )
        return None
    return text


def _range(low: float | None, high: float | None) -> str:
    lo = "-inf" if low is None else format_number(low)
    hi = "inf" if high is None else format_number(high)
    return f"{lo} to {hi}"
