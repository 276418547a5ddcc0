"""Publication tables: a layout frame per table, rendered by great_tables (HTML, LaTeX) and CSV.

The layout follows the seed paper's tables (Sarmiento 2021 Tables 1–4): a one-column summary,
markers by time point, variables by outcome group with a p-value column, and a transposed
group × pattern table when every row is a distribution. A cell shows "(n = k)" when it rests on
fewer patients than its column holds, so a reader sees that IL-6 was measured in 10 of 18; a
p-value does the same for the complete cases its test used. Each p-value carries a superscript
letter that names its test in the notes below the table (HTML, LaTeX, Word, Excel); the CSV has
the method in a column. The LaTeX is pdflatex-safe (the default of most journal templates and
Overleaf): every character outside Latin-1 becomes a LaTeX command (superscript letters, μ, ≥,
the em space of an indented level), and it needs only booktabs and caption. Word (python-docx)
and Excel (openpyxl) files hold the same layout, title and notes: one table object, five faces.
"""

from __future__ import annotations

import html
import string
import unicodedata
from pathlib import Path
from typing import Literal

import pandas as pd
from great_tables import GT, loc, style

from ruxtrack.cohort import Cell, TableResult, TestResult

__all__ = [
    "format_p",
    "latex_safe",
    "render_table",
    "table_frame",
    "table_notes",
    "test_letters",
    "write_docx",
    "write_table",
    "write_xlsx",
]

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
    for note in table_notes(table):
        gt = gt.tab_source_note(note)
    return gt


def table_notes(table: TableResult) -> list[str]:
    """The notes under a table, in order: each test by its letter, rows not tested and why,
    the meaning of "n = k", the table's own footnote and the layout's source."""
    notes = [f"{_mark(letter)} {method}." for method, letter in test_letters(table).items()]
    skipped = sorted({t.note for t in _tests(table) if t.p_value is None and t.note})
    if skipped:
        notes.append("Not tested: " + "; ".join(skipped) + ".")
    if any(0 < c.n < table.column_n.get(cid, 0) for r in table.rows for cid, c in r.cells.items()):
        notes.append(_N_NOTE)
    elif any(t.n < sum(table.column_n.values()) for t in _tests(table) if t.p_value is not None):
        notes.append(_N_NOTE)
    if table.footnote:
        notes.append(table.footnote)
    if table.source:
        notes.append(f"Layout after {table.source}.")
    return notes


#: Characters pdflatex cannot typeset from UTF-8 input, as LaTeX (Latin-1 letters such as é or
#: í are read by LaTeX's own UTF-8 support and stay).
_LATEX_CHARS: dict[str, str] = {
    **{
        sup: f"\\textsuperscript{{{ch}}}" for sup, ch in zip(_SUPERSCRIPTS, "abcdefgh", strict=True)
    },
    "\u2003": "\\quad{}",
    "\u2002": "\\enspace{}",
    "\u2009": "\\,",
    "\u00a0": "~",
    "μ": "\\textmu{}",
    "µ": "\\textmu{}",
    "≥": "$\\geq$",
    "≤": "$\\leq$",
    "–": "--",
    "—": "---",
    "−": "$-$",
    "×": "$\\times$",
    "±": "$\\pm$",
    "∞": "$\\infty$",
    "→": "$\\rightarrow$",
    "°": "\\textdegree{}",
    "·": "\\textperiodcentered{}",
    "²": "\\textsuperscript{2}",
    "³": "\\textsuperscript{3}",
    "₂": "\\textsubscript{2}",
    "’": "'",
    "‘": "`",
    "“": "``",
    "”": "''",
    "…": "\\ldots{}",
    "α": "$\\alpha$",
    "β": "$\\beta$",
    "γ": "$\\gamma$",
    "κ": "$\\kappa$",
}


