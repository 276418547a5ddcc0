"""Publication tables: a layout frame per table, rendered by great_tables (HTML, LaTeX) and CSV.

The layout follows the seed paper's tables (Sarmiento 2021 Tables 1–4): a one-column summary,
markers by time point, variables by outcome group with a p-value column, and a transposed
group × pattern table when every row is a distribution. A cell shows "(n = k)" when it rests on
fewer patients than its column holds, so a reader sees that IL-6 was measured in 10 of 18; a
p-value does the same for the complete cases its test used. Each p-value carries a superscript
letter that names its test in the notes below the table (HTML and LaTeX; the LaTeX uses Unicode
and compiles with XeLaTeX or LuaLaTeX); the CSV has the method in a column.
"""

from __future__ import annotations

import html
import string
from pathlib import Path
from typing import Literal

import pandas as pd
from great_tables import GT, loc, style

from ruxtrack.cohort import Cell, TableResult, TestResult

__all__ = ["format_p", "render_table", "table_frame", "test_letters", "write_table"]

_LABEL = "label"
_P = "p value"
_TEST = "test"
_N_NOTE = (
    "n = k under a value or p-value: the patients it rests on, where fewer than the column "
    "holds (missing values are left out, never counted as normal); percentages are of those n."
)


def format_p(p: float | None) -> str:
    """A p-value as papers print it: ``<0.001``, else three decimals (two from 0.1).

    Examples
    --------
    >>> format_p(0.0002), format_p(0.0123), format_p(0.44), format_p(None)
    ('<0.001', '0.012', '0.44', '—')
    """
    if p is None or p != p:
        return "—"
    if p < 0.001:
        return "<0.001"
    if p < 0.1:
        return f"{p:.3f}"
    return f"{p:.2f}"


Format = Literal["csv", "html", "latex"]
_SUPERSCRIPTS = "ᵃᵇᶜᵈᵉᶠᵍʰ"


def _with_n(text: str, n: int, fmt: Format) -> str:
    if fmt == "html":
        return f"{text}<br><span style='color:#555;font-size:85%'>n = {n}</span>"
    return f"{text} (n = {n})"


def _cell_text(cell: Cell | None, column_n: int, fmt: Format) -> str:
    if cell is None:
        return "—"
    text = cell.text
    if fmt == "html":
        text = html.escape(text, quote=False)
        if cell.stat == "distribution":
            text = text.replace("; ", "<br>")
    if 0 < cell.n < column_n and cell.stat not in ("counts", "flags"):
        return _with_n(text, cell.n, fmt)
    return text


def _is_transposed(table: TableResult) -> bool:
    return table.kind == "by_group" and all(r.header is not None for r in table.rows)


def _tests(table: TableResult) -> list[TestResult]:
    return [r.test for r in table.rows if r.test is not None]


def _full_method(test: TestResult) -> str:
    if test.posthoc_method:
        return f"{test.method}; post hoc: {test.posthoc_method}"
    return test.method


def test_letters(table: TableResult) -> dict[str, str]:
    """A letter per distinct test method of the table, in order of first use."""
    methods = [_full_method(t) for t in _tests(table) if t.p_value is not None]
    return {m: string.ascii_lowercase[i] for i, m in enumerate(dict.fromkeys(methods))}


test_letters.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def _mark(letter: str) -> str:
    i = string.ascii_lowercase.index(letter)
    return _SUPERSCRIPTS[i] if i < len(_SUPERSCRIPTS) else f"({letter})"


def _p_text(test: TestResult | None, column_total: int, table: TableResult, fmt: Format) -> str:
    if test is None:
        return ""
    if test.p_value is None:
        return "not tested"
    text = format_p(test.p_value)
    if fmt == "html":
        text = html.escape(text, quote=False)
    if fmt != "csv":
        text += _mark(test_letters(table)[_full_method(test)])
    if test.n < column_total:
        text = _with_n(text, test.n, fmt)
    return text


