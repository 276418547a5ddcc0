"""SMART App Launch 2.2 against a loopback authorization server and FHIR server."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cds_helpers import bundle_resources
from litestar.testing import TestClient
from loopback import EhrState, LoopbackEhr

from ruxtrack.web.smart import SmartSettings, create_smart_app

APP = "http://testserver.local"


@pytest.fixture
def ehr_server() -> Any:
    state = EhrState(
        resources=bundle_resources(),
        launch_patient={"xyz123": "covid-day3"},
        standalone_patient="covid-day3",
        redirect_uris=(f"{APP}/smart/callback",),
    )
    with LoopbackEhr(state) as server:
        yield server


def _app(server: LoopbackEhr) -> Any:
    return create_smart_app(SmartSettings(client_id="ruxtrack", issuers=[server.fhir]))


def _authorize(location: str) -> str:
    """What the browser does at the authorization server: follow to the redirect URI."""
    resp = httpx.get(location, follow_redirects=False)
    assert resp.status_code == 302, resp.text
    return resp.headers["location"]


def test_ehr_launch_with_pkce_opens_the_patient_in_context(ehr_server: LoopbackEhr) -> None:
    st = ehr_server.state
    with TestClient(_app(ehr_server), base_url=APP) as c:
        r = c.get(
            "/smart/launch",
            params={"iss": ehr_server.fhir, "launch": "xyz123"},
            follow_redirects=False,
        )
        assert r.status_code == 302
        auth = r.headers["location"]
        assert auth.startswith(f"{ehr_server.base}/auth/authorize?")
        q = {k: v[0] for k, v in parse_qs(urlsplit(auth).query).items()}
        assert q["response_type"] == "code" and q["client_id"] == "ruxtrack"
        assert q["launch"] == "xyz123" and "launch" in q["scope"].split()
        assert q["aud"] == ehr_server.fhir
        assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) >= 43
        assert len(q["state"]) >= 20  # >= 122 bits of entropy
        back = _authorize(auth)
        r = c.get(back.removeprefix(APP), follow_redirects=False)
        assert r.status_code == 302, r.text
        assert r.headers["location"] == "/patients/covid-day3"
        page = c.get("/patients/covid-day3").json()
        assert page == {"patient": "covid-day3", "in_context": "covid-day3"}
    # the verifier matched the challenge at the token endpoint, and the FHIR read used the token
    assert ("POST", "/auth/token", None) in st.requests
    assert ("GET", "/fhir/Patient/covid-day3", f"Bearer {st.access_token}") in st.requests
    assert any(p == "/fhir/.well-known/smart-configuration" for _, p, _ in st.requests)


def test_standalone_launch_asks_for_a_patient_context(ehr_server: LoopbackEhr) -> None:
    with TestClient(_app(ehr_server), base_url=APP) as c:
        r = c.get("/smart/standalone", follow_redirects=False)
        q = {k: v[0] for k, v in parse_qs(urlsplit(r.headers["location"]).query).items()}
        assert "launch" not in q and "launch/patient" in q["scope"].split()
        r = c.get(_authorize(r.headers["location"]).removeprefix(APP), follow_redirects=False)
        assert r.headers["location"] == "/patients/covid-day3"


def test_state_is_checked_and_single_use(ehr_server: LoopbackEhr) -> None:
    with TestClient(_app(ehr_server), base_url=APP) as c:
        r = c.get(
            "/smart/launch",
            params={"iss": ehr_server.fhir, "launch": "xyz123"},
            follow_redirects=False,
        )
        back = _authorize(r.headers["location"])
        code = parse_qs(urlsplit(back).query)["code"][0]
        forged = c.get("/smart/callback", params={"code": code, "state": "forged"})
        assert forged.status_code == 400
        ok = c.get(back.removeprefix(APP), follow_redirects=False)
        assert ok.status_code == 302
        again = c.get(back.removeprefix(APP), follow_redirects=False)
        assert again.status_code == 400  # state used once


def test_unregistered_iss_is_refused_before_any_request(ehr_server: LoopbackEhr) -> None:
    with TestClient(_app(ehr_server), base_url=APP) as c:
        r = c.get("/smart/launch", params={"iss": "https://evil.example/fhir", "launch": "x"})
    assert r.status_code == 400
    assert ehr_server.state.requests == []


def test_a_code_without_the_right_verifier_is_refused(ehr_server: LoopbackEhr) -> None:
    st = ehr_server.state
    with TestClient(_app(ehr_server), base_url=APP) as c:
        r = c.get(
            "/smart/launch",
            params={"iss": ehr_server.fhir, "launch": "xyz123"},
            follow_redirects=False,
        )
        back = _authorize(r.headers["location"])
        code = parse_qs(urlsplit(back).query)["code"][0]
    # an attacker holding the code but not the verifier
    bad = base64.urlsafe_b64encode(hashlib.sha256(b"guess").digest()).decode()
    resp = httpx.post(
        f"{ehr_server.base}/auth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": "ruxtrack",
            "redirect_uri": f"{APP}/smart/callback",
            "code_verifier": bad,
        },
    )
    assert resp.status_code == 400
    assert st.codes == {}  # the code is spent either way
