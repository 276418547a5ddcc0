"""The report on the shipped demo data: results.json against its schema, tables in the seed's
layout with n and method, figures, report.html; the same numbers from a store."""

from __future__ import annotations

import json
import re
import warnings

import jsonschema
import pandas as pd
import pytest
from outputs_fixtures import SARMIENTO_DEMO, TOMOMASA_DEMO
from typer.testing import CliRunner

from ruxtrack.cli import app
from ruxtrack.cohort import patient_course
from ruxtrack.outputs import format_p, results_json_schema, write_table


def test_results_json_validates_against_the_schema(sarmiento_report) -> None:
    _, files = sarmiento_report
    doc = json.loads(files.results.read_text())
    jsonschema.validate(doc, results_json_schema())
    jsonschema.validate(doc, json.loads((files.out_dir / "results.schema.json").read_text()))
    assert doc["n_included"] == doc["n_read"] == 18 and doc["synthetic"] is True
    assert doc["group_n"] == {"complete_response": 10, "late_responder": 5, "progression": 3}


def test_every_test_in_results_json_names_its_method_and_n(sarmiento_report) -> None:
    _, files = sarmiento_report
    doc = json.loads(files.results.read_text())
    for t in doc["tables"]:
        for r in t["rows"]:
            for cid, c in r["cells"].items():
                assert c["n"] + c["n_missing"] == t["column_n"][cid]
            if r["test"] is not None:
                assert r["test"]["method"] and r["test"]["n"] > 0
                assert r["test"]["detail"]["result_type"] in (
                    "FriedmanResult",
                    "FisherResult",
                    "KruskalWallisResult",
                    "RankSumResult",
                )
    for a in doc["analyses"]:
        assert a["method"] and a["n"] == 18 and a["computed"] is True


def test_table2_csv_reproduces_the_seed_layout_with_n(sarmiento_report) -> None:
    _, files = sarmiento_report
    csv = pd.read_csv(next(p for p in files.tables["table2"] if p.suffix == ".csv"))
    assert list(csv.columns) == [
        "label",
        "At admission (n = 18)",
        "At ruxo start (n = 18)",
        "+8 (n = 18)",
        "+15 (n = 18)",
        "p value",
        "test",
    ]
    assert csv["label"].iloc[1] == "C-reactive protein median/range, normal value 0–5 mg/dL"
    assert re.fullmatch(r"[\d.,]+ \([\d.,]+–[\d.,]+\)", csv["At ruxo start (n = 18)"].iloc[1])
    il6 = csv[csv["label"].str.startswith("IL-6")].iloc[0]
    assert il6["At admission (n = 18)"].endswith("(n = 10)")
    assert il6["p value"].endswith("(n = 9)")  # complete cases of the Friedman test
    assert set(csv["test"]) == {
        "Friedman rank-sum test (chi-squared approximation, tie-corrected); post hoc: pairwise "
        "Wilcoxon signed-rank tests on the complete cases; Holm (1979) step-down adjustment"
    }


def test_latex_renders_without_the_great_tables_style_warning(sarmiento_report, tmp_path) -> None:
    run, _ = sarmiento_report
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        paths = [p for t in run.results.tables for p in write_table(t, tmp_path)]
    tex = (tmp_path / "table3.tex").read_text()
    assert "\\begin{tabular" in tex and "0.002\\textsuperscript{a}" in tex
    assert "\\textsuperscript{a} Fisher's exact test (network algorithm, r x c)." in tex
    assert tex.isascii() or all(ord(c) < 256 for c in tex)  # pdflatex-safe
    assert len(paths) == 20


def test_table3_html_names_each_test_by_letter(sarmiento_report) -> None:
    _, files = sarmiento_report
    page = files.tables["table3"][0].read_text()
    assert "Complete resolution group (n = 10)" in page
    assert "ᵃ Fisher&#x27;s exact test (network algorithm, r x c)." in page or (
        "ᵃ Fisher's exact test (network algorithm, r x c)." in page
    )
    assert "ᵇ Kruskal-Wallis rank-sum test" in page
    assert "0.027ᵇ" in page


