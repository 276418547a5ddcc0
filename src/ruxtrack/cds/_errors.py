"""Errors of the CDS Hooks service, each with the HTTP status a face answers with.

::

    RuxtrackError
    └── CdsError                 a CDS Hooks request cannot be served (status, reason)
        ├── CdsRequestError      400: the request body breaks the specification
        ├── CdsPreconditionError 412: neither prefetch nor FHIR access gives the data needed
        └── CdsAuthError         401: the JWT is refused (the reason is never sent to the caller)
"""

from __future__ import annotations

from ruxtrack.errors import RuxtrackError

__all__ = ["CdsAuthError", "CdsError", "CdsPreconditionError", "CdsRequestError"]


class CdsError(RuxtrackError):
    """A CDS Hooks request that cannot be served; ``status`` is the HTTP status to answer."""

    status = 500

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class CdsRequestError(CdsError):
    """The request breaks the specification (answered 400 with the reason)."""

    status = 400

    def __init__(self, reason: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(reason if field is None else f"{field}: {reason}")


class CdsPreconditionError(CdsError):
    """Prefetch is missing and the FHIR server cannot be used (answered 412)."""

    status = 412


class CdsAuthError(CdsError):
    """The JWT is refused. The reason is for the service's own log (never the token itself)."""

    status = 401
