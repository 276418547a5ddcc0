"""The CDS Hooks face: Litestar routes over :mod:`ruxtrack.cds` (discovery, services, feedback).

``cds_router(settings)`` gives a Router the web app mounts; ``create_cds_app(settings)`` a
stand-alone app (tests, benchmarks, a CDS-only deployment).
"""

from ruxtrack.web.cds._routes import CdsWebSettings, cds_router, create_cds_app

__all__ = ["CdsWebSettings", "cds_router", "create_cds_app"]