def test_table4_is_transposed_with_spanners(sarmiento_report) -> None:
    _, files = sarmiento_report
    csv = pd.read_csv(next(p for p in files.tables["table4"] if p.suffix == ".csv"))
    csv = csv.set_index("label")
    prog = csv.loc["Progression to catastrophic respiratory failure (n = 3)"]
    assert prog["Ventilatory state at 8 weeks follow-up"] == "Deceased 100%"
    late = csv.loc[
        "Late responders (partial remission of respiratory dysfunction) (n = 5)",
        "Ventilatory state at 8 weeks follow-up",
    ]
    assert late == (
        "Discharged on home oxygen 40%; Prolonged ICU stay with IMV 40%; Hospitalized on oxygen 20%"
    )
    assert "Imagenological changes" in files.tables["table4"][0].read_text()


def test_figures_are_png_and_svg_and_labelled_synthetic(sarmiento_report) -> None:
    _, files = sarmiento_report
    assert set(files.figures) == {
        "trajectories",
        "swimmer",
        "cif",
        "cif_early_start",
        "course_example_SYN-001",
    }
    for paths in files.figures.values():
        assert sorted(p.suffix for p in paths) == [".png", ".svg"]
        svg = next(p for p in paths if p.suffix == ".svg").read_text()
        assert "SYNTHETIC DATA" in svg


def test_report_html_is_self_contained_and_says_synthetic(sarmiento_report) -> None:
    _, files = sarmiento_report
    page = files.report.read_text()
    assert "data:image/png;base64," in page
    assert not re.search(r"(src|href)=['\"]https?://", page)
    assert "<link" not in page and "<script src" not in page
    assert "<strong>Synthetic data.</strong>" in page
    assert "Post hoc comparisons" in page and "id='methods'" in page


def test_format_p_prints_small_values_as_a_bound() -> None:
    assert format_p(0.0002) == "<0.001" and format_p(0.0123) == "0.012" and format_p(0.44) == "0.44"


def test_tomomasa_report_draws_the_course_and_the_criteria_timeline(tomomasa_report) -> None:
    run, files = tomomasa_report
    assert {"course_TOMOMASA-2021", "course_active_TOMOMASA-2021", "criteria_TOMOMASA-2021"} == set(
        files.figures
    )
    assert run.results.synthetic is False
    assert "Synthetic data." not in files.report.read_text()


def test_tomomasa_report_invents_no_values(tomomasa_report) -> None:
    run, _ = tomomasa_report
    obs = pd.read_csv(TOMOMASA_DEMO / "observations.csv")
    assert run.tables is not None
    course = patient_course(run.tables, run.study, "TOMOMASA-2021", "hsct#2")
    assert sorted(course["observations"]["code"]) == sorted(obs["code"])
    markers = run.results.table("markers")
    filled = {
        (r.var, tp): c.values["value"] for r in markers.rows for tp, c in r.cells.items() if c.n
    }
    # the one number of the table is the ferritin maximum the paper states (17,509 ng/mL),
    # shown as the value it is: no median or range of one value, and no test of one patient
    assert filled == {("ferritin", "start"): 17509.0}
    assert {c.stat for r in markers.rows for c in r.cells.values() if c.n} == {"value"}
    assert all(r.test is None for r in markers.rows)


def test_report_from_a_store_gives_the_numbers_of_the_csv_folder(
    sarmiento_report, tmp_path
) -> None:
    db = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    runner = CliRunner()
    loaded = runner.invoke(app, ["demo", "--db", db])
    assert loaded.exit_code == 0, loaded.output
    out = tmp_path / "from-store"
    res = runner.invoke(app, ["report", "sarmiento-2021", "--db", db, "--out", str(out)])
    assert res.exit_code == 0, res.output
    from_store = json.loads((out / "results.json").read_text())
    from_csv = json.loads(sarmiento_report[1].results.read_text())
    assert from_store["tables"] == from_csv["tables"]
    assert from_store["analyses"] == from_csv["analyses"]
    # the store holds both demo datasets: the 11-year-old of the case report is not an adult
    assert from_store["n_read"] == 19 and from_store["n_included"] == 18
    assert [f["removed"] for f in from_store["flow"]] == [0, 1, 0]