def table_frame(table: TableResult, *, fmt: Format = "csv") -> pd.DataFrame:
    """The table as a frame in display layout.

    ``fmt="csv"``: plain text with a ``test`` column naming each row's method in full;
    ``"latex"``: the p-value carries the superscript letter of its method (named in the notes);
    ``"html"``: as LaTeX, with HTML-escaped text and the n of a cell on its own line.
    """
    records: list[dict[str, str]] = []
    if _is_transposed(table):
        for gid, glabel in table.columns.items():
            rec = {_LABEL: f"{glabel} (n = {table.column_n[gid]})"}
            for row in table.rows:
                rec[row.label] = _cell_text(row.cells.get(gid), table.column_n[gid], fmt)
            records.append(rec)
        return pd.DataFrame.from_records(records)
    has_tests = any(r.test is not None for r in table.rows)
    total = (
        sum(table.column_n.values()) if table.kind == "by_group" else max(table.column_n.values())
    )
    for row in table.rows:
        line: dict[str, str] = {
            _LABEL: ("\u2003" + row.label) if row.level is not None else row.label
        }
        for cid, clabel in _column_labels(table).items():
            line[clabel] = (
                ""
                if row.is_group_label
                else _cell_text(row.cells.get(cid), table.column_n.get(cid, 0), fmt)
            )
        if has_tests:
            line[_P] = _p_text(row.test, total, table, fmt)
            if fmt == "csv":
                line[_TEST] = "" if row.test is None else _full_method(row.test)
        records.append(line)
    return pd.DataFrame.from_records(records)


def _column_labels(table: TableResult) -> dict[str, str]:
    return {cid: f"{lab} (n = {table.column_n.get(cid, 0)})" for cid, lab in table.columns.items()}


def render_table(table: TableResult, *, latex: bool = False) -> GT:
    """A great_tables object for the table: title, spanners, tests named by letter, notes.

    ``latex=True`` builds the LaTeX variant: plain cell text and no cell styles, which
    great_tables cannot render in LaTeX.
    """
    frame = table_frame(table, fmt="latex" if latex else "html")
    gt = GT(frame, rowname_col=_LABEL)
    if _is_transposed(table):
        spanners: dict[str, list[str]] = {}
        for row in table.rows:
            spanners.setdefault(str(row.header), []).append(row.label)
        for header, cols in spanners.items():
            gt = gt.tab_spanner(label=header, columns=cols)
    gt = gt.tab_header(title=table.title).tab_stubhead(label="")
    if not latex:
        data_cols = [c for c in frame.columns if c != _LABEL]
        gt = gt.fmt_markdown(columns=data_cols)
        gt = gt.tab_style(style=style.text(align="left", v_align="top"), locations=loc.body())
    for method, letter in test_letters(table).items():
        gt = gt.tab_source_note(f"{_mark(letter)} {method}.")
    skipped = sorted({t.note for t in _tests(table) if t.p_value is None and t.note})
    if skipped:
        gt = gt.tab_source_note("Not tested: " + "; ".join(skipped) + ".")
    gt = gt.tab_source_note(_N_NOTE)
    if table.footnote:
        gt = gt.tab_source_note(table.footnote)
    if table.source:
        gt = gt.tab_source_note(f"Layout after {table.source}.")
    return gt


def write_table(table: TableResult, out_dir: Path) -> list[Path]:
    """Write ``<id>.html`` (great_tables raw HTML), ``<id>.tex`` and ``<id>.csv``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    html = out_dir / f"{table.id}.html"
    html.write_text(render_table(table).as_raw_html(), encoding="utf-8")
    tex = out_dir / f"{table.id}.tex"
    tex.write_text(render_table(table, latex=True).as_latex(), encoding="utf-8")
    csv = out_dir / f"{table.id}.csv"
    table_frame(table, fmt="csv").to_csv(csv, index=False, encoding="utf-8")
    return [html, tex, csv]
