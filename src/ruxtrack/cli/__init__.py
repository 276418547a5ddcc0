"""The ``ruxtrack`` command line: a thin face over the core.

Each area registers its commands from its own module (``_<area>.py`` with a
``register(app)`` function). The core never imports this package.
"""

from __future__ import annotations

from ruxtrack.cli._app import app, main

__all__ = ["app", "main"]
