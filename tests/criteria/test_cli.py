"""``ruxtrack criteria`` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ruxtrack.cli import app
from ruxtrack.demo import demo_dataset
from ruxtrack.sources import read_folder
from ruxtrack.store import open_store

runner = CliRunner()
SEED = {
    "fever": True,
    "splenomegaly": True,
    "pancytopenia": True,
    "tg": "5180 mg/dL",
    "hemophagocytosis": True,
    "ferritin": {"value": 17509, "unit": "ng/mL"},
}


def test_list_shows_every_criterion_with_its_source() -> None:
    r = runner.invoke(app, ["criteria", "--list", "--json"])
    assert r.exit_code == 0
    ids = {c["id"] for c in json.loads(r.stdout)}
    assert {
        "hlh2004",
        "hscore",
        "ctcae",
        "magic_agvhd",
        "ips",
        "who_cps",
        "who_severity",
        "cockcroft_gault",
        "schwartz_bedside",
        "ckd_epi_2021",
        "mosteller_bsa",
        "steroid_equivalent",
    } <= ids


def test_input_json_output_has_the_documented_keys(tmp_path: Path) -> None:
    f = tmp_path / "in.json"
    f.write_text(json.dumps(SEED))
    r = runner.invoke(app, ["criteria", "hlh2004", "--input", str(f), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert {"id", "total", "value", "unit", "components", "conclusion", "probability"} <= set(out)
    assert (out["id"], out["total"], out["conclusion"]) == ("hlh2004", 6, "established")
    assert {"name", "status", "value"} <= set(out["components"][0])


def test_stdin_input_and_hscore_probability() -> None:
    inputs = {"temp": "39 Cel", "ferritin": "7000 ug/L", "tg": "5 mmol/L"}
    r = runner.invoke(
        app, ["criteria", "hscore", "--input", "-", "--json"], input=json.dumps(inputs)
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["conclusion"] == "undecidable"  # exit 0 even when undecidable
    assert out["probability"]["mapping"].startswith("MDCalc")
    assert out["components"][1]["points"] == 33


def test_human_output_is_a_table_with_components_and_sources(tmp_path: Path) -> None:
    f = tmp_path / "in.json"
    f.write_text(json.dumps(SEED))
    r = runner.invoke(app, ["criteria", "hlh2004", "--input", str(f)])
    assert r.exit_code == 0
    for text in (
        "established",
        "Ferritin",
        "unknown",
        "not computed from counts",
        "Henter JI",
        "[henter2007]",
    ):
        assert text in " ".join(r.stdout.split()), text  # prose wraps at 80 columns


@pytest.mark.parametrize(
    ("payload", "key"),
    [
        ({"ferritn": "10 ug/L"}, "ferritn"),
        ({"ferritin": "10 furlongs"}, "ferritin"),
        ({"fever": "maybe"}, "fever"),
    ],
)
def test_unusable_input_exits_1_naming_the_key(payload: dict[str, str], key: str) -> None:
    r = runner.invoke(app, ["criteria", "hlh2004", "--input", "-"], input=json.dumps(payload))
    assert r.exit_code == 1
    assert f"`{key}`" in r.output


def test_describe_lists_keys_and_units() -> None:
    r = runner.invoke(app, ["criteria", "hlh2004", "--describe", "--json"])
    assert r.exit_code == 0
    keys = {i["key"]: i for i in json.loads(r.stdout)["inputs"]}
    assert keys["ferritin"]["unit"] == "ug/L" and keys["fever"]["kind"] == "bool"
    human = runner.invoke(app, ["criteria", "magic_agvhd", "--describe"])
    assert "stool_volume" in human.stdout


def test_unknown_criterion_exits_1() -> None:
    r = runner.invoke(app, ["criteria", "hlh2005", "--describe"])
    assert r.exit_code == 1 and "hlh2004" in r.output


def test_patient_from_the_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    with open_store(url) as store:
        store.import_timelines(read_folder(demo_dataset("tomomasa-2021")))
    r = runner.invoke(
        app,
        [
            "criteria",
            "hlh2004",
            "--patient",
            "TOMOMASA-2021",
            "--at",
            "hsct#2+74d",
            "--db",
            url,
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert (out["total"], out["conclusion"], out["at"]) == (6, "established", "hsct#2+74d")
    w = runner.invoke(
        app,
        [
            "criteria",
            "ctcae",
            "--patient",
            "TOMOMASA-2021",
            "--window-start",
            "hsct#2+74d",
            "--window-end",
            "hsct#2+131d",
            "--worst",
            "--db",
            url,
            "--json",
        ],
    )
    assert w.exit_code == 0, w.output
    grades = {c["name"]: c.get("grade") for c in json.loads(w.stdout)["components"]}
    assert grades["anemia"] == 3 and grades["neutrophil_count_decreased"] == 3
    missing = runner.invoke(app, ["criteria", "hlh2004", "--patient", "NOPE", "--db", url])
    assert missing.exit_code == 1
