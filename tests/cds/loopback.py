"""A small EHR on loopback for the tests: FHIR server, SMART authorization server, JWKS.

One ThreadingHTTPServer on 127.0.0.1 (random port), no network. It records what it was asked
(paths, bearer tokens, PKCE parameters) so tests can check what the service sent.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit


@dataclass
class EhrState:
    resources: list[dict[str, Any]] = field(default_factory=list)
    access_token: str = "fhir-token-" + secrets.token_hex(8)
    jwks: dict[str, Any] | None = None
    launch_patient: dict[str, str] = field(default_factory=dict)  # launch id -> patient id
    standalone_patient: str | None = None
    client_id: str = "ruxtrack"
    redirect_uris: tuple[str, ...] = ()
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    authorize_params: list[dict[str, str]] = field(default_factory=list)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    fail_fhir: bool = False


def _search(state: EhrState, rtype: str, query: dict[str, list[str]]) -> dict[str, Any]:
    patient = (query.get("patient") or [None])[0]
    codes = {c.split("|")[-1] for v in query.get("code", []) for c in v.split(",")}
    out = []
    for r in state.resources:
        if r["resourceType"] != rtype:
            continue
        ref = (r.get("subject") or r.get("patient") or {}).get("reference", "")
        if patient is not None and ref != f"Patient/{patient}":
            continue
        if codes and not {c["code"] for c in r.get("code", {}).get("coding", [])} & codes:
            continue
        out.append({"resource": r})
    return {"resourceType": "Bundle", "type": "searchset", "total": len(out), "entry": out}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: Any) -> None:  # quiet
        return

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        st = self.server.state
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        st.requests.append(("GET", self.path, self.headers.get("Authorization")))
        base = self.server.base
        if parts.path == "/fhir/.well-known/smart-configuration":
            self._send(
                200,
                {
                    "issuer": f"{base}/auth",
                    "authorization_endpoint": f"{base}/auth/authorize",
                    "token_endpoint": f"{base}/auth/token",
                    "capabilities": [
                        "launch-ehr",
                        "launch-standalone",
                        "client-public",
                        "context-ehr-patient",
                        "context-standalone-patient",
                        "permission-v2",
                    ],
                    "code_challenge_methods_supported": ["S256"],
                    "scopes_supported": [
                        "openid",
                        "fhirUser",
                        "launch",
                        "launch/patient",
                        "patient/*.rs",
                    ],
                    "response_types_supported": ["code"],
                },
            )
            return
        if parts.path == "/jwks" and st.jwks is not None:
            self._send(200, st.jwks)
            return
        if parts.path == "/auth/authorize":
            self._authorize({k: v[0] for k, v in query.items()})
            return
        if parts.path.startswith("/fhir/"):
            if self.headers.get("Authorization") != f"Bearer {st.access_token}":
                self._send(
                    401,
                    {
                        "resourceType": "OperationOutcome",
                        "issue": [{"severity": "error", "code": "login"}],
                    },
                )
                return
            if st.fail_fhir:
                self._send(
                    500,
                    {
                        "resourceType": "OperationOutcome",
                        "issue": [{"severity": "fatal", "code": "exception"}],
                    },
                )
                return
            path = parts.path.removeprefix("/fhir/").strip("/").split("/")
            if len(path) == 2:
                hit = next(
                    (
                        r
                        for r in st.resources
                        if r["resourceType"] == path[0] and r.get("id") == path[1]
                    ),
                    None,
                )
                self._send(
                    200 if hit else 404,
                    hit or {"resourceType": "OperationOutcome", "issue": [{"code": "not-found"}]},
                )
                return
            self._send(200, _search(st, path[0], query))
            return
        self._send(404, {"error": "not found"})

    def _authorize(self, p: dict[str, str]) -> None:
        st = self.server.state
        st.authorize_params.append(p)
        redirect = p.get("redirect_uri", "")
        ok = (
            p.get("response_type") == "code"
            and p.get("client_id") == st.client_id
            and redirect in st.redirect_uris
            and p.get("code_challenge_method") == "S256"
            and p.get("code_challenge")
            and p.get("state")
            and p.get("aud") == f"{self.server.base}/fhir"
        )
        if not ok:
            self._send(400, {"error": "invalid_request"})
            return
        if "launch" in p:
            patient = st.launch_patient.get(p["launch"])
        else:
            patient = st.standalone_patient if "launch/patient" in p.get("scope", "") else None
        code = secrets.token_urlsafe(16)
        st.codes[code] = {
            "challenge": p["code_challenge"],
            "redirect_uri": redirect,
            "patient": patient or "",
            "scope": p.get("scope", ""),
        }
        self._send(
            302, None, {"Location": f"{redirect}?{urlencode({'code': code, 'state': p['state']})}"}
        )

    def do_POST(self) -> None:
        st = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        st.requests.append(("POST", self.path, None))
        if self.path != "/auth/token":
            self._send(404, {"error": "not found"})
            return
        grant = st.codes.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if (
            grant is None
            or form.get("grant_type") != "authorization_code"
            or form.get("client_id") != st.client_id
            or form.get("redirect_uri") != grant["redirect_uri"]
            or challenge.rstrip(b"=").decode() != grant["challenge"]
        ):
            self._send(400, {"error": "invalid_grant"})
            return
        body = {
            "access_token": st.access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": grant["scope"],
        }
        if grant["patient"]:
            body["patient"] = grant["patient"]
        self._send(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: EhrState
    base: str


class LoopbackEhr:
    """Start with ``with LoopbackEhr(state) as ehr:``; ``ehr.base`` is its root URL."""

    def __init__(self, state: EhrState | None = None) -> None:
        self.state = state or EhrState()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = self.state
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._server.base = self.base
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def fhir(self) -> str:
        return f"{self.base}/fhir"

    def __enter__(self) -> LoopbackEhr:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
