"""The hook through which other parts of ruxtrack add routes to the web app.

A lane that serves HTTP (CDS Hooks at ``/cds-services``, SMART App Launch) registers a
Litestar router, controller or route handler here; :func:`ruxtrack.web.create_app` mounts every
registered one::

    # ruxtrack/web/cds/__init__.py
    from litestar import Router
    from ruxtrack.web import register_routes

    cds_router = Router(path="/cds-services", route_handlers=[...], guards=[...])
    register_routes(cds_router)

and, so that it is imported when the app is built, add its module name to
:data:`ROUTE_MODULES`. Each registered handler must carry its own guards (the authorization
matrix test in ``tests/web`` walks every route; public ones such as the CDS Hooks discovery
endpoint are listed there with a reason).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["ROUTE_MODULES", "extra_routes", "register_routes"]

#: Modules imported when the app is built; each calls :func:`register_routes`.
ROUTE_MODULES: list[str] = ["ruxtrack.web.cds._mount"]

_EXTRA: list[Any] = []


def register_routes(*handlers: Any) -> None:
    """Add routers, controllers or route handlers to every app built from now on."""
    for h in handlers:
        if h not in _EXTRA:
            _EXTRA.append(h)


def extra_routes() -> list[Any]:
    """Everything registered, after importing :data:`ROUTE_MODULES`."""
    for name in ROUTE_MODULES:
        importlib.import_module(name)
    return list(_EXTRA)