def test_cli_report_lists_the_files_it_wrote(tmp_path) -> None:
    out = tmp_path / "t"
    res = CliRunner().invoke(
        app, ["report", "tomomasa-2021", "--data", str(TOMOMASA_DEMO), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "tomomasa-2021: 1 of 1 patients included" in res.output
    for line in (
        "results.json",
        "report.html",
        "tables/markers.csv",
        "figures/criteria_TOMOMASA-2021.svg",
    ):
        assert f"\n  {line}\n" in res.output
        assert (out / line).exists()


def test_cli_report_without_data_reads_the_default_store(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RUXTRACK_DATABASE_URL", f"sqlite:///{tmp_path / 'none.sqlite'}")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["report", "sarmiento-2021", "--out", str(out)])
    assert res.exit_code == 1 and "none.sqlite: no store there" in res.output
    assert not out.exists()  # nothing half-written
    (tmp_path / "none.sqlite").touch()  # a file that is no ruxtrack store
    res = CliRunner().invoke(app, ["report", "sarmiento-2021", "--out", str(out)])
    assert res.exit_code == 1 and "none.sqlite: no patients table" in res.output
    assert not out.exists()


def test_cli_studies_list_names_both_shipped_studies() -> None:
    res = CliRunner().invoke(app, ["studies", "list"])
    assert res.exit_code == 0 and "sarmiento-2021" in res.output and "tomomasa-2021" in res.output


@pytest.mark.parametrize("bad", ["no-such-study"])
def test_cli_report_on_an_unknown_study_names_the_shipped_ones(bad, tmp_path) -> None:
    res = CliRunner().invoke(
        app, ["report", bad, "--data", str(SARMIENTO_DEMO), "--out", str(tmp_path)]
    )
    assert res.exit_code == 1 and "sarmiento-2021" in res.output


def test_a_report_that_fails_after_its_features_leaves_nothing_behind(tmp_path) -> None:
    """features.csv is written on a thread while the statistics run; when they fail (here no
    patient is included: the age floor is raised to 200), the thread is joined, the file
    removed and the folder this run created removed again."""
    from ruxtrack.errors import AnalysisError
    from ruxtrack.knowledge import knowledge_path
    from ruxtrack.outputs import build_report

    text = knowledge_path("studies/sarmiento-2021.yaml").read_text(encoding="utf-8")
    floor = "when: {var: age, op: ge, value: 18}"
    assert floor in text
    study = tmp_path / "nobody.yaml"
    study.write_text(text.replace(floor, "when: {var: age, op: ge, value: 200}"), encoding="utf-8")
    out = tmp_path / "report"
    with pytest.raises(AnalysisError, match="no patient included"):
        build_report(study, SARMIENTO_DEMO, out)
    assert not out.exists()
    kept = tmp_path / "kept"
    (kept / "mine.txt").parent.mkdir()
    (kept / "mine.txt").write_text("x")
    with pytest.raises(AnalysisError):
        build_report(study, SARMIENTO_DEMO, kept)
    assert sorted(p.name for p in kept.iterdir()) == ["mine.txt"]


def test_features_csv_holds_every_included_patient(sarmiento_report) -> None:
    _, files = sarmiento_report
    frame = pd.read_csv(files.out_dir / "features.csv")
    assert len(frame) == 18 and frame["patient_id"].is_unique


def test_cli_report_on_a_missing_store_file_creates_nothing(tmp_path) -> None:
    """Reading never creates: no empty SQLite file, no output folder, one line naming it."""
    db, out = tmp_path / "nosuch.db", tmp_path / "out"
    res = CliRunner().invoke(app, ["report", "sarmiento-2021", "--db", str(db), "--out", str(out)])
    assert res.exit_code == 1
    assert "no store there" in res.output and str(db) in res.output
    assert "Traceback" not in res.output
    assert not db.exists() and not out.exists()
