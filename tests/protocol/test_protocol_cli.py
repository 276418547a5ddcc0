"""The CLI face: regimens, dose (ad hoc and store), replay, audit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from protocol_helpers import TimelineBuilder
from typer.testing import CliRunner

from ruxtrack.cli import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    res = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return res.exit_code, res.output


def test_regimens_lists_every_packaged_regimen() -> None:
    code, out = run("regimens", "--json")
    assert code == 0
    ids = {r["id"] for r in json.loads(out)}
    assert {
        "sarmiento-2021-covid",
        "jakafi-us-agvhd",
        "jakafi-us-cgvhd",
        "jakavi-eu-agvhd",
        "jakavi-eu-cgvhd",
        "tomomasa-2021-ips",
    } <= ids


def test_regimens_show_prints_rules_with_sources() -> None:
    code, out = run("regimens", "show", "sarmiento-2021-covid")
    assert code == 0
    assert "platelets_below_50" in out and "S1, Methods, Intervention" in out


def test_dose_adhoc_json_has_the_documented_keys() -> None:
    code, out = run(
        "dose",
        "--regimen",
        "sarmiento-2021-covid",
        "--day",
        "3",
        "--platelets",
        "85000/uL",
        "--anc",
        "2.0",
        "--crcl",
        "80",
        "--not-ventilated",
        "--json",
    )
    assert code == 0
    d = json.loads(out)
    assert d["action"] == "reduce" and d["daily_total_mg"] == 10
    assert [a["dose_mg"] for a in d["administrations"]] == [5, 5]
    assert {"actions", "alerts", "monitoring"} <= d.keys()
    plt = next(r for r in d["rationale"] if r["rule"] == "platelets_below_100")
    assert plt["inputs"][0]["value"] == 85 and plt["inputs"][0]["received"] == "85000 /uL"
    assert plt["source"] == "S1, Methods, Intervention"


def test_dose_bilirubin_unit_and_repeatable_drugs() -> None:
    code, out = run(
        "dose",
        "--regimen",
        "jakafi-us-cgvhd",
        "--current-dose",
        "10 mg BID",
        "--platelets",
        "150",
        "--anc",
        "2",
        "--bilirubin",
        "51umol/L",
        "--bilirubin-uln",
        "1.0",
        "--crcl",
        "90",
        "--age",
        "40",
        "--drug",
        "fluconazole:200mg/day",
        "--drug",
        "acyclovir:800mg/day",
        "--json",
    )
    assert code == 0
    d = json.loads(out)
    # 51 umol/L = 2.98 mg/dL: below 3 x ULN; fluconazole 200 mg/day caps at 5 mg BID
    assert (d["action"], d["daily_total_mg"]) == ("reduce", 10)
    assert any("acyclovir" in a["text"] for a in d["alerts"])


def test_no_recommendation_exits_zero() -> None:
    code, out = run(
        "dose",
        "--regimen",
        "jakavi-eu-agvhd",
        "--current-dose",
        "10 mg BID",
        "--platelets",
        "150",
        "--anc",
        "2",
        "--age",
        "40",
        "--json",
    )
    assert code == 0
    assert json.loads(out)["action"] == "no_recommendation"


@pytest.mark.parametrize(
    "bad", [["--platelets", "lots"], ["--current-dose", "five mg"], ["--drug", "fluconazole:a lot"]]
)
def test_unusable_input_exits_1_with_a_message(bad: list[str]) -> None:
    code, out = run("dose", "--regimen", "sarmiento-2021-covid", "--day", "3", *bad)
    assert code == 1
    assert "error" in out


def test_unknown_regimen_exits_1() -> None:
    code, out = run("dose", "--regimen", "nope", "--day", "3")
    assert code == 1 and "unknown regimen" in out


def test_bedside_panel_shows_dose_why_and_sources() -> None:
    code, out = run(
        "dose",
        "--regimen",
        "sarmiento-2021-covid",
        "--day",
        "3",
        "--platelets",
        "40",
        "--anc",
        "2",
        "--crcl",
        "80",
        "--not-ventilated",
    )
    assert code == 0
    assert "DISCONTINUE" in out and "transfusion" in out and "S1, Methods" in out


@pytest.fixture
def db(tmp_path: Path) -> str:
    from ruxtrack.store import open_store

    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    b = TimelineBuilder().event("rux_start", 0).rux(10, "BID", 0, 9).rux(5, "BID", 10, None)
    b.cbc(0, 150, 3).cbc(10, 18, 3).cbc(12, 18, 3)
    store = open_store(url)
    try:
        store.import_timelines([b.build()])
    finally:
        store.close()
    return url


def test_dose_from_the_store(db: str) -> None:
    code, out = run(
        "dose",
        "--regimen",
        "jakavi-eu-cgvhd",
        "--patient",
        "P1",
        "--date",
        "2020-05-13",
        "--bilirubin-uln",
        "20umol/L",
        "--db",
        db,
        "--json",
    )
    assert code == 0, out
    d = json.loads(out)
    assert d["patient_id"] == "P1" and (d["action"], d["daily_total_mg"]) == ("continue", 10)


def test_replay_and_audit_from_the_store(db: str) -> None:
    code, out = run(
        "replay",
        "--patient",
        "P1",
        "--regimen",
        "jakavi-eu-cgvhd",
        "--bilirubin-uln",
        "20umol/L",
        "--db",
        db,
        "--json",
    )
    assert code == 0, out
    assert json.loads(out)["summary"]
    code, out = run(
        "audit", "--regimen", "jakavi-eu-cgvhd", "--bilirubin-uln", "20umol/L", "--db", db, "--json"
    )
    assert code == 0, out
    a = json.loads(out)
    assert a["patients"] == 1 and sum(a["by_category"].values()) == a["patient_days"]
    assert a["deviating_days"] == len(a["deviations"])


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.sqlite'}"
    code, out = run("demo", "--db", url)
    assert code == 0, out
    return url


def test_replay_groups_alike_days_into_episodes_and_days_shows_each(demo_db: str) -> None:
    args = ("replay", "--patient", "TOMOMASA-2021", "--regimen", "jakavi-eu-agvhd", "--db", demo_db)
    code, out = run(*args)
    assert code == 0, out
    assert "days 74–130 after hsct#2 (treatment days 1–57) (57 days): recorded 20 mg/day" in out
    assert "2000-" not in out  # the nominal date of a relative timeline is never shown
    code, every = run(*args, "--days")
    assert code == 0
    assert "hsct#2+74d" in every and "hsct#2+130d" in every and "2000-" not in every
    code, js = run(*args, "--json")
    assert code == 0 and "2000-" not in js
    assert json.loads(js)["days"][0]["time"] == "hsct#2+74d"


def test_dose_on_a_relative_patient_takes_a_relative_day(demo_db: str) -> None:
    base = ("dose", "--regimen", "jakavi-eu-agvhd", "--patient", "TOMOMASA-2021", "--db", demo_db)
    code, out = run(*base, "--date", "hsct#2+131d", "--json")
    assert code == 0, out
    d = json.loads(out)
    assert d["date"] is None and d["time"] == "hsct#2+131d" and d["time_basis"] == "relative"
    assert "2000-" not in out
    code, out = run(*base, "--date", "2020-05-01")
    assert code == 1 and "relative to hsct#2" in out and "hsct#2+131d" in out


def test_dose_before_the_course_counts_days_to_day_1(demo_db: str) -> None:
    code, out = run(
        "dose", "--regimen", "sarmiento-2021-covid", "--patient", "SYN-003", "--date",
        "2020-05-01", "--db", demo_db, "--json",
    )  # fmt: skip
    assert code == 0, out
    d = json.loads(out)
    assert d["day"] == -60 and d["action"] == "no_recommendation"
    assert any("60 days before day 1 of the course (day 1 = 2020-06-30" in a["text"]
               for a in d["alerts"])  # fmt: skip
    code, out = run(
        "dose", "--regimen", "sarmiento-2021-covid", "--patient", "SYN-003", "--date",
        "2020-07-03", "--db", demo_db,
    )  # fmt: skip
    assert code == 0 and "course day 4" in out
    assert "age_years" not in out  # eligibility is not shown once the course runs
    code, out = run(
        "dose", "--regimen", "sarmiento-2021-covid", "--patient", "SYN-003", "--date",
        "2020-06-30", "--db", demo_db,
    )  # fmt: skip
    import re

    assert re.search(r"age_years=60\.0\d? a", out), out  # rounded for people, not 60.0301...
    assert not re.search(r"age_years=\d+\.\d{3,}", out)


def test_audit_of_the_demo_cohort_is_mostly_adherent(demo_db: str) -> None:
    code, out = run("audit", "--regimen", "sarmiento-2021-covid", "--db", demo_db, "--json")
    assert code == 0, out
    a = json.loads(out)
    assert a["patients"] == 18
    assert [o["patient_id"] for o in a["outside_population"]] == ["TOMOMASA-2021"]
    assert "given_after_completion" not in a["by_category"]
    assert a["by_category"]["agrees"] > 0.9 * a["patient_days"]
    code, out = run("audit", "--regimen", "sarmiento-2021-covid", "--db", demo_db)
    assert code == 0 and "Patient-days by category" in out and "Patient-days by finding" in out
