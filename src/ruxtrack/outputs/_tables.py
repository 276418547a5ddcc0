"""Publication tables: a layout frame per table, rendered by great_tables (HTML, LaTeX) and CSV.

The layout follows the seed paper's tables (Sarmiento 2021 Tables 1–4): a one-column summary,
markers by time point, variables by outcome group with a p-value column, and a transposed
group × pattern table when every row is a distribution. A cell shows "(n = k)" when it rests on
fewer patients than its column holds, so a reader sees that IL-6 was measured in 10 of 18.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from great_tables import GT, loc, style

from ruxtrack.cohort._results import Cell, TableResult, TestResult

__all__ = ["format_p", "render_table", "table_frame", "write_table"]

_LABEL = "label"
_P = "p value"


def format_p(p: float | None) -> str:
    """A p-value as papers print it: ``<0.001``, else three decimals (two from 0.1)."""
    if p is None or p != p:
        return "—"
    if p < 0.001:
        return "<0.001"
    if p < 0.1:
        return f"{p:.3f}"
    return f"{p:.2f}"


def _cell_text(cell: Cell | None, column_n: int) -> str:
    if cell is None:
        return "—"
    if cell.n < column_n and cell.stat not in ("counts", "flags", "distribution"):
        return f"{cell.text} (n = {cell.n})"
    return cell.text


def _is_transposed(table: TableResult) -> bool:
    return table.kind == "by_group" and all(r.header is not None for r in table.rows)


def _test_text(test: TestResult | None) -> str:
    return "" if test is None else format_p(test.p_value)


def table_frame(table: TableResult) -> pd.DataFrame:
    """The table as a frame in display layout (what the CSV holds)."""
    records: list[dict[str, str]] = []
    if _is_transposed(table):
        for gid, glabel in table.columns.items():
            rec = {_LABEL: f"{glabel} (n = {table.column_n[gid]})"}
            for row in table.rows:
                rec[row.label] = _cell_text(row.cells.get(gid), table.column_n[gid])
            records.append(rec)
        return pd.DataFrame.from_records(records)
    has_tests = any(r.test is not None for r in table.rows)
    for row in table.rows:
        line: dict[str, str] = {
            _LABEL: ("\u2003" + row.label) if row.level is not None else row.label
        }
        for cid, clabel in _column_labels(table).items():
            line[clabel] = (
                ""
                if row.is_group_label
                else _cell_text(row.cells.get(cid), table.column_n.get(cid, 0))
            )
        if has_tests:
            line[_P] = _test_text(row.test)
        records.append(line)
    return pd.DataFrame.from_records(records)


def _column_labels(table: TableResult) -> dict[str, str]:
    if table.kind == "markers_over_time":
        return dict(table.columns)
    return {cid: f"{lab} (n = {table.column_n.get(cid, 0)})" for cid, lab in table.columns.items()}


def render_table(table: TableResult) -> GT:
    """A great_tables object for the table (title, spanners, source notes)."""
    frame = table_frame(table)
    if _is_transposed(table):
        gt = GT(frame, rowname_col=_LABEL)
        spanners: dict[str, list[str]] = {}
        for row in table.rows:
            spanners.setdefault(str(row.header), []).append(row.label)
        for header, cols in spanners.items():
            gt = gt.tab_spanner(label=header, columns=cols)
    else:
        gt = GT(frame, rowname_col=_LABEL)
    gt = gt.tab_header(title=table.title).tab_stubhead(label="")
    gt = gt.tab_style(style=style.text(align="left"), locations=loc.body())
    methods = sorted({t.method for t in _all_tests(table)})
    if methods:
        gt = gt.tab_source_note("Tests: " + "; ".join(methods) + ".")
    if table.footnote:
        gt = gt.tab_source_note(table.footnote)
    if table.source:
        gt = gt.tab_source_note(f"Layout after {table.source}.")
    return gt


def _all_tests(table: TableResult) -> list[TestResult]:
    out = [r.test for r in table.rows if r.test is not None]
    return out + list(table.tests)


def write_table(table: TableResult, out_dir: Path) -> list[Path]:
    """Write ``<id>.html`` (great_tables raw HTML), ``<id>.tex`` and ``<id>.csv``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    gt = render_table(table)
    html = out_dir / f"{table.id}.html"
    html.write_text(gt.as_raw_html(), encoding="utf-8")
    tex = out_dir / f"{table.id}.tex"
    tex.write_text(gt.as_latex(), encoding="utf-8")
    csv = out_dir / f"{table.id}.csv"
    frame = table_frame(table)
    frame.to_csv(csv, index=False, encoding="utf-8")
    return [html, tex, csv]
