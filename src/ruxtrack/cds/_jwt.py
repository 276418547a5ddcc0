"""Trusting CDS clients: the JWT every request carries (CDS Hooks 2.0.1 "Trusting CDS Clients").

The checks follow the specification and its security best practices, in this order:
the header (``alg`` ES384 or RS384 only: never ``none``, never HMAC; ``typ`` JWT; ``kid``
present), the issuer against the allow-list, the key set (configured out of band, or fetched
from ``jku`` only when that URL is allow-listed for the issuer; cached), the signature, ``aud``
equal to the URL being invoked, ``exp``, ``iat`` (not in the future, lifetime bounded),
``jti`` not seen before, and the tenant when the issuer lists tenants. Any failure raises
:class:`CdsAuthError`, which a face turns into a bare 401. The token itself is never logged
or kept; ``iss`` and ``jti`` may be.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ruxtrack.cds._errors import CdsAuthError

__all__ = ["ALGORITHMS", "JwtVerifier", "ReplayCache", "TrustedIssuer", "VerifiedClient"]

log = logging.getLogger("ruxtrack.cds.auth")

ALGORITHMS = ("ES384", "RS384")  # CDS Hooks 2.0.1 "JWT Signing Algorithm": RECOMMENDED
_KTY = {"ES384": "EC", "RS384": "RSA"}
_MAX_TOKEN_CHARS = 8192
_MAX_JWKS_BYTES = 65536


@dataclass(frozen=True)
class TrustedIssuer:
    """A CDS client the service trusts: its ``iss``, key set and/or allowed ``jku`` URLs."""

    iss: str
    jwks: Mapping[str, Any] | None = None
    jku: tuple[str, ...] = ()
    tenants: tuple[str, ...] | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrustedIssuer:
        """From a configuration mapping (``iss``, ``jwks``, ``jku``, ``tenants``)."""
        tenants = data.get("tenants")
        return cls(
            iss=str(data["iss"]),
            jwks=data.get("jwks"),
            jku=tuple(data.get("jku") or ()),
            tenants=tuple(tenants) if tenants is not None else None,
        )


@dataclass(frozen=True)
class VerifiedClient:
    """What a verified JWT says about the caller (safe to log)."""

    iss: str
    jti: str
    tenant: str | None
    sub: str | None


class ReplayCache:
    """``jti`` values seen, kept until their token expires (thread-safe, bounded)."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._max = max_entries

    def check_and_add(self, iss: str, jti: str, until: float, now: float) -> bool:
        """False when (iss, jti) was seen and has not expired; else remember it."""
        with self._lock:
            if len(self._seen) >= self._max:
                for k in [k for k, t in self._seen.items() if t < now]:
                    del self._seen[k]
            if len(self._seen) >= self._max:
                return False  # full of live tokens: refuse rather than forget
            key = (iss, jti)
            if key in self._seen and self._seen[key] >= now:
                return False
            self._seen[key] = until
            return True


def _fetch_json(url: str, timeout_s: float) -> Mapping[str, Any]:
    import httpx

    with httpx.Client(timeout=timeout_s, follow_redirects=False) as client:
        resp = client.get(url, headers={"Accept": "application/json"})
        resp.raise_for_status()
        if len(resp.content) > _MAX_JWKS_BYTES:
            raise ValueError("key set too large")
        data = json.loads(resp.content)
    if not isinstance(data, dict):
        raise ValueError("key set is not a JSON object")
    return data


