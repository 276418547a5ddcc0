"""Litestar routes of the CDS Hooks service, with JWT checks and CORS."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar, Request, Response, Router, get, post, route
from litestar.params import FromPath
from litestar.types import ASGIApp, Receive

from ruxtrack.cds import (
    CdsAuthError,
    CdsEngine,
    CdsError,
    CdsSettings,
    FeedbackRecord,
    JwtVerifier,
    TrustedIssuer,
    VerifiedClient,
    load_cds_knowledge,
)

__all__ = ["CdsWebSettings", "cds_router", "create_cds_app"]

log = logging.getLogger("ruxtrack.cds")

UNSIGNED_WARNING = (
    "CDS HOOKS JWT CHECKS ARE OFF (--cds-allow-unsigned): any caller can invoke the CDS "
    "services and read their advice. For local demonstration only; never on a network or "
    "with real patient data."
)
_OPT = {"exclude_from_csrf": True, "exclude_from_auth": True}


@dataclass
class CdsWebSettings:
    """The face's settings.

    ``issuers`` is the allow-list of CDS clients; ``public_url`` the base URL clients call
    (the JWT ``aud`` is checked against it; without it the request's own base URL is used);
    ``cors_origins`` the origins of browser-based clients (``*`` allows any, without
    credentials); ``allow_unsigned`` turns the JWT checks off (demonstration only).
    """

    issuers: Sequence[TrustedIssuer] = ()
    public_url: str | None = None
    cors_origins: Sequence[str] = ("*",)
    allow_unsigned: bool = False
    engine: CdsSettings = field(default_factory=CdsSettings)
    verifier: JwtVerifier | None = None


class _Cors:
    """CORS for the CDS routes (CDS Hooks 2.0.1 "Cross-Origin Resource Sharing").

    Preflights are answered here; other responses get the allow-origin header when the
    origin is allowed. No credentials are allowed: the JWT travels in ``Authorization``.
    """

    def __init__(self, app: ASGIApp, origins: Callable[[], Sequence[str]]) -> None:
        self.app = app
        self.origins = origins

    def _allowed(self, origin: str | None) -> str | None:
        if origin is None:
            return None
        allowed = tuple(self.origins())
        if "*" in allowed:
            return "*"
        return origin if origin in allowed else None

    async def __call__(self, scope: Any, receive: Receive, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/cds-services"):
            await self.app(scope, receive, send)
            return
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        allowed = self._allowed(headers.get("origin"))
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            out = [(b"vary", b"Origin"), (b"content-length", b"0")]
            if allowed is not None:
                out += [
                    (b"access-control-allow-origin", allowed.encode()),
                    (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
                    (b"access-control-allow-headers", b"Authorization, Content-Type"),
                    (b"access-control-max-age", b"600"),
                ]
            await send(
                {"type": "http.response.start", "status": 204 if allowed else 403, "headers": out}
            )
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_wrapper(message: Any) -> None:
            if message["type"] == "http.response.start" and allowed is not None:
                hdrs = list(message.get("headers", []))
                hdrs += [(b"access-control-allow-origin", allowed.encode()), (b"vary", b"Origin")]
                message = {**message, "headers": hdrs}
            await send(message)

        await self.app(scope, receive, send_wrapper)


def _verifier(settings: CdsWebSettings) -> JwtVerifier:
    if settings.verifier is not None:
        return settings.verifier
    lim = load_cds_knowledge().limits
    return JwtVerifier(
        issuers=tuple(settings.issuers),
        jwks_cache_s=lim.jwks_cache_s,
        clock_skew_s=lim.clock_skew_s,
        max_lifetime_s=lim.max_token_lifetime_s,
        fetch_timeout_s=lim.fhir_timeout_s,
    )


def _error(exc: CdsError) -> Response[Any]:
    if isinstance(exc, CdsAuthError):
        return _unauthorized()
    body = {"error": type(exc).__name__, "reason": exc.reason}
    return Response(content=body, status_code=exc.status, media_type="application/json")


def _unauthorized() -> Response[Any]:
    return Response(content=b"", status_code=401, headers={"WWW-Authenticate": "Bearer"})


class CdsState:
    """What the routes use: the settings, the engine, the JWT verifier, the body limit."""

    def __init__(self, settings: CdsWebSettings) -> None:
        self.settings = settings
        self.engine = CdsEngine(settings.engine)
        self.verifier = _verifier(settings)
        self.max_body = load_cds_knowledge().limits.max_body_bytes
        if settings.allow_unsigned:
            log.warning(UNSIGNED_WARNING)


def cds_router(
    settings: CdsWebSettings | None = None, *, state: Callable[[], CdsState] | None = None
) -> Router:
    """A Router with ``/cds-services`` (discovery), ``/cds-services/{id}`` and ``.../feedback``.

    ``state`` gives the current :class:`CdsState` at each request (the mounted app configures
    it when ``ruxtrack serve`` starts); without it the router is built on ``settings``.
    """
    fixed = CdsState(settings or CdsWebSettings()) if state is None else None

    def current() -> CdsState:
        return fixed if fixed is not None else state()  # type: ignore[misc]

    max_body = load_cds_knowledge().limits.max_body_bytes

    def audience(request: Request[Any, Any, Any], path: str) -> str:
        base = current().settings.public_url or str(request.base_url)
        return base.rstrip("/") + path

    def authenticate(request: Request[Any, Any, Any], paths: Sequence[str]) -> VerifiedClient:
        st = current()
        if st.settings.allow_unsigned:
            return VerifiedClient(iss="unsigned-demo", jti="-", tenant=None, sub=None)
        auds = [audience(request, p) for p in paths]
        return st.verifier.verify(request.headers.get("authorization"), auds)

    async def read_json(request: Request[Any, Any, Any]) -> Any:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > max_body):
            raise _TooLarge
        ctype = request.headers.get("content-type", "")
        if "json" not in ctype.lower():
            raise _NotJson
        body = await request.body()
        if len(body) > max_body:
            raise _TooLarge
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _BadJson(str(exc)) from None

    @get("/cds-services", opt=_OPT, sync_to_thread=False)
    def discovery(request: Request[Any, Any, Any]) -> Response[Any]:
        try:
            authenticate(request, ["/cds-services"])
        except CdsAuthError:
            return _unauthorized()
        return Response(content=current().engine.discovery(), media_type="application/json")

    @post(
        "/cds-services/{service_id:str}", opt=_OPT, status_code=200, request_max_body_size=max_body
    )
    async def call(request: Request[Any, Any, Any], service_id: FromPath[str]) -> Response[Any]:
        try:
            authenticate(request, [f"/cds-services/{service_id}"])
            body = await read_json(request)
            result = await current().engine.call(service_id, body)
        except _BodyProblem as exc:
            return exc.response()
        except CdsError as exc:
            return _error(exc)
        if current().settings.allow_unsigned:
            return Response(
                content=result,
                media_type="application/json",
                headers={"X-Ruxtrack-Cds-Unsigned": "demonstration only"},
            )
        return Response(content=result, media_type="application/json")

    @post(
        "/cds-services/{service_id:str}/feedback",
        opt=_OPT,
        status_code=200,
        request_max_body_size=max_body,
    )
    async def feedback(request: Request[Any, Any, Any], service_id: FromPath[str]) -> Response[Any]:
        try:
            client = authenticate(
                request,
                [f"/cds-services/{service_id}/feedback", f"/cds-services/{service_id}"],
            )
            body = await read_json(request)
            records = current().engine.feedback(service_id, body, client=client.iss)
            _to_audit_trail(request, records)
        except _BodyProblem as exc:
            return exc.response()
        except CdsError as exc:
            return _error(exc)
        return Response(content={"stored": len(records)}, media_type="application/json")

    @route(
        [
            "/cds-services",
            "/cds-services/{service_id:str}",
            "/cds-services/{service_id:str}/feedback",
        ],
        http_method=["OPTIONS"],
        opt=_OPT,
        sync_to_thread=False,
    )
    def options(request: Request[Any, Any, Any]) -> Response[Any]:
        # Preflights are answered by the CORS layer; a plain OPTIONS lists the methods.
        return Response(content=b"", status_code=204, headers={"Allow": "GET, POST, OPTIONS"})

    return Router(
        path="/",
        route_handlers=[discovery, call, feedback, options],
        middleware=[lambda app: _Cors(app, lambda: current().settings.cors_origins)],
    )


class _BodyProblem(Exception):
    status = 400
    reason = "bad request"

    def response(self) -> Response[Any]:
        return Response(
            content={"error": "CdsRequestError", "reason": self.reason},
            status_code=self.status,
            media_type="application/json",
        )


class _TooLarge(_BodyProblem):
    status = 413
    reason = "the request body is too large"


class _NotJson(_BodyProblem):
    status = 415
    reason = "the request body must be JSON (Content-Type: application/json)"


class _BadJson(_BodyProblem):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.reason = f"the request body is not valid JSON: {detail}"


def _to_audit_trail(request: Request[Any, Any, Any], records: Sequence[FeedbackRecord]) -> None:
    """Feedback into the store's hash-chained audit log when the router runs in the web app."""
    store = getattr(request.app.state, "store", None)
    if store is None:
        return
    from ruxtrack.web._accounts import audit

    for r in records:
        detail = {
            "service": r.service_id, "card": r.card, "outcome": r.outcome,
            "accepted_suggestions": list(r.accepted), "override_code": r.override_code,
            "override_system": r.override_system, "user_comment": r.user_comment,
            "outcome_timestamp": r.outcome_timestamp, "hook_instance": r.hook_instance,
        }  # fmt: skip
        client = request.client.host if request.client else None
        audit(store, f"cds-client:{r.client}", "cds.feedback", r.patient_id, detail, client)


def create_cds_app(settings: CdsWebSettings | None = None) -> Litestar:
    """A stand-alone app serving only the CDS Hooks routes."""
    return Litestar(route_handlers=[cds_router(settings)], debug=False)
