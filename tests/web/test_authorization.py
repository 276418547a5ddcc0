"""Authorization matrix: every endpoint x anonymous and every role.

Every route except the public ones below carries one role guard; anonymous callers are sent to
sign in (pages) or get 401 (API), callers with another role get 403, callers with an allowed
role get past the guard (any status but 401/403).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from .conftest import ROLES, csrf_of

#: Routes open to anyone, with the reason.
PUBLIC = {
    "/login": "the sign-in form",
    "/openapi.json": "describes the API, holds no data",
    "/healthz": "liveness probe, no data",
    "/schema": "the OpenAPI document under Litestar's path",
    "/schema/openapi.json": "the OpenAPI document under Litestar's path",
    "/schema/{path:str}": "the OpenAPI document under Litestar's path",
    "/static/{file_path:path}": "CSS and JavaScript",
    # EHR-facing routes: not behind a web session or an API token but behind the EHR's own
    # credentials, checked in test_ehr_facing_routes_refuse_anonymous_callers below.
    "/cds-services": "CDS Hooks discovery: the EHR's signed JWT, as every CDS Hooks call",
    "/cds-services/{service_id:str}": "CDS Hooks call: the EHR's signed JWT (401 without)",
    "/cds-services/{service_id:str}/feedback": "CDS Hooks feedback: the EHR's signed JWT",
    "/smart/launch": "SMART EHR launch: only allow-listed FHIR servers, then OAuth 2 + PKCE",
    "/smart/standalone": "SMART standalone launch: OAuth 2 + PKCE against a configured server",
    "/smart/callback": "SMART OAuth 2 redirect: a single-use state and the PKCE verifier",
}
#: Values for path parameters: real ones where the endpoint needs them to get past routing.
PARAMS = {
    "patient_id": "SYN-007",
    "entry": "labs",
    "run_id": "no-such-run",
    "name": "no-such-user",
    "quantity": "incidence",
    "study": "no-such-study",
    "criterion": "hlh2004",
    "kind": "observations",
    "seq": "999999",
}
QUERY = {
    "/api/patients/{patient_id:str}/decision": "?regimen=sarmiento-2021-covid&date=2020-05-10",
    "/api/patients/{patient_id:str}/replay": "?regimen=sarmiento-2021-covid",
    "/patients/{patient_id:str}/dose-card": "?regimen=sarmiento-2021-covid",
    "/patients/{patient_id:str}/replay": "?regimen=sarmiento-2021-covid",
}


def _endpoints(app: Litestar) -> list[tuple[str, str, Any]]:
    out = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods:
                if method in ("OPTIONS", "HEAD"):
                    continue
                out.append((route.path, method, handler))
    return out


def _url(path: str) -> str:
    def fill(m: re.Match[str]) -> str:
        return PARAMS[m.group(1)]

    return re.sub(r"\{(\w+)(?::\w+)?\}", fill, path) + QUERY.get(path, "")


def _roles_of(handler: Any) -> tuple[str, ...] | None:
    guards = [getattr(g, "func", g) for g in handler.resolve_guards()]
    roles = [g.roles for g in guards if hasattr(g, "roles")]
    assert len(roles) <= 1, f"{handler} has several role guards"
    return roles[0] if roles else None


def test_every_non_public_endpoint_has_a_role_guard(app: Litestar) -> None:
    missing = [
        f"{m} {p}" for p, m, h in _endpoints(app) if p not in PUBLIC and _roles_of(h) is None
    ]
    assert missing == []
    assert len(_endpoints(app)) > 30


@pytest.fixture(scope="module")
def matrix_app(store: Any) -> Litestar:
    from ruxtrack.web import create_app

    return create_app(store=store)


def _call(c: TestClient[Any], method: str, url: str, headers: dict[str, str]) -> Any:
    if method == "GET":
        return c.get(url, headers=headers, follow_redirects=False)
    if url.startswith("/api/"):
        return c.request(method, url, headers=headers, json={}, follow_redirects=False)
    return c.request(method, url, headers=headers, data={}, follow_redirects=False)


@pytest.mark.parametrize("who", ["anonymous", *ROLES])
def test_authorization_matrix(matrix_app: Litestar, tokens: dict[str, str], who: str) -> None:
    problems = []
    with TestClient(matrix_app, base_url="http://127.0.0.1") as c:
        page = c.get("/login")
        csrf = csrf_of(page.text)
        for path, method, handler in _endpoints(matrix_app):
            if path in PUBLIC:
                continue
            roles = _roles_of(handler)
            assert roles is not None
            headers = {"x-csrftoken": csrf}
            if who != "anonymous":
                headers = {"Authorization": f"Bearer {tokens[who]}"}
            r = _call(c, method, _url(path), headers)
            code = r.status_code
            if who == "anonymous":
                ok = code == 401 or (code in (302, 303) and r.headers.get("location") == "/login")
            elif who in roles:
                ok = code not in (401, 403) and code < 500
            else:
                ok = code == 403
            if not ok:
                problems.append(f"{who}: {method} {_url(path)} -> {code}")
    assert problems == []


def test_researcher_never_sees_a_patient_page(
    client: TestClient[Any], tokens: dict[str, str]
) -> None:
    h = {"Authorization": f"Bearer {tokens['researcher']}"}
    for url in ("/patients", "/patients/SYN-007", "/api/patients", "/api/patients/SYN-007"):
        assert client.get(url, headers=h).status_code == 403


def test_disabled_account_token_is_refused(client: TestClient[Any], store: Any) -> None:
    from ruxtrack import accounts

    accounts.create_user(store, "soon-disabled", "clinician", "some-password-1")
    token = accounts.issue_token(store, "soon-disabled")
    h = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/me", headers=h).status_code == 200
    accounts.disable_user(store, "soon-disabled")
    assert client.get("/api/me", headers=h).status_code == 401


def test_ehr_facing_routes_refuse_anonymous_callers(matrix_app: Litestar) -> None:
    """The public EHR routes give nothing away without the EHR's credentials."""
    with TestClient(matrix_app, base_url="http://127.0.0.1") as c:
        body = {"hook": "order-select", "hookInstance": "x", "context": {}}
        for url in (
            "/cds-services/ruxolitinib-order-check",
            "/cds-services/ruxolitinib-order-check/feedback",
        ):
            r = c.post(url, json=body)
            assert r.status_code == 401, (url, r.status_code)
            assert "SYN-" not in r.text
        discovery = c.get("/cds-services")
        assert discovery.status_code == 401 and "services" not in discovery.text
        for url in (
            "/smart/launch?iss=https://evil.example/fhir&launch=abc",
            "/smart/callback?state=forged&code=abc",
        ):
            r = c.get(url, follow_redirects=False)
            assert r.status_code in (400, 401, 403), (url, r.status_code)
            assert r.headers.get("location") is None or "evil" not in r.headers["location"]