def latex_safe(text: str) -> str:
    r"""LaTeX that pdflatex compiles: characters outside Latin-1 become LaTeX commands; one
    without a command becomes its closest ASCII form (NFKD), else "?".

    Examples
    --------
    >>> latex_safe("0.014ᵃ ≥60 years, 5 μg")
    '0.014\\textsuperscript{a} $\\geq$60 years, 5 \\textmu{}g'
    """
    out = []
    for ch in text:
        if ch in _LATEX_CHARS:
            out.append(_LATEX_CHARS[ch])
        elif ord(ch) < 256:
            out.append(ch)
        else:
            ascii_form = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
            out.append(ascii_form or "?")
    return "".join(out)


def _office_frame(table: TableResult) -> pd.DataFrame:
    """The layout for Word and Excel: the LaTeX variant's text (plain, letters as Unicode
    superscripts), with the level indent as spaces."""
    frame = table_frame(table, fmt="latex")
    frame[_LABEL] = frame[_LABEL].str.replace("\u2003", "    ", regex=False)
    return frame.rename(columns={_LABEL: ""})


def write_docx(table: TableResult, path: Path) -> Path:
    """The table as a Word document (python-docx): title, one table, the notes below."""
    from docx import Document
    from docx.shared import Pt

    frame = _office_frame(table)
    doc = Document()
    doc.add_paragraph().add_run(table.title).bold = True
    grid = doc.add_table(rows=len(frame) + 1, cols=len(frame.columns))
    grid.style = "Table Grid"
    for j, col in enumerate(frame.columns):
        cell = grid.cell(0, j)
        cell.text = str(col)
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for i, row in enumerate(frame.itertuples(index=False), start=1):
        for j, value in enumerate(row):
            grid.cell(i, j).text = str(value)
    for r in grid.rows:
        for c in r.cells:
            for para in c.paragraphs:
                for run in para.runs:
                    run.font.size = Pt(8)
    for note in table_notes(table):
        doc.add_paragraph(note).runs[0].font.size = Pt(8)
    doc.core_properties.author = "ruxtrack"
    doc.save(str(path))
    return path


def write_xlsx(table: TableResult, path: Path) -> Path:
    """The table as an Excel workbook (openpyxl): title in A1, header in row 3, the rows, the
    notes below; one sheet named after the table id."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    frame = _office_frame(table)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = table.id[:31]
    ws["A1"] = table.title
    ws["A1"].font = Font(bold=True)
    for j, col in enumerate(frame.columns, start=1):
        c = ws.cell(row=3, column=j, value=str(col))
        c.font = Font(bold=True)
        c.alignment = Alignment(wrap_text=True, vertical="top")
    for i, row in enumerate(frame.itertuples(index=False), start=4):
        for j, value in enumerate(row, start=1):
            ws.cell(row=i, column=j, value=str(value)).alignment = Alignment(
                wrap_text=True, vertical="top"
            )
    first_note = len(frame) + 5
    for k, note in enumerate(table_notes(table)):
        ws.cell(row=first_note + k, column=1, value=note)
    ws.column_dimensions["A"].width = 48
    for j in range(2, len(frame.columns) + 1):
        ws.column_dimensions[ws.cell(row=3, column=j).column_letter].width = 22
    wb.properties.creator = "ruxtrack"
    wb.save(str(path))
    return path


def write_table(table: TableResult, out_dir: Path) -> list[Path]:
    """Write ``<id>.html`` (great_tables raw HTML), ``<id>.tex`` (pdflatex-safe; needs
    booktabs and caption), ``<id>.docx``, ``<id>.xlsx`` and ``<id>.csv``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    html = out_dir / f"{table.id}.html"
    html.write_text(render_table(table).as_raw_html(), encoding="utf-8")
    tex = out_dir / f"{table.id}.tex"
    tex.write_text(latex_safe(render_table(table, latex=True).as_latex()), encoding="utf-8")
    docx = write_docx(table, out_dir / f"{table.id}.docx")
    xlsx = write_xlsx(table, out_dir / f"{table.id}.xlsx")
    csv = out_dir / f"{table.id}.csv"
    table_frame(table, fmt="csv").to_csv(csv, index=False, encoding="utf-8")
    return [html, tex, docx, xlsx, csv]
