"""No input ends in a traceback: every parser either reads or raises a RuxtrackError.

One hypothesis test per parser (canonical CSV, Parquet, wide CSV/XLSX, JSON, YAML, .nbib, RIS),
each with at least 1,000 examples (``RUXTRACK_FUZZ_EXAMPLES`` raises or lowers it). Inputs are
small: built from the formats' own column names and edge-case tokens, and raw bytes.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ruxtrack.errors import RuxtrackError
from ruxtrack.sources import FILES, read_canonical

EXAMPLES = int(os.environ.get("RUXTRACK_FUZZ_EXAMPLES", "1000"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

TOKENS = [
    "", " ", "P1", "P2", "female", "male", "x", "0", "1", "-1", "1e308", "-1e308", "1e-320",
    "nan", "inf", "-inf", "NaN", "1,5", "2021-03-01", "2021-02-30", "9999-12-31", "0001-01-01",
    "1899-12-31", "2201-01-01", "admission", "admission+3d", "admission-99999999d",
    "rux_start#2", "origin", "day 3 after admission", "origin+1d", "plt", "ferritin", "crp",
    "10*9/L", "ug/L", "[arb'U]/mL", "[/x]", "[bold]", "mg", "BID", "QD", "ruxolitinib",
    "600000", "25", "30", "<0.5", ">=", "true", "false", "yes", "hsct", "\u00e9", "\x00",
    '"', "\n", "\r\n", ",", ";", "x" * 300,
]  # fmt: skip
CELL = st.one_of(st.sampled_from(TOKENS), st.text(max_size=12))


def _never_crashes(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except RuxtrackError:
        pass


def _csv(rows: list[list[str]]) -> str:
    import csv

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


@st.composite
def _table(draw: st.DrawFn, kind: str) -> list[list[str]]:
    names = list(FILES[kind].column_names)
    header = draw(
        st.lists(st.one_of(st.sampled_from(names), st.sampled_from(["", "bogus", "patient id"])),
                 min_size=1, max_size=len(names) + 1)
    )  # fmt: skip
    if draw(st.booleans()):
        header = names
    rows = draw(st.lists(st.lists(CELL, min_size=0, max_size=len(header) + 1), max_size=4))
    return [header, *rows]


@FUZZ
@given(
    patients=_table("patients"),
    events=st.one_of(st.none(), _table("events")),
    other=st.sampled_from(["observations", "drugs", "support", "assessments"]),
    data=st.data(),
    raw=st.one_of(st.none(), st.binary(max_size=64)),
)
def test_canonical_csv_never_crashes(
    patients: list[list[str]], events: list[list[str]] | None, other: str, data: st.DataObject,
    raw: bytes | None,
) -> None:  # fmt: skip
    rows = data.draw(_table(other))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "patients.csv").write_text(_csv(patients), encoding="utf-8")
        if events is not None:
            (folder / "events.csv").write_text(_csv(events), encoding="utf-8")
        target = folder / f"{other}.csv"
        if raw is not None:
            target.write_bytes(raw)
        else:
            target.write_text(_csv(rows), encoding="utf-8")
        result = read_canonical(folder)
        assert result.ok or result.problems
        if result.ok:
            from ruxtrack.sources import check_timelines

            assert check_timelines(result.timelines)[1] == []


_ARROW_VALUES = st.one_of(
    st.none(),
    st.sampled_from(TOKENS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**62), max_value=2**62),
    st.booleans(),
)


@st.composite
def _arrow_column(draw: st.DrawFn, n: int) -> pa.Array:
    kind = draw(st.sampled_from(["text", "float", "int", "bool", "date", "ts", "list", "null"]))
    if kind == "text":
        return pa.array(draw(st.lists(st.one_of(st.none(), CELL), min_size=n, max_size=n)))
    if kind == "float":
        return pa.array(draw(st.lists(st.floats(), min_size=n, max_size=n)), pa.float64())
    if kind == "int":
        ints = st.integers(min_value=-(2**62), max_value=2**62)
        return pa.array(draw(st.lists(ints, min_size=n, max_size=n)), pa.int64())
    if kind == "bool":
        return pa.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    if kind == "date":
        days = st.integers(min_value=-(2**31) + 1, max_value=2**31 - 1)
        return pa.array(draw(st.lists(days, min_size=n, max_size=n)), pa.date32())
    if kind == "ts":
        us = st.integers(min_value=-(2**62), max_value=2**62)
        return pa.array(draw(st.lists(us, min_size=n, max_size=n)), pa.timestamp("us"))
    if kind == "list":
        return pa.array([[1]] * n)
    return pa.nulls(n)


@FUZZ
@given(data=st.data(), n=st.integers(min_value=0, max_value=3), truncate=st.booleans())
def test_parquet_never_crashes(data: st.DataObject, n: int, truncate: bool) -> None:
    kind = data.draw(st.sampled_from(["patients", "events", "drugs", "observations"]))
    names = data.draw(
        st.lists(st.sampled_from([*FILES[kind].column_names, "bogus"]), min_size=1, max_size=6,
                 unique=True)
    )  # fmt: skip
    table = pa.table({name: data.draw(_arrow_column(n)) for name in names})
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if kind != "patients":
            (folder / "patients.csv").write_text("patient_id,sex\nP1,female\n", encoding="utf-8")
        target = folder / f"{kind}.parquet"
        pq.write_table(table, target)
        if truncate:
            target.write_bytes(target.read_bytes()[: max(1, target.stat().st_size // 2)])
        read_canonical(folder)


WIDE_COLUMNS = [
    "patient_id", "age", "sex", "ferritin_start", "ferritin_d8", "plt_admission", "died",
    "days_admission_to_start", "group", "has_index", "fio2__w8", "worst_plt_grade",
]  # fmt: skip


@FUZZ
@given(
    header=st.lists(st.sampled_from([*WIDE_COLUMNS, "", "x"]), min_size=1, max_size=6),
    rows=st.lists(st.lists(CELL, max_size=7), max_size=4),
    xlsx=st.booleans(),
    raw=st.one_of(st.none(), st.binary(max_size=64)),
)
def test_wide_sheet_never_crashes(
    header: list[str], rows: list[list[str]], xlsx: bool, raw: bytes | None
) -> None:
    from ruxtrack.cohort import load_study
    from ruxtrack.cohort._wide import wide_frame

    study = _study()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("sheet.xlsx" if xlsx else "sheet.csv")
        if raw is not None:
            path.write_bytes(raw)
        elif xlsx:
            from openpyxl import Workbook

            wb = Workbook()
            ws = wb.active
            assert ws is not None
            for r in [header, *rows]:
                ws.append([_excel_safe(c) for c in r])
            wb.save(path)
        else:
            path.write_text(_csv([header, *rows]), encoding="utf-8")
        _never_crashes(lambda: wide_frame(path, study))
    assert load_study is not None


def _excel_safe(cell: str) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", cell)


_STUDY: list[Any] = []


def _study() -> Any:
    if not _STUDY:
        from ruxtrack.cohort import load_study

        _STUDY.append(load_study("sarmiento-2021"))
    return _STUDY[0]


JSON_TOKENS = ['{', '}', '[', ']', ':', ',', '"a"', '"ferritin"', '"plt"', '1', '-1', '1e999',
               'NaN', 'Infinity', 'null', 'true', '"17509 ng/mL"', '"[/x]"', '{"value": 1}',
               '"unit"', ' ', '\\u0000', '"\u00e9"']  # fmt: skip


@FUZZ
@given(
    parts=st.lists(st.sampled_from(JSON_TOKENS), max_size=24),
    depth=st.integers(min_value=0, max_value=3000),
    criterion=st.sampled_from(["hscore", "hlh2004", "ctcae", "ips", "magic_agvhd"]),
    encoding=st.sampled_from(["utf-8", "utf-16", "latin-1"]),
)
def test_json_input_never_crashes(
    parts: list[str], depth: int, criterion: str, encoding: str
) -> None:
    from typer.testing import CliRunner

    from ruxtrack.cli import app

    text = "".join(parts) if depth < 10 else "[" * depth + "]" * depth
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.json"
        path.write_bytes(text.encode(encoding, errors="replace"))
        result = CliRunner().invoke(app, ["criteria", criterion, "--input", str(path)])
    assert result.exit_code in (0, 1, 2), result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


YAML_TOKENS = ["a:", " b", "- ", "&x ", "*x", "[", "]", "{", "}", "\n", "  ", "window_days:",
               "[-.inf, .nan]", "pattern: '{foo}'", "!!python/object:os.system", "'", '"',
               "\t", "study: x", "? ", "%YAML 1.1\n", "---\n", "...", "|\n", "1e999",
               "\u00e9", "<<: *x"]  # fmt: skip


@FUZZ
@given(
    parts=st.lists(st.sampled_from(YAML_TOKENS), max_size=30),
    depth=st.integers(min_value=0, max_value=6000),
    encoding=st.sampled_from(["utf-8", "utf-16", "latin-1"]),
)
def test_yaml_never_crashes(parts: list[str], depth: int, encoding: str) -> None:
    from ruxtrack.cohort import load_study
    from ruxtrack.evidence import load_flow

    text = "".join(parts) if depth < 10 else "a: " + "[" * depth + "]" * depth
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "study.yaml"
        path.write_bytes(text.encode(encoding, errors="replace"))
        _never_crashes(lambda: load_study(path))
        _never_crashes(lambda: load_flow(path))


NBIB_TOKENS = ["PMID- 123", "PMID- x", "TI  - Title", "AU  - Doe J", "DP  - 2021", "      more",
               "AB  - text", "LID - 10.1/x [doi]", "", "garbage", "XX  -", "TI  -", "\u00e9",
               "PMID- 123", "SO  - J"]  # fmt: skip
RIS_TOKENS = ["TY  - JOUR", "TI  - Title", "AU  - Doe, J", "PY  - 2021", "DO  - 10.1/x",
              "ER  - ", "AN  - 123", "", "garbage", "TY  -", "ER  -", "T1  - x", "\u00e9",
              "UR  - http://x", "KW  - [/x]"]  # fmt: skip


@FUZZ
@given(
    lines=st.lists(st.one_of(st.sampled_from(NBIB_TOKENS), st.text(max_size=10)), max_size=12),
    raw=st.one_of(st.none(), st.binary(max_size=32)),
)
def test_nbib_never_crashes(lines: list[str], raw: bytes | None) -> None:
    from ruxtrack.evidence import read_nbib

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.nbib"
        if raw is not None:
            path.write_bytes(raw)
        else:
            path.write_text("\n".join(lines), encoding="utf-8", errors="replace")
        _never_crashes(lambda: read_nbib(path))


@FUZZ
@given(
    lines=st.lists(st.one_of(st.sampled_from(RIS_TOKENS), st.text(max_size=10)), max_size=12),
    raw=st.one_of(st.none(), st.binary(max_size=32)),
)
def test_ris_never_crashes(lines: list[str], raw: bytes | None) -> None:
    from ruxtrack.evidence import read_ris

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.ris"
        if raw is not None:
            path.write_bytes(raw)
        else:
            path.write_text("\n".join(lines), encoding="utf-8", errors="replace")
        _never_crashes(lambda: read_ris(path))
