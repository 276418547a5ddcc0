"""Sessions, sign-in state, role guards, CSRF and security headers of the web app."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.csrf import CSRFMiddleware
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from ruxtrack.web._accounts import WebUser, still_active, user_for_token

__all__ = [
    "CSP",
    "BearerAwareCSRFMiddleware",
    "RotatingSessionConfig",
    "SecurityHeadersMiddleware",
    "allow",
    "current_user",
    "request_rotation",
    "sign_in",
]

#: No inline script or style anywhere; nothing from another origin; never framed.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

_ROTATE = "ruxtrack.rotate_session"
_NEW_ID = "ruxtrack.session_id"
_USER = "ruxtrack.user"


class _RotatingBackend(ServerSideSessionBackend):
    """Server-side sessions whose id is replaced at sign-in (Litestar keeps it otherwise)."""

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        state = connection.scope.setdefault("state", {})
        if state.get(_ROTATE):
            new = state.get(_NEW_ID)
            if new is None:
                new = state[_NEW_ID] = self.generate_session_id()
            return str(new)
        return super().get_session_id(connection)

    async def store_in_message(
        self, scope_session: Any, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        state = connection.scope.setdefault("state", {})
        old = connection.cookies.get(self.config.key)
        if state.get(_ROTATE) and old and old != "null":
            store = self.config.get_store_from_app(connection.scope["app"])
            await self.delete(old, store=store)
        await super().store_in_message(scope_session, message, connection)


@dataclass
class RotatingSessionConfig(ServerSideSessionConfig):
    """:class:`ServerSideSessionConfig` with the id rotated at sign-in."""

    _backend_class = _RotatingBackend


def request_rotation(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Give this response's session a new id and drop the old one (sign-in)."""
    connection.scope.setdefault("state", {})[_ROTATE] = True


def sign_in(connection: ASGIConnection[Any, Any, Any, Any], user: WebUser) -> None:
    """Start a fresh session for ``user`` under a new session id."""
    request_rotation(connection)
    now = time.time()
    connection.set_session({"user": user.name, "role": user.role, "since": now, "seen": now})


def current_user(connection: ASGIConnection[Any, Any, Any, Any]) -> WebUser | None:
    """The caller: a bearer API token when an Authorization header is sent (never mixed with
    the session), else the session's user unless it is idle or too old."""
    state = connection.scope.setdefault("state", {})
    if _USER in state:
        return state[_USER]  # type: ignore[no-any-return]
    app_state = connection.app.state
    user: WebUser | None = None
    auth = connection.headers.get("authorization")
    if auth is not None:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            user = user_for_token(app_state.store, token.strip())
    elif "session" in connection.scope and connection.session:
        session = connection.session
        settings = app_state.settings
        now = time.time()
        seen = float(session.get("seen", 0))
        since = float(session.get("since", 0))
        if now - seen > settings.idle_timeout_s or now - since > settings.session_max_age_s:
            connection.clear_session()
        elif isinstance(session.get("user"), str) and isinstance(session.get("role"), str):
            user = WebUser(name=session["user"], role=session["role"])
            if still_active(app_state.store, user):
                session["seen"] = now
            else:
                connection.clear_session()
                user = None
    state[_USER] = user
    return user


Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]


def allow(*roles: str) -> Guard:
    """A guard letting only signed-in users with one of ``roles`` through (401, else 403)."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        user = current_user(connection)
        if user is None:
            raise NotAuthorizedException("sign in first")
        if user.role not in roles:
            raise PermissionDeniedException(f"the {user.role} role may not use this")

    guard.__name__ = "allow_" + "_".join(r.replace("-", "_") for r in roles)
    guard.roles = roles  # type: ignore[attr-defined]
    return guard


class BearerAwareCSRFMiddleware(CSRFMiddleware):
    """CSRF checks for cookie-authenticated requests; requests carrying an Authorization header
    (API tokens, which a foreign page cannot send) are authenticated by the token alone."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            headers = dict(scope.get("headers", []))
            if b"authorization" in headers:
                await self.app(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response (a handler may set its own CSP)."""

    def __init__(self, app: ASGIApp, hsts: bool = True) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        tls = scope.get("scheme") == "https"
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = CSP
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                headers["X-Frame-Options"] = "DENY"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                headers["Cross-Origin-Resource-Policy"] = "same-origin"
                headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
                if not static:
                    # Patient data must not stay in shared ward computers' caches.
                    headers["Cache-Control"] = "no-store"
                if tls and self.hsts:
                    headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
            await send(message)

        await self.app(scope, receive, send_with_headers)
