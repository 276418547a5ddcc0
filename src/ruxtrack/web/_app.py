"""Building the Litestar application (:func:`create_app`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from litestar import Litestar, MediaType, Request, Response, get
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.middleware import DefineMiddleware
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.stores.memory import MemoryStore
from litestar.template.config import TemplateConfig

from ruxtrack import __version__
from ruxtrack.errors import RuxtrackError
from ruxtrack.store import PatientNotFoundError, Store, open_store
from ruxtrack.web._api import api_routes
from ruxtrack.web._pages import page_routes
from ruxtrack.web._routes import extra_routes
from ruxtrack.web._security import (
    BearerAwareCSRFMiddleware,
    RotatingSessionConfig,
    SecurityHeadersMiddleware,
)
from ruxtrack.web._settings import WebSettings

__all__ = ["create_app"]

_HERE = Path(__file__).parent
_log = logging.getLogger("ruxtrack.web")


def _is_api(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/api"


def _html_error(
    request: Request[Any, Any, Any], status: int, title: str, detail: str
) -> Response[Any]:
    return Template(
        "error.html",
        context={"title": title, "detail": detail, "user": None},
        status_code=status,
        media_type=MediaType.HTML,
    )


def _on_unauthorized(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if _is_api(request):
        return Response(
            {"status_code": 401, "detail": "authentication required"},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="ruxtrack"'},
        )
    if request.headers.get("hx-request"):
        return Response("", status_code=401, headers={"HX-Redirect": "/login"})
    return Redirect("/login")


def _on_forbidden(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    detail = getattr(exc, "detail", "") or "forbidden"
    if _is_api(request):
        return Response({"status_code": 403, "detail": detail}, status_code=403)
    return _html_error(request, 403, "Not allowed", detail)


def _on_not_found(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    detail = str(exc) if isinstance(exc, PatientNotFoundError) else "not found"
    if _is_api(request):
        return Response({"status_code": 404, "detail": detail}, status_code=404)
    return _html_error(request, 404, "Not found", detail)


def _on_bad_input(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, ValidationException):
        detail = exc.detail
        extra = exc.extra
    else:
        detail, extra = f"{type(exc).__name__}: {exc}", None
    if _is_api(request):
        body: dict[str, Any] = {"status_code": 400, "detail": detail}
        if extra:
            body["extra"] = extra
        return Response(body, status_code=400)
    return _html_error(request, 400, "Bad request", detail)


def _on_http(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, HTTPException)
    if _is_api(request):
        return Response(
            {"status_code": exc.status_code, "detail": exc.detail}, status_code=exc.status_code
        )
    return _html_error(request, exc.status_code, "Error", exc.detail)


def _on_crash(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # The message can hold patient data: log its type and the route only.
    _log.error("internal error %s on %s %s", type(exc).__name__, request.method, request.url.path)
    if _is_api(request):
        return Response({"status_code": 500, "detail": "internal error"}, status_code=500)
    return _html_error(request, 500, "Internal error", "Something failed; nothing was saved.")


@get("/openapi.json", include_in_schema=False, sync_to_thread=False)
def openapi_json(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The REST API's OpenAPI document (public: it describes, it holds no data)."""
    return request.app.openapi_schema.to_schema()


@get("/healthz", include_in_schema=False, sync_to_thread=False)
def healthz() -> dict[str, str]:
    """Liveness for a load balancer (no data)."""
    return {"status": "ok"}


def create_app(
    store_url: str | None = None,
    *,
    settings: WebSettings | None = None,
    store: Store | None = None,
) -> Litestar:
    """The ruxtrack web application on the store at ``store_url``.

    Parameters
    ----------
    store_url
        An SQLAlchemy URL (as ``ruxtrack --db``); None: ``RUXTRACK_DATABASE_URL`` or the
        default store.
    settings
        Session, cookie and header settings (:class:`WebSettings`).
    store
        An open store to use instead of opening ``store_url``.

    Returns
    -------
    Litestar
        An ASGI app: serve it with uvicorn (``ruxtrack serve`` does).
    """
    settings = settings or WebSettings()
    the_store = store if store is not None else open_store(store_url)
    session = RotatingSessionConfig(
        key="ruxtrack_session",
        max_age=settings.session_max_age_s,
        secure=settings.secure_cookies,
        httponly=True,
        samesite="strict",
        store="sessions",
        exclude=["/static/", "/healthz", "/openapi.json"],
    )
    csrf = CSRFConfig(
        secret=settings.secret,
        cookie_name="ruxtrack_csrf",
        cookie_secure=settings.secure_cookies,
        cookie_samesite="strict",
        header_name="x-csrftoken",
    )
    templates = TemplateConfig(directory=_HERE / "templates", engine=JinjaTemplateEngine)
    static = create_static_files_router(
        path="/static", directories=[_HERE / "static"], include_in_schema=False
    )

    def _close() -> None:
        if store is None:
            the_store.close()

    return Litestar(
        route_handlers=[
            *page_routes(),
            *api_routes(),
            openapi_json,
            healthz,
            static,
            *extra_routes(),
        ],
        middleware=[
            DefineMiddleware(SecurityHeadersMiddleware, hsts=settings.hsts),
            session.middleware,
            DefineMiddleware(BearerAwareCSRFMiddleware, config=csrf),
        ],
        stores={"sessions": MemoryStore()},
        template_config=templates,
        state=State({"store": the_store, "settings": settings}),
        openapi_config=OpenAPIConfig(
            title="ruxtrack",
            version=__version__,
            description=(
                "REST API of ruxtrack. Authenticate with `Authorization: Bearer <token>` "
                "(`ruxtrack users token NAME`); roles as in the web app."
            ),
            path="/schema",
            render_plugins=[JsonRenderPlugin()],
            create_examples=False,
        ),
        exception_handlers={
            NotAuthorizedException: _on_unauthorized,
            PermissionDeniedException: _on_forbidden,
            NotFoundException: _on_not_found,
            PatientNotFoundError: _on_not_found,
            ValidationException: _on_bad_input,
            RuxtrackError: _on_bad_input,
            HTTPException: _on_http,
            Exception: _on_crash,
        },
        on_shutdown=[_close],
        debug=False,
    )
