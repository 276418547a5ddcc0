"""Screening log to PRISMA counts, the shipped flow and table, plots and the CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ruxtrack.cli import app
from ruxtrack.errors import ImportValidationError
from ruxtrack.evidence import (
    check_stated_ranges,
    consistent_counts,
    deduplicate,
    flow_from_log,
    load_evidence_table,
    load_flow,
    meta_analysis,
    read_proportions,
    read_records,
    render_forest,
    render_prisma,
    table_proportions,
    write_screening_log,
)

DATA = Path(__file__).parent / "data"
REFERENCE = Path(__file__).parent / "reference"
runner = CliRunner()
PNG = b"\x89PNG\r\n\x1a\n"


def test_screening_log_counts_follow_prisma_2020() -> None:
    flow = flow_from_log(DATA / "screening_log.csv")
    assert flow.identified == {"PubMed": 5, "Embase": 3}
    assert (flow.duplicates_removed, flow.screened, flow.screen_excluded) == (1, 7, 1)
    assert (flow.sought, flow.not_retrieved, flow.assessed) == (6, 1, 5)
    assert flow.fulltext_excluded == 2
    assert flow.fulltext_reasons == {"case report": 1, "autologous SCT": 1}
    assert (flow.reports_included, flow.studies_included) == (3, 2)  # r1 and r6 are study s1
    assert flow.check() == []


def test_bad_screening_log_lists_every_problem() -> None:
    with pytest.raises(ImportValidationError) as info:
        flow_from_log(DATA / "bad_log.csv")
    text = [str(p) for p in info.value.problems]
    assert any("row 1, field `screen_decision`" in t and "include or exclude" in t for t in text)
    assert any("row 2, field `fulltext_reason`" in t and "needs a reason" in t for t in text)
    assert any("row 3" in t and "duplicate is not screened" in t for t in text)


def test_written_log_marks_duplicates(tmp_path: Path) -> None:
    recs = [*read_records(DATA / "pubmed.nbib"), *read_records(DATA / "embase.ris")]
    out = write_screening_log(deduplicate(recs), tmp_path / "log.csv")
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 5
    assert sum(bool(r["duplicate_of"]) for r in rows) == 2
    assert len({r["record_id"] for r in rows}) == 5


def test_shipped_flow_is_127_identified_11_included() -> None:
    flow = load_flow()
    assert flow.identified_total == 127
    assert flow.studies_included == 11
    assert flow.unstaged_exclusions is not None and flow.unstaged_exclusions.n == 116
    assert all(v is None for v in flow.unstaged_exclusions.reasons.values())
    assert len(flow.unstaged_exclusions.reasons) == 8


def test_inconsistent_flow_file_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "flow.yaml"
    f.write_text("identified: {PubMed: 10}\nduplicates_removed: 2\nscreened: 9\n")
    from ruxtrack.errors import KnowledgeFileError

    with pytest.raises(KnowledgeFileError, match="field `screened` is 9, but the flow implies 8"):
        load_flow(f)


def test_shipped_table_matches_the_reference_csv_used_in_r() -> None:
    data, excluded, _ = table_proportions(load_evidence_table(), "incidence")
    rows = list(csv.DictReader((REFERENCE / "ips_incidence.csv").open()))
    assert [int(r["events"]) for r in rows] == list(data.events)
    assert [int(r["total"]) for r in rows] == list(data.totals)
    assert [r["age_group"] for r in rows] == list(data.groups or ())
    assert len(excluded) == 4  # treatment studies without a transplant denominator


def test_every_printed_incidence_is_recomputable_except_altmann() -> None:
    for c in load_evidence_table().cohorts:
        if c.incidence is None:
            continue
        inc = c.incidence
        printed = inc.percent.value
        ok = consistent_counts(printed, inc.percent.decimals or 0, int(inc.transplant_n.value))
        assert (int(inc.ips_n.value) in ok) == (c.id != "altmann-2018"), c.id


def test_fukuda_deaths_fit_both_arms_together() -> None:
    assert 60 in consistent_counts(74, 0, 81)
    assert 60 not in consistent_counts(74, 0, 77)
    assert consistent_counts(76, 0, 75) == (57,)


def test_stated_ranges_are_partly_supported_with_named_exceptions() -> None:
    checks = {c.id: c for c in check_stated_ranges(load_evidence_table())}
    assert {c.verdict for c in checks.values()} == {"partly supported"}
    inc = checks["incidence_children"]
    assert inc.low_matches == ("Sano 2014",) and inc.high_matches == ("Keates-Baleeiro 2006",)
    assert [c.cohort for c in inc.candidates if not c.inside] == ["Altmann 2018"]
    adult = checks["incidence_adults_mac"]
    assert "Fukuda 2003 (nonmyeloablative)" not in [c.cohort for c in adult.candidates]
    assert [c.cohort for c in adult.candidates if not c.inside] == ["Wenger 2020"]


def test_mortality_uses_longest_time_frame_and_derived_count() -> None:
    data, excluded, frames = table_proportions(load_evidence_table(), "mortality")
    idx = data.studies.index("Vande Vusse 2016 †")
    assert (data.events[idx], data.totals[idx], frames[idx]) == (
        64,
        75,
        "within first 2 years of HCT",
    )
    assert "Fukuda 2003 (both arms)" in data.studies
    assert {e.cohort for e in excluded} >= {"Yanik 2015", "Yanik 2014 (placebo)"}
    short, _, _ = table_proportions(load_evidence_table(), "mortality", timeframe="shortest")
    assert short.events[short.studies.index("Zhu 2008")] == 16


def test_plots_are_written(tmp_path: Path) -> None:
    res = meta_analysis(read_proportions(DATA / "grouped.csv", by="group"), method="DL")
    assert render_forest(res, tmp_path / "f.png").read_bytes()[:8] == PNG
    assert "<svg" in render_forest(res, tmp_path / "f.svg").read_text()
    assert render_prisma(load_flow(), tmp_path / "p.png").read_bytes()[:8] == PNG
    assert render_prisma(flow_from_log(DATA / "screening_log.csv"), tmp_path / "q.svg").exists()


def test_cli_meta_json_has_the_documented_keys(tmp_path: Path) -> None:
    plot = tmp_path / "forest.png"
    result = runner.invoke(
        app,
        [
            "evidence",
            "meta",
            str(DATA / "grouped.csv"),
            "--by",
            "group",
            "--transform",
            "ft",
            "--method",
            "DL",
            "--hk",
            "--json",
            "--plot",
            str(plot),
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    for key in (
        "k",
        "estimate",
        "ci_low",
        "ci_high",
        "pi_low",
        "pi_high",
        "tau2",
        "i2",
        "h2",
        "q",
        "q_df",
        "q_p",
        "model_estimate",
        "model_se",
        "transform",
        "method",
        "studies",
        "subgroups",
        "between_test",
    ):
        assert key in out
    assert out["k"] == 5 and out["test"] == "knha" and set(out["subgroups"]) == {"x", "y"}
    assert plot.read_bytes()[:8] == PNG


def test_cli_reports_bad_input_and_exits_1() -> None:
    result = runner.invoke(app, ["evidence", "meta", str(DATA / "bad_counts.csv")])
    assert result.exit_code == 1
    assert "exceeds total" in result.output


def test_cli_glmm_with_ft_is_refused() -> None:
    result = runner.invoke(
        app, ["evidence", "meta", str(DATA / "grouped.csv"), "-m", "GLMM", "-t", "ft"]
    )
    assert result.exit_code == 1
    assert "models the logit" in result.output


def test_cli_table_and_prisma(tmp_path: Path) -> None:
    result = runner.invoke(app, ["evidence"])
    assert result.exit_code == 0, result.output
    assert "partly supported" in result.output and "Pooled IPS mortality" in result.output
    result = runner.invoke(app, ["evidence", "prisma", "--plot", str(tmp_path / "p.png")])
    assert result.exit_code == 0, result.output
    assert "excluded, stage not reported: 116" in result.output
    result = runner.invoke(
        app,
        [
            "evidence",
            "records",
            str(DATA / "pubmed.nbib"),
            str(DATA / "embase.ris"),
            "-o",
            str(tmp_path / "log.csv"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "2 duplicates" in result.output
