"""Settings of the web app (what ``ruxtrack serve`` passes to :func:`create_app`)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

__all__ = ["WebSettings"]


@dataclass(frozen=True)
class WebSettings:
    """How the web app runs.

    Parameters
    ----------
    secret
        Signs the CSRF tokens; a fresh random value per process when None (sessions are held in
        the server's memory, so a restart signs everyone out anyway).
    idle_timeout_s
        A session unused this long is ended (default 15 minutes).
    session_max_age_s
        A session ends this long after sign-in whatever its use (default 12 hours).
    secure_cookies
        Mark cookies ``Secure`` (set when the app is served over TLS, directly or behind a proxy).
    hsts
        Send ``Strict-Transport-Security`` on responses that arrived over TLS.
    """

    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    idle_timeout_s: int = 15 * 60
    session_max_age_s: int = 12 * 3600
    secure_cookies: bool = False
    hsts: bool = True
