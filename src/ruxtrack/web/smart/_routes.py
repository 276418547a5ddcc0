"""SMART App Launch 2.2 routes (authlib OAuth 2.0 client with PKCE S256).

The app is a public client. It reads ``{iss}/.well-known/smart-configuration`` (only for an
allow-listed ``iss``), sends the browser to the authorization endpoint with ``state``,
``aud`` = ``iss``, the ``launch`` handle (EHR launch) or ``launch/patient`` (standalone) and a
PKCE challenge, checks ``state`` on return, exchanges the code with the verifier, reads the
Patient in context from the FHIR server with the access token and opens that patient's page.
The access token stays in the server-side session; it is never logged or put in a cookie.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from litestar import Litestar, Request, Response, Router, get
from litestar.response import Redirect

__all__ = ["SmartSettings", "create_smart_app", "smart_router"]

log = logging.getLogger("ruxtrack.smart")
_FLOWS = "smart_flows"
_PUBLIC = "none"  # a public client: no client secret
_MAX_FLOWS = 5


@dataclass
class SmartSettings:
    """The registered client: id, redirect URI, the FHIR servers (``iss``) it may launch from."""

    client_id: str = "ruxtrack"
    issuers: Sequence[str] = ()
    redirect_uri: str | None = None
    scope_ehr: str = "launch openid fhirUser patient/Patient.rs patient/Observation.rs"
    scope_standalone: str = (
        "launch/patient openid fhirUser patient/Patient.rs patient/Observation.rs"
    )
    patient_page: str = "/patients/{patient_id}"
    timeout_s: float = 5.0
    extra: dict[str, Any] = field(default_factory=dict)


class SmartError(Exception):
    """A launch that cannot go on (shown as a 400 page without details of tokens)."""


def _problem(reason: str, status: int = 400) -> Response[Any]:
    log.info("smart launch refused: %s", reason)
    return Response(
        content={"error": "smart_launch", "reason": reason},
        status_code=status,
        media_type="application/json",
    )


async def _smart_configuration(iss: str, timeout_s: float) -> dict[str, Any]:
    import httpx

    url = iss.rstrip("/") + "/.well-known/smart-configuration"
    async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=False) as client:
        resp = await client.get(url, headers={"Accept": "application/json"})
    if resp.status_code != 200:
        raise SmartError(f"{url} answered {resp.status_code}")
    conf = resp.json()
    if not isinstance(conf, dict):
        raise SmartError("smart-configuration is not a JSON object")
    for key in ("authorization_endpoint", "token_endpoint"):
        if not isinstance(conf.get(key), str):
            raise SmartError(f"smart-configuration has no {key}")
    if "S256" not in (conf.get("code_challenge_methods_supported") or []):
        raise SmartError("the server does not support PKCE S256")
    return conf


def smart_router(settings: SmartSettings | Callable[[], SmartSettings] | None = None) -> Router:
    """The launch, standalone and callback routes (``settings`` may be a provider, read at
    each request: the mounted app configures it when ``ruxtrack serve`` starts)."""
    fixed = settings if isinstance(settings, SmartSettings) else None
    provider = settings if callable(settings) else None

    def conf() -> SmartSettings:
        return fixed or (provider() if provider is not None else SmartSettings())

    def redirect_uri(request: Request[Any, Any, Any]) -> str:
        settings = conf()
        return settings.redirect_uri or str(request.base_url).rstrip("/") + "/smart/callback"

    async def begin(request: Request[Any, Any, Any], iss: str, launch: str | None) -> Any:
        from authlib.common.security import generate_token
        from authlib.integrations.httpx_client import AsyncOAuth2Client

        settings = conf()
        iss = iss.rstrip("/")
        if iss not in {i.rstrip("/") for i in settings.issuers}:
            return _problem("this FHIR server (iss) is not registered with ruxtrack")
        try:
            sc = await _smart_configuration(iss, settings.timeout_s)
        except SmartError as exc:
            return _problem(str(exc), 502)
        except Exception as exc:  # the EHR cannot be reached
            return _problem(f"smart-configuration not read ({type(exc).__name__})", 502)
        scope = settings.scope_ehr if launch is not None else settings.scope_standalone
        client = AsyncOAuth2Client(
            client_id=settings.client_id, redirect_uri=redirect_uri(request), scope=scope,
            code_challenge_method="S256", token_endpoint_auth_method=_PUBLIC,
        )  # fmt: skip
        verifier = generate_token(64)
        extra = {"aud": iss}
        if launch is not None:
            extra["launch"] = launch
        url, state = client.create_authorization_url(
            sc["authorization_endpoint"], code_verifier=verifier, **extra
        )
        flows = dict(request.session.get(_FLOWS) or {})
        while len(flows) >= _MAX_FLOWS:
            flows.pop(next(iter(flows)))
        flows[state] = {
            "iss": iss,
            "verifier": verifier,
            "token": sc["token_endpoint"],
            "redirect_uri": redirect_uri(request),
            "started": time.time(),
        }
        request.session[_FLOWS] = flows
        return Redirect(path=url, status_code=302)

    @get("/smart/launch", opt={"exclude_from_auth": True}, include_in_schema=False)
    async def ehr_launch(request: Request[Any, Any, Any]) -> Any:
        """EHR launch: the EHR opens this URL with ``iss`` and ``launch``."""
        iss = request.query_params.get("iss") or ""
        launch = request.query_params.get("launch") or ""
        if not launch or len(launch) > 512:
            return _problem("launch is missing or too long")
        return await begin(request, iss, launch)

    @get("/smart/standalone", opt={"exclude_from_auth": True}, include_in_schema=False)
    async def standalone_launch(request: Request[Any, Any, Any]) -> Any:
        """Standalone launch: from outside the EHR; the server asks for the patient."""
        iss = request.query_params.get("iss")
        if iss is None:
            allowed = conf().issuers
            if len(allowed) != 1:
                return _problem("name the FHIR server: /smart/standalone?iss=...")
            iss = allowed[0]
        return await begin(request, iss, None)

    @get("/smart/callback", opt={"exclude_from_auth": True}, include_in_schema=False)
    async def callback(request: Request[Any, Any, Any]) -> Any:
        """Back from the authorization server: check state, exchange the code, open the patient."""
        state = request.query_params.get("state")
        code = request.query_params.get("code")
        error = request.query_params.get("error")
        from authlib.integrations.httpx_client import AsyncOAuth2Client

        settings = conf()
        flows = dict(request.session.get(_FLOWS) or {})
        flow = flows.pop(state, None) if state else None
        request.session[_FLOWS] = flows
        if flow is None:
            return _problem("unknown or reused state: start the launch again")
        if error is not None or not code:
            return _problem(f"the authorization server refused: {error or 'no code'}")
        client = AsyncOAuth2Client(
            client_id=settings.client_id, redirect_uri=flow["redirect_uri"],
            token_endpoint_auth_method=_PUBLIC, timeout=settings.timeout_s,
        )  # fmt: skip
        try:
            token = await client.fetch_token(
                flow["token"], grant_type="authorization_code", code=code,
                code_verifier=flow["verifier"], redirect_uri=flow["redirect_uri"],
            )  # fmt: skip
        except Exception as exc:
            return _problem(f"the token exchange failed ({type(exc).__name__})", 502)
        patient = token.get("patient")
        if not isinstance(patient, str) or not patient:
            return _problem("no patient in context: launch from a patient's chart")
        try:
            resp = await client.get(f"{flow['iss']}/Patient/{quote(patient, safe='')}")
        except Exception as exc:
            return _problem(f"the FHIR server was not reached ({type(exc).__name__})", 502)
        if resp.status_code != 200 or resp.json().get("id") != patient:
            return _problem("the patient in context could not be read", 502)
        request.session["smart"] = {
            "iss": flow["iss"], "patient": patient, "scope": token.get("scope"),
            "access_token": token.get("access_token"),
            "expires_at": time.time() + float(token.get("expires_in") or 300),
        }  # fmt: skip
        log.info("smart launch: patient in context from %s", flow["iss"])
        return Redirect(
            path=settings.patient_page.format(patient_id=quote(patient, safe="")), status_code=302
        )

    return Router(path="/", route_handlers=[ehr_launch, standalone_launch, callback])


def create_smart_app(settings: SmartSettings | None = None) -> Litestar:
    """A stand-alone app with the SMART routes, server-side sessions and a stub patient page."""
    from litestar.middleware.session.server_side import ServerSideSessionConfig
    from litestar.stores.memory import MemoryStore

    @get("/patients/{patient_id:str}", sync_to_thread=False)
    def patient_page(request: Request[Any, Any, Any], patient_id: str) -> dict[str, Any]:
        smart = request.session.get("smart") or {}
        return {"patient": patient_id, "in_context": smart.get("patient")}

    session = ServerSideSessionConfig(httponly=True, samesite="lax", secure=False)
    return Litestar(
        route_handlers=[smart_router(settings), patient_page],
        middleware=[session.middleware],
        stores={"sessions": MemoryStore()},
        debug=False,
    )
