"""REDCap: the registry project round trip, a site's longitudinal project through a mapping
file, and the PyCap API path against a loopback fake REDCap server."""

from __future__ import annotations

import csv
import filecmp
import http.server
import io
import json
import threading
import urllib.parse
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ruxtrack.cli import app
from ruxtrack.sources import read_source
from ruxtrack.sources.redcap import API_HEADER, fetch_redcap, read_redcap, write_redcap
from ruxtrack.timeline import Timeline

FILES = ("dictionary.csv", "records.csv", "mapping.yaml", "repeating_instruments.csv")


def test_registry_export_is_a_redcap_project(registry_export: Path) -> None:
    header = (registry_export / "dictionary.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("Variable / Field Name,Form Name,Section Header,Field Type")
    records = (registry_export / "records.csv").read_text(encoding="utf-8").splitlines()
    assert records[0].startswith("record_id,redcap_repeat_instrument,redcap_repeat_instance")
    with zipfile.ZipFile(registry_export / "instruments" / "lab.zip") as z:
        assert set(z.namelist()) == {"instrument.csv", "OriginID.txt"}
        assert "lab_code,lab,,dropdown" in z.read("instrument.csv").decode()
    assert "event,Event" in (registry_export / "repeating_instruments.csv").read_text()


def test_round_trip_through_the_store_is_byte_identical(
    tmp_path: Path, registry_export: Path
) -> None:
    db = str(tmp_path / "r.db")
    r = CliRunner().invoke(app, ["import", str(registry_export), "--format", "redcap", "--db", db])
    assert r.exit_code == 0, r.output
    out = tmp_path / "again"
    r = CliRunner().invoke(app, ["export", str(out), "--format", "redcap", "--db", db])
    assert r.exit_code == 0, r.output
    for name in FILES:
        assert filecmp.cmp(registry_export / name, out / name, shallow=False), name


def test_round_trip_keeps_what_the_registry_covers(
    registry_export: Path, demo_timelines: list[Timeline]
) -> None:
    back = {tl.patient.patient_id: tl for tl in read_redcap(registry_export)}
    for tl in demo_timelines:
        got = back[tl.patient.patient_id]
        assert got.patient == tl.patient
        assert [(o.code, o.value, o.unit) for o in got.observations] == [
            (o.code, o.value, o.unit) for o in tl.observations
        ]
        assert [(d.drug, d.dose, d.frequency, d.end is None) for d in got.drugs] == [
            (d.drug, d.dose, d.frequency, d.end is None) for d in tl.drugs
        ]
        assert [tl.at(e.time) for e in tl.events] == [got.at(e.time) for e in got.events]


def test_longitudinal_project_with_repeating_instrument(longitudinal: Path) -> None:
    tls = {tl.patient.patient_id: tl for tl in read_redcap(longitudinal)}
    assert sorted(tls) == ["101", "102"]
    p = tls["101"]
    assert p.patient.sex.value == "male" and p.patient.age_years == 64
    ferritin = [(str(o.time), o.value) for o in p.observations if o.code == "ferritin"]
    assert ferritin == [("2020-04-05", 1850.0), ("2020-04-13", 920.0)]
    crp = [o.value for o in p.observations if o.code == "crp"]
    assert crp == [124.0, 41.0]  # mg/dL read into the catalogue's mg/L
    assert [(d.dose, d.frequency.value) for d in p.drugs] == [(10.0, "BID"), (5.0, "BID")]
    assert str(p.anchor("rux_start")) == "2020-04-05 09:30:00"
    assert [a.value for a in p.assessments] == ["1"]
    assert tls["102"].drugs == ()


def test_api_metadata_header_is_read_too(tmp_path: Path, longitudinal: Path) -> None:
    text = (longitudinal / "dictionary.csv").read_text(encoding="utf-8").splitlines()
    api = ",".join(API_HEADER)
    (longitudinal / "dictionary.csv").write_text(
        "\n".join([api, *text[1:]]) + "\n", encoding="utf-8"
    )
    assert len(read_redcap(longitudinal)) == 2


# -- PyCap against a loopback fake REDCap API ------------------------------------------------

TOKEN = "0123456789ABCDEF0123456789ABCDEF"


@pytest.fixture
def fake_redcap(longitudinal: Path) -> Iterator[tuple[str, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []
    dictionary = (longitudinal / "dictionary.csv").read_text(encoding="utf-8")
    bodies = {
        ("metadata", "csv"): dictionary,
        ("record", "csv"): (longitudinal / "records.csv").read_text(encoding="utf-8"),
        # PyCap reads the field names from the metadata as JSON before exporting records.
        ("metadata", "json"): json.dumps(
            [
                dict(zip(API_HEADER, row, strict=True))
                for row in list(csv.reader(io.StringIO(dictionary)))[1:]
            ]
        ),
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            seen.append(form)
            if form.get("token") != TOKEN:
                self.send_response(403)
                self.end_headers()
                self.wfile.write(b'{"error": "You do not have permissions to use the API"}')
                return
            body = bodies.get((form.get("content", ""), form.get("format", "")), "").encode()
            self.send_response(200 if body else 400)
            self.send_header("Content-Type", "text/csv; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/api/", seen
    finally:
        server.shutdown()
        server.server_close()


def test_pycap_fetch_then_read(
    tmp_path: Path, longitudinal: Path, fake_redcap: tuple[str, list[dict[str, str]]]
) -> None:
    pytest.importorskip("redcap")
    url, seen = fake_redcap
    fetch_redcap(url, TOKEN, tmp_path / "fetched")
    assert {(f["content"], f["format"]) for f in seen} >= {("metadata", "csv"), ("record", "csv")}
    assert all(f["token"] == TOKEN for f in seen)
    (tmp_path / "fetched" / "mapping.yaml").write_bytes(
        (longitudinal / "mapping.yaml").read_bytes()
    )
    result = read_source(str(tmp_path / "fetched"), "redcap")
    assert result.ok and len(result.timelines) == 2


def test_cli_redcap_api_import_reads_the_token_from_the_environment(
    tmp_path: Path, fake_redcap: tuple[str, list[dict[str, str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("redcap")
    url, _ = fake_redcap
    monkeypatch.setenv("RUXTRACK_REDCAP_TOKEN", "X" * 32)  # wrong token: the server refuses
    r = CliRunner().invoke(
        app, ["import", url, "--format", "redcap-api", "--db", str(tmp_path / "x.db")]
    )
    assert r.exit_code == 1
    assert "REDCap API request" in r.output
    assert "X" * 32 not in r.output


def test_write_redcap_refuses_an_unwritable_target(
    tmp_path: Path, demo_timelines: list[Timeline]
) -> None:
    from ruxtrack.sources import ExportError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ExportError):
        write_redcap(demo_timelines[:1], blocker / "sub")
