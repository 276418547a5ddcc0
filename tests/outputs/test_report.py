"""The report: results.json against its schema, tables in the seed's layout, figures, HTML."""

from __future__ import annotations

import json
import re

import jsonschema
import pandas as pd
from conftest import TOMOMASA_CASE
from typer.testing import CliRunner

from ruxtrack.cli import app
from ruxtrack.outputs import format_p, results_json_schema


def test_results_json_validates_against_the_schema(sarmiento_report) -> None:
    _, files = sarmiento_report
    doc = json.loads(files.results.read_text())
    jsonschema.validate(doc, results_json_schema())
    assert doc["n_included"] == 18


def test_every_cell_carries_its_n_and_il6_rests_on_fewer(sarmiento_report) -> None:
    run, _ = sarmiento_report
    t2 = run.results.table("table2")
    il6 = next(r for r in t2.rows if r.var == "il6")
    assert il6.cells["admission"].n == 9 and il6.cells["admission"].n_missing == 9
    assert il6.test is not None and il6.test.n == 9 and "Friedman" in il6.test.method
    for t in run.results.tables:
        for r in t.rows:
            for c in r.cells.values():
                assert c.n + c.n_missing <= max(t.column_n.values())


def test_table2_reproduces_the_seed_layout(sarmiento_report) -> None:
    _, files = sarmiento_report
    csv = pd.read_csv(files.tables["table2"][2])
    assert list(csv.columns) == ["label", "At admission", "At ruxo start", "+8", "+15", "p value"]
    assert csv["label"].iloc[1] == "C-reactive protein median/range, normal value 0–5 mg/dL"
    assert re.fullmatch(r"[\d.,]+ \([\d.,]+–[\d.,]+\)", csv["At admission"].iloc[1])
    assert "(n = 9)" in csv["At admission"].iloc[3]
    tex = files.tables["table2"][1].read_text()
    assert "\\begin{tabular" in tex and "Friedman" in tex


def test_table3_by_group_uses_fisher_and_group_sizes(sarmiento_report) -> None:
    run, files = sarmiento_report
    t3 = run.results.table("table3")
    assert t3.column_n == {"complete_response": 10, "late_responder": 5, "progression": 3}
    early = next(r for r in t3.rows if r.var == "early_start")
    assert early.cells["complete_response"].text == "10 (100)"
    assert early.test is not None and early.test.method.startswith("Fisher's exact test (r×c")
    html = files.tables["table3"][0].read_text()
    assert "Complete resolution group (n = 10)" in html


def test_table4_is_transposed_with_spanners(sarmiento_report) -> None:
    _, files = sarmiento_report
    csv = pd.read_csv(files.tables["table4"][2])
    assert csv.iloc[2, 4] == "deceased 100%"
    assert "Imagenological changes" in files.tables["table4"][0].read_text()


def test_cumulative_incidence_counts_death_as_competing(sarmiento_report) -> None:
    run, _ = sarmiento_report
    cif = run.results.analysis("cif_discharge")
    assert cif.values["events"] == {"discharge": 15, "death": 3}
    assert abs(cif.values["final"]["death"] - 3 / 18) < 1e-12  # no censoring before deaths


def test_figures_are_written_as_png_and_svg(sarmiento_report) -> None:
    _, files = sarmiento_report
    assert {"trajectories", "swimmer", "cif", "course_example_S01"} <= set(files.figures)
    for paths in files.figures.values():
        assert sorted(p.suffix for p in paths) == [".png", ".svg"]
        assert all(p.stat().st_size > 5_000 for p in paths)


def test_report_html_is_self_contained(sarmiento_report) -> None:
    _, files = sarmiento_report
    page = files.report.read_text()
    assert "data:image/png;base64," in page
    assert not re.search(r"(src|href)=['\"]https?://", page)
    assert "<link" not in page and "<script src" not in page


def test_format_p_prints_small_values_as_a_bound() -> None:
    assert format_p(0.0002) == "<0.001" and format_p(0.0123) == "0.012" and format_p(0.44) == "0.44"


def test_cli_report_on_the_case_report_draws_course_and_criteria(tmp_path) -> None:
    res = CliRunner().invoke(
        app, ["report", "tomomasa-2021", "--data", str(TOMOMASA_CASE), "--out", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "figures" / "course_TOMO1.svg").exists()
    assert (tmp_path / "figures" / "criteria_TOMO1.png").exists()
    assert "1 of 1 patients included" in res.output


def test_cli_report_without_data_is_an_error(tmp_path) -> None:
    res = CliRunner().invoke(app, ["report", "sarmiento-2021", "--out", str(tmp_path)])
    assert res.exit_code == 1 and "exactly one of --data" in res.output


def test_cli_studies_list_names_both_shipped_studies() -> None:
    res = CliRunner().invoke(app, ["studies", "list"])
    assert res.exit_code == 0 and "sarmiento-2021" in res.output and "tomomasa-2021" in res.output
