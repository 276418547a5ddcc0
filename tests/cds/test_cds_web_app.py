"""The CDS services, SMART routes and card preview mounted in the web app (``create_app``)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("RUXTRACK_ARGON2_PROFILE", "test")

from cds_helpers import DATA, DAY3, ISS, Ehr, order_select, rux_draft
from litestar.testing import TestClient

from ruxtrack.cds import CdsSettings, TrustedIssuer, check_response
from ruxtrack.store import Store, open_store
from ruxtrack.web import _accounts as accounts
from ruxtrack.web import create_app
from ruxtrack.web.cds import CdsWebSettings
from ruxtrack.web.cds._mount import configure_cds

BASE = "http://127.0.0.1"
PW = "pw-clinician-correct-horse"


def _create_clinician(store: Store) -> None:
    """Through ruxtrack.accounts when the store lane's module is present, else the web's."""
    import importlib

    try:
        real = importlib.import_module("ruxtrack.accounts")
    except ModuleNotFoundError:
        accounts.create_user(store, "dr-a", "clinician", PW)
    else:
        real.create_user(store, "dr-a", "clinician", PW)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    from ruxtrack.sources.fhir import read_fhir

    path = tmp_path_factory.mktemp("cdsweb") / "s.sqlite"
    s = open_store(f"sqlite:///{path}")
    result = read_fhir(DATA / "covid-day3-platelets45.json")
    assert result.problems == []
    s.import_timelines(result.timelines)
    _create_clinician(s)
    yield s
    s.close()


@pytest.fixture
def web(store: Store, ehr: Ehr) -> Iterator[TestClient[Any]]:
    configure_cds(
        CdsWebSettings(
            issuers=[TrustedIssuer(iss=ISS, jwks=ehr.jwks)],
            public_url=BASE,
            engine=CdsSettings(clock=lambda: DAY3),
        )
    )
    with TestClient(create_app(store=store), base_url=BASE) as c:
        yield c
    configure_cds()


def _auth(ehr: Ehr, path: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {ehr.token(BASE + path)}"}


def sign_in(c: TestClient[Any]) -> None:
    page = c.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    r = c.post(
        "/login",
        data={"username": "dr-a", "password": PW, "_csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code in (302, 303)


def test_mounted_order_check_gives_the_critical_card(web: Any, ehr: Ehr) -> None:
    path = "/cds-services/ruxolitinib-order-check"
    assert web.get("/cds-services", headers=_auth(ehr, "/cds-services")).status_code == 200
    resp = web.post(path, json=order_select(rux_draft()), headers=_auth(ehr, path))
    assert resp.status_code == 200
    assert check_response(resp.json()) == []
    assert resp.json()["cards"][0]["indicator"] == "critical"


def test_mounted_routes_answer_a_bare_401_not_a_csrf_403(web: Any) -> None:
    resp = web.post("/cds-services/ruxolitinib-order-check", json=order_select(rux_draft()))
    assert resp.status_code == 401
    assert resp.content == b""


def test_feedback_lands_in_the_stores_audit_log(web: Any, ehr: Ehr, store: Store) -> None:
    path = "/cds-services/ruxolitinib-order-check"
    card = web.post(path, json=order_select(rux_draft()), headers=_auth(ehr, path)).json()["cards"][
        0
    ]
    fb = f"{path}/feedback"
    body = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "overridden",
                "overrideReason": {
                    "reason": {
                        "code": "cds-not-applicable",
                        "system": card["overrideReasons"][0]["system"],
                    }
                },
                "outcomeTimestamp": "2021-03-03T13:05:00Z",
            }
        ]
    }
    assert web.post(fb, json=body, headers=_auth(ehr, fb)).status_code == 200
    entries = _audit_entries(store)
    mine = [e for e in entries if _field(e, "action") == "cds.feedback"]
    assert mine, entries[-3:]
    assert _field(mine[-1], "patient_id") == "covid-day3"
    assert _field(mine[-1], "actor") == f"cds-client:{ISS}"


def _audit_entries(store: Store) -> list[Any]:
    """The store's audit log (ruxtrack.store.audit_entries), or the web app's interim one."""
    import ruxtrack.store

    reader = getattr(ruxtrack.store, "audit_entries", None)
    if reader is not None:
        return list(reader(store))
    return list(accounts.accounts_module().audit_entries(store))


def _field(entry: Any, name: str) -> Any:
    return entry[name] if isinstance(entry, dict) else getattr(entry, name)


def test_card_preview_page_shows_the_cards(web: Any) -> None:
    sign_in(web)
    r = web.get(
        "/patients/covid-day3/cds-preview",
        params={"on": "2021-03-03", "dose": "10", "per_day": "2"},
    )
    assert r.status_code == 200, r.text[:500]
    assert 'class="cds-card cds-critical"' in r.text
    assert "Protocol advises discontinuing ruxolitinib today" in r.text
    assert "if &lt;50,000 cells/μL, treatment was discontinued" in r.text


def test_card_preview_needs_a_signed_in_clinician(web: Any) -> None:
    r = web.get("/patients/covid-day3/cds-preview", follow_redirects=False)
    assert r.status_code in (302, 303, 401)


@pytest.mark.browser
def test_card_preview_screenshot(store: Store, ehr: Ehr, tmp_path: Path) -> None:
    """Render the preview in Debian chromium and keep the picture for docs/cds-hooks.md."""
    import threading
    import time

    import uvicorn
    from playwright.sync_api import sync_playwright

    configure_cds()
    config = uvicorn.Config(create_app(store=store), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    keep = os.environ.get("RUXTRACK_UPDATE_SCREENSHOTS") == "1"
    out = (
        Path(__file__).parents[2] / "docs" / "images" if keep else tmp_path
    ) / "cds-card-preview.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1200, "height": 1100})
            base = f"http://127.0.0.1:{port}"
            page.goto(f"{base}/login")
            page.fill("input[name=username]", "dr-a")
            page.fill("input[name=password]", PW)
            page.click("button[type=submit]")
            page.wait_for_load_state()
            page.goto(f"{base}/patients/covid-day3/cds-preview?on=2021-03-03&dose=10&per_day=2")
            card = page.locator("[data-testid=cds-card]").first
            assert "critical" in (card.get_attribute("class") or "")
            assert (
                card.locator(".cds-summary")
                .inner_text()
                .startswith("Protocol advises discontinuing ruxolitinib today")
            )
            page.screenshot(path=str(out), full_page=True)
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert out.stat().st_size > 10_000
