"""``ruxtrack serve`` options of the CDS services: the trust file and --cds-allow-unsigned."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from cds_helpers import ISS, Ehr

from ruxtrack.errors import KnowledgeFileError
from ruxtrack.web.cds._mount import _cds_state, configure_cds, configure_from_file


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_with_allow_unsigned_says_so_loudly(tmp_path: Path) -> None:
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "ruxtrack",
        "serve",
        "--db",
        f"sqlite:///{tmp_path}/s.sqlite",
        "--port",
        str(port),
        "--cds-allow-unsigned",
    ]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "RUXTRACK_ARGON2_PROFILE": "test"},
    )
    try:
        deadline = time.monotonic() + 60
        resp: Any = None
        while time.monotonic() < deadline:
            try:
                resp = httpx.get(f"http://127.0.0.1:{port}/cds-services", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.3)
        assert resp is not None and resp.status_code == 200
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "CDS HOOKS JWT CHECKS ARE OFF" in err
    assert "LOCAL DEMONSTRATION ONLY" in err.upper()


def test_allow_unsigned_refuses_a_public_interface() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "ruxtrack", "serve", "--host", "0.0.0.0", "--cds-allow-unsigned"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert "local demonstration only" in r.stderr


def test_trust_file_configures_issuers_and_smart(tmp_path: Path, ehr: Ehr) -> None:
    (tmp_path / "ehr-jwks.json").write_text(json.dumps(ehr.jwks))
    trust = tmp_path / "trust.yaml"
    trust.write_text(
        f"public_url: https://rux.example.org\n"
        f"issuers:\n  - iss: {ISS}\n    jwks_file: ehr-jwks.json\n"
        f"  - iss: https://other.example\n    jku: [https://other.example/jwks]\n"
        f"smart:\n  issuers: [https://ehr.example.org/fhir]\n"
    )
    try:
        configure_from_file(str(trust))
        st = _cds_state()
        assert [i.iss for i in st.settings.issuers] == [ISS, "https://other.example"]
        assert st.settings.public_url == "https://rux.example.org"
        assert not st.settings.allow_unsigned
        token = ehr.token("https://rux.example.org/cds-services")
        assert st.verifier.verify(f"Bearer {token}", "https://rux.example.org/cds-services")
    finally:
        configure_cds()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("issuers:\n  - jku: [x]\n", "issuers.0.iss"),
        ("issuers:\n  - iss: https://a\n", "give jku"),
        ("- a\n", "mapping"),
    ],
)
def test_bad_trust_file_names_the_field(tmp_path: Path, text: str, reason: str) -> None:
    trust = tmp_path / "trust.yaml"
    trust.write_text(text)
    with pytest.raises(KnowledgeFileError, match=reason):
        configure_from_file(str(trust))
    configure_cds()
