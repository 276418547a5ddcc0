"""One table object, five faces: the LaTeX compiles with pdflatex (Debian texlive), Word and
Excel files read back (python-docx, openpyxl) with the cells of the CSV, and a one-patient table
has no statistics column."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from docx import Document
from openpyxl import load_workbook

from ruxtrack.outputs import latex_safe, table_notes

PDFLATEX = shutil.which("pdflatex")
WRAPPER = r"""\documentclass{article}
\usepackage[T1]{fontenc}
\usepackage{booktabs}
\usepackage{caption}
\usepackage[margin=1cm,landscape]{geometry}
\begin{document}
%s
\end{document}
"""


def _faces(files, table_id: str) -> dict[str, Path]:
    return {p.suffix: p for p in files.tables[table_id]}


@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex missing: scripts/test.sh installs texlive")
def test_every_latex_table_compiles_with_pdflatex(sarmiento_report, tomomasa_report, tmp_path):
    bodies = [
        _faces(files, t.id)[".tex"].read_text(encoding="utf-8")
        for run, files in (sarmiento_report, tomomasa_report)
        for t in run.results.tables
    ]
    doc = tmp_path / "tables.tex"
    doc.write_text(WRAPPER % "\n\\clearpage\n".join(bodies), encoding="utf-8")
    res = subprocess.run(
        [PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", doc.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stdout[-3000:]
    assert (tmp_path / "tables.pdf").stat().st_size > 1000
    log = (tmp_path / "tables.log").read_text(errors="replace")
    assert "Missing character" not in log


def test_latex_safe_turns_every_character_outside_latin1_into_a_command() -> None:
    text = "ᵃᵇ\u2003≥≤–—×μ³ Bertín"
    out = latex_safe(text)
    assert all(ord(c) < 256 for c in out)
    assert "\\textsuperscript{a}\\textsuperscript{b}\\quad{}$\\geq$$\\leq$-----" in out
    assert out.endswith("Bertín")  # Latin-1 letters are read by LaTeX's UTF-8 support


def test_word_table_reads_back_with_the_cells_of_the_csv(sarmiento_report) -> None:
    run, files = sarmiento_report
    faces = _faces(files, "table3")
    csv = pd.read_csv(faces[".csv"], dtype=str, keep_default_na=False)
    doc = Document(str(faces[".docx"]))
    assert doc.paragraphs[0].text == run.results.table("table3").title
    grid = doc.tables[0]
    assert len(grid.rows) == len(csv) + 1
    header = [c.text for c in grid.rows[0].cells]
    assert header[1:4] == list(csv.columns[1:4])
    early = next(r for r in grid.rows if r.cells[0].text.startswith("Early start"))
    row = csv[csv["label"].str.startswith("Early start")].iloc[0]
    assert [c.text for c in early.cells[1:4]] == list(row.iloc[1:4])
    assert early.cells[4].text.startswith(row["p value"])  # + the superscript letter of its test
    notes = [p.text for p in doc.paragraphs[1:]]
    assert notes == table_notes(run.results.table("table3"))


def test_excel_table_reads_back_with_the_cells_of_the_csv(sarmiento_report) -> None:
    run, files = sarmiento_report
    faces = _faces(files, "table2")
    csv = pd.read_csv(faces[".csv"], dtype=str, keep_default_na=False)
    ws = load_workbook(faces[".xlsx"], read_only=True).active
    rows = [[c if c is not None else "" for c in r] for r in ws.iter_rows(values_only=True)]
    assert rows[0][0] == run.results.table("table2").title
    assert rows[2][1:5] == list(csv.columns[1:5])
    body = rows[3 : 3 + len(csv)]
    assert [r[1:5] for r in body] == csv.iloc[:, 1:5].to_numpy().tolist()
    notes = [r[0] for r in rows[4 + len(csv) :] if r and r[0]]
    assert notes == table_notes(run.results.table("table2"))


def test_one_patient_table_has_no_statistics_column(tomomasa_report) -> None:
    run, files = tomomasa_report
    table = run.results.table("markers")
    csv = pd.read_csv(_faces(files, "markers")[".csv"], dtype=str, keep_default_na=False)
    assert "p value" not in csv.columns and "test" not in csv.columns
    assert not any("median" in label for label in csv["label"])
    ws = load_workbook(_faces(files, "markers")[".xlsx"], read_only=True).active
    header = next(r for i, r in enumerate(ws.iter_rows(values_only=True)) if i == 2)
    assert "p value" not in header
    assert not any("Not tested" in n or "superscript" in n for n in table_notes(table))
    page = files.report.read_text()
    assert "<h2>Analyses</h2>" not in page and "Significance level" not in page
