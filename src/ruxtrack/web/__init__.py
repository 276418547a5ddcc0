"""The web face of ruxtrack: a Litestar app over the same store and engines as the CLI.

``ruxtrack serve`` runs it with uvicorn; :func:`create_app` builds it (docs/web.md). Pages
(Jinja2 + htmx, JavaScript vendored from npm, no CDN) and a REST API (``/api``, OpenAPI at
``/openapi.json``) share one set of role guards; other parts add routes through
:func:`register_routes`.
"""

from ruxtrack.web._accounts import ROLES, WebUser
from ruxtrack.web._app import create_app
from ruxtrack.web._routes import ROUTE_MODULES, register_routes
from ruxtrack.web._security import CSP, allow, current_user
from ruxtrack.web._settings import WebSettings

__all__ = [
    "CSP",
    "ROLES",
    "ROUTE_MODULES",
    "WebSettings",
    "WebUser",
    "allow",
    "create_app",
    "current_user",
    "register_routes",
]