@dataclass
class JwtVerifier:
    """Verifies the bearer JWT of a CDS Hooks request.

    Parameters
    ----------
    issuers
        The allow-list.
    clock
        Seconds since the epoch (tests freeze it).
    fetch_jwks
        Reads a key set from an allow-listed ``jku`` URL.
    """

    issuers: Sequence[TrustedIssuer]
    clock: Callable[[], float] = time.time
    fetch_jwks: Callable[[str, float], Mapping[str, Any]] = _fetch_json
    jwks_cache_s: float = 300.0
    clock_skew_s: int = 60
    max_lifetime_s: int = 3600
    fetch_timeout_s: float = 5.0
    replay: ReplayCache = field(default_factory=ReplayCache)
    _cache: dict[str, tuple[float, Mapping[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _fail(self, why: str, iss: str | None = None) -> CdsAuthError:
        log.info("cds jwt refused: %s (iss=%s)", why, iss or "-")
        return CdsAuthError(why)

    def _key_set(self, issuer: TrustedIssuer, jku: str | None) -> Mapping[str, Any]:
        if jku is None:
            if issuer.jwks is None:
                raise self._fail("no jku and no key set configured", issuer.iss)
            return issuer.jwks
        if jku not in issuer.jku:
            raise self._fail("jku not allow-listed", issuer.iss)
        now = self.clock()
        with self._lock:
            hit = self._cache.get(jku)
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            jwks = self.fetch_jwks(jku, self.fetch_timeout_s)
        except Exception as exc:
            raise self._fail(f"key set not fetched ({type(exc).__name__})", issuer.iss) from None
        with self._lock:
            self._cache[jku] = (now + self.jwks_cache_s, jwks)
        return jwks

    def verify(self, authorization: str | None, audience: str | Sequence[str]) -> VerifiedClient:
        """Check an ``Authorization`` header value; the caller on success, else CdsAuthError."""
        import jwt

        if not authorization or not authorization.startswith("Bearer "):
            raise self._fail("no bearer token")
        token = authorization.removeprefix("Bearer ").strip()
        if not token or len(token) > _MAX_TOKEN_CHARS:
            raise self._fail("token empty or too long")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise self._fail("malformed token") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise self._fail(f"algorithm {alg!r} not accepted")
        if header.get("typ", "JWT") != "JWT" or not isinstance(header.get("kid"), str):
            raise self._fail("header typ/kid")
        iss = unverified.get("iss")
        issuer = next((i for i in self.issuers if i.iss == iss), None)
        if issuer is None:
            raise self._fail("issuer not allow-listed")
        jku = header.get("jku")
        if jku is not None and not isinstance(jku, str):
            raise self._fail("jku not a string", issuer.iss)
        jwks = self._key_set(issuer, jku)
        key = self._find_key(jwks, header["kid"], alg, issuer.iss)
        now = self.clock()
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=audience,
                issuer=issuer.iss,
                leeway=self.clock_skew_s,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
                # PyJWT reads the time itself; the frozen clock of tests reaches it through
                # time-machine. The lifetime check below uses self.clock.
            )
        except jwt.PyJWTError as exc:
            raise self._fail(type(exc).__name__, issuer.iss) from None
        exp, iat, jti = claims["exp"], claims["iat"], claims["jti"]
        if not isinstance(jti, str) or not jti:
            raise self._fail("jti not a string", issuer.iss)
        if iat > now + self.clock_skew_s:
            raise self._fail("iat in the future", issuer.iss)
        if exp - iat > self.max_lifetime_s:
            raise self._fail("token lifetime too long", issuer.iss)
        tenant = claims.get("tenant")
        if issuer.tenants is not None and tenant not in issuer.tenants:
            raise self._fail("tenant not allow-listed", issuer.iss)
        if not self.replay.check_and_add(issuer.iss, jti, float(exp) + self.clock_skew_s, now):
            raise self._fail(f"jti replayed ({jti})", issuer.iss)
        return VerifiedClient(
            iss=issuer.iss,
            jti=jti,
            tenant=tenant if isinstance(tenant, str) else None,
            sub=claims.get("sub") if isinstance(claims.get("sub"), str) else None,
        )

    def _find_key(self, jwks: Mapping[str, Any], kid: str, alg: str, iss: str) -> Any:
        import jwt

        keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
        for k in keys if isinstance(keys, list) else []:
            if isinstance(k, Mapping) and k.get("kid") == kid:
                if k.get("kty") != _KTY[alg] or k.get("alg", alg) != alg:
                    raise self._fail("key type does not match alg", iss)
                try:
                    return jwt.PyJWK(dict(k), algorithm=alg).key
                except jwt.PyJWTError:
                    raise self._fail("key unusable", iss) from None
        raise self._fail("kid not in key set", iss)
