"""Sessions, CSRF, headers, idle timeout, lockout, logs."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from litestar.testing import TestClient

from ruxtrack import accounts
from ruxtrack.store import Store
from ruxtrack.web import WebSettings, create_app

from .conftest import PASSWORDS, csrf_of, sign_in


def test_session_id_rotated_at_sign_in(client: TestClient[Any]) -> None:
    client.get("/login")
    # Give the anonymous visitor a session first (as a fixation attacker would).
    client.cookies.set("ruxtrack_session", "attacker-chosen-id", domain="127.0.0.1")
    before = client.cookies.get("ruxtrack_session")
    r = sign_in(client, "clinician")
    assert r.status_code in (302, 303)
    after = client.cookies.get("ruxtrack_session")
    assert after and after != before
    assert client.get("/patients").status_code == 200
    # the pre-sign-in id is not a session
    with TestClient(client.app, base_url="http://127.0.0.1") as other:
        other.cookies.set("ruxtrack_session", before or "", domain="127.0.0.1")
        assert other.get("/patients", follow_redirects=False).status_code in (302, 303)


def test_second_sign_in_gets_another_id(client: TestClient[Any]) -> None:
    sign_in(client, "clinician")
    first = client.cookies.get("ruxtrack_session")
    sign_in(client, "clinician")
    assert client.cookies.get("ruxtrack_session") != first


def test_form_without_csrf_token_is_refused(client: TestClient[Any]) -> None:
    client.get("/login")
    r = client.post(
        "/login", data={"username": "user-clinician", "password": PASSWORDS["clinician"]}
    )
    assert r.status_code == 403


def test_form_with_wrong_csrf_token_is_refused(client: TestClient[Any]) -> None:
    sign_in(client, "clinician")
    r = client.post(
        "/patients/SYN-007/labs",
        data={
            "code": "plt",
            "value": "40",
            "unit": "10*9/L",
            "time": "2020-05-10",
            "_csrf_token": "forged",
        },
    )
    assert r.status_code == 403


def test_htmx_post_without_csrf_header_is_refused(client: TestClient[Any]) -> None:
    sign_in(client, "clinician")
    r = client.post(
        "/patients/SYN-007/what-if",
        data={"code": "plt", "value": "40", "unit": "10*9/L", "regimen": "sarmiento-2021-covid"},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 403


def test_security_headers_on_every_response(client: TestClient[Any]) -> None:
    for path in ("/login", "/static/app.css", "/openapi.json", "/patients"):
        r = client.get(path, follow_redirects=False)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "style-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
    assert "strict-transport-security" not in r.headers  # plain http on loopback


def test_hsts_when_served_over_tls(store: Store) -> None:
    with TestClient(create_app(store=store), base_url="https://127.0.0.1") as c:
        assert "max-age" in c.get("/login").headers["strict-transport-security"]


def test_session_cookie_flags(client: TestClient[Any]) -> None:
    client.get("/login")
    r = sign_in(client, "clinician")
    cookie = next(
        v for k, v in r.headers.multi_items() if k == "set-cookie" and "ruxtrack_session" in v
    )
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")


def test_idle_session_ends(store: Store) -> None:
    app = create_app(store=store, settings=WebSettings(idle_timeout_s=1))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        sign_in(c, "clinician")
        assert c.get("/patients").status_code == 200
        time.sleep(1.3)
        r = c.get("/patients", follow_redirects=False)
        assert r.status_code in (302, 303) and r.headers["location"] == "/login"
        assert c.get("/api/me").status_code == 401


def test_lockout_after_repeated_failures(store: Store) -> None:
    accounts.create_user(store, "lock-me", "clinician", "right-password-1")
    with TestClient(create_app(store=store), base_url="http://127.0.0.1") as c:
        for _ in range(5):
            page = c.get("/login")
            r = c.post(
                "/login",
                data={
                    "username": "lock-me",
                    "password": "wrong",
                    "_csrf_token": csrf_of(page.text),
                },
            )
            assert r.status_code == 401
        page = c.get("/login")
        r = c.post(
            "/login",
            data={
                "username": "lock-me",
                "password": "right-password-1",
                "_csrf_token": csrf_of(page.text),
            },
            follow_redirects=False,
        )
        assert r.status_code == 401
        assert "locked" in r.text


def test_bearer_token_never_falls_back_to_the_session(client: TestClient[Any]) -> None:
    sign_in(client, "clinician")
    assert client.get("/api/me").status_code == 200
    r = client.get("/api/me", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401


def test_no_password_or_token_in_logs(
    client: TestClient[Any], tokens: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sign_in(client, "clinician")
    sign_in(client, "admin", password="wrong-password-x")
    client.get("/api/patients", headers={"Authorization": f"Bearer {tokens['clinician']}"})
    text = caplog.text
    assert PASSWORDS["clinician"] not in text
    assert "wrong-password-x" not in text
    assert tokens["clinician"] not in text


def test_sign_out_ends_the_session(client: TestClient[Any]) -> None:
    sign_in(client, "clinician")
    page = client.get("/patients")
    r = client.post("/logout", data={"_csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code in (302, 303)
    assert client.get("/patients", follow_redirects=False).status_code in (302, 303)


def test_disabling_an_account_ends_its_sessions(store: Store) -> None:
    accounts.create_user(store, "to-disable", "clinician", "another-password-1")
    with TestClient(create_app(store=store), base_url="http://127.0.0.1") as c:
        page = c.get("/login")
        c.post(
            "/login",
            data={
                "username": "to-disable",
                "password": "another-password-1",
                "_csrf_token": csrf_of(page.text),
            },
        )
        assert c.get("/patients").status_code == 200
        accounts.disable_user(store, "to-disable")
        r = c.get("/patients", follow_redirects=False)
        assert r.status_code in (302, 303) and r.headers["location"] == "/login"
