"""Trusting CDS clients: the specification's example JWT and the attacks a service must refuse."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
import time_machine
from cds_helpers import BASE, ISS, Ehr, make_app, order_select, post_hook, rux_draft
from cryptography.hazmat.primitives.asymmetric import ec
from litestar.testing import TestClient
from loopback import EhrState, LoopbackEhr
from spec_examples import example_jwt

from ruxtrack.cds import CdsAuthError, JwtVerifier, TrustedIssuer

EXAMPLE = example_jwt()
EX_AUD = EXAMPLE["expected_claims"]["aud"]
SERVICE = "ruxolitinib-order-check"
PATH = f"/cds-services/{SERVICE}"


def _example_verifier(**kw: Any) -> JwtVerifier:
    header = jwt.get_unverified_header(EXAMPLE["token"])
    issuer = TrustedIssuer(iss=EXAMPLE["expected_claims"]["iss"], jku=(header["jku"],))
    fetched: list[str] = []

    def fetch(url: str, timeout: float) -> Any:  # the key set the example's jku names
        fetched.append(url)
        return EXAMPLE["jwks"]

    # The example token lives 3.5 years (iat 2011, exp 2015): lift the lifetime bound for it.
    return JwtVerifier([issuer], max_lifetime_s=10**9, fetch_jwks=fetch, **kw)


@pytest.mark.cds_req(176, 201, 203, 205)
def test_spec_example_jwt_verifies_against_its_key_set_before_exp() -> None:
    with time_machine.travel(datetime(2014, 1, 1, tzinfo=UTC), tick=False):
        client = _example_verifier().verify("Bearer " + EXAMPLE["token"], EX_AUD)
    assert client.iss == EXAMPLE["expected_claims"]["iss"]
    assert client.jti == EXAMPLE["expected_claims"]["jti"]
    assert client.tenant == EXAMPLE["expected_claims"]["tenant"]


def test_spec_example_jwt_fails_on_exp() -> None:
    with time_machine.travel(datetime(2026, 1, 1, tzinfo=UTC), tick=False):
        with pytest.raises(CdsAuthError, match="ExpiredSignature"):
            _example_verifier().verify("Bearer " + EXAMPLE["token"], EX_AUD)


def test_spec_example_jwt_fails_on_a_wrong_aud() -> None:
    with time_machine.travel(datetime(2014, 1, 1, tzinfo=UTC), tick=False):
        with pytest.raises(CdsAuthError, match="InvalidAudience"):
            _example_verifier().verify(
                "Bearer " + EXAMPLE["token"], "https://cds.example.org/cds-services/other"
            )


def _b64(obj: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def _unsigned(ehr: Ehr) -> str:
    return f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': 'ec-1'})}.{_b64(ehr.claims(BASE + PATH))}."


def _hs256_with_public_key(ehr: Ehr) -> str:
    # The classic confusion attack: the public key's PEM used as an HMAC secret.
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    pem = ehr.rsa_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"})
    payload = _b64(ehr.claims(BASE + PATH))
    import hashlib
    import hmac

    sig = hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda e: _unsigned(e), id="alg-none"),
        pytest.param(lambda e: _hs256_with_public_key(e), id="hs256-public-key-as-secret"),
        pytest.param(lambda e: e.token(BASE + PATH, kid="unknown-kid"), id="wrong-kid"),
        pytest.param(
            lambda e: e.token(BASE + PATH, alg="RS384", kid="ec-1"), id="kid-of-other-kty"
        ),
        pytest.param(
            lambda e: e.token(BASE + PATH, headers={"jku": "https://evil.example/jwks"}),
            id="jku-not-allow-listed",
        ),
        pytest.param(
            lambda e: e.token(
                BASE + PATH,
                exp=int(datetime.now(UTC).timestamp()) - 120,
                iat=int(datetime.now(UTC).timestamp()) - 420,
            ),
            id="expired",
        ),
        pytest.param(
            lambda e: e.token(
                BASE + PATH,
                iat=int(datetime.now(UTC).timestamp()) + 600,
                exp=int(datetime.now(UTC).timestamp()) + 900,
            ),
            id="future-iat",
        ),
        pytest.param(
            lambda e: e.token(BASE + "/cds-services/ruxolitinib-monitoring"),
            id="aud-of-another-service",
        ),
        pytest.param(lambda e: e.token(BASE + PATH, iss="https://evil.example"), id="iss-unknown"),
        pytest.param(lambda e: e.token(BASE + PATH, jti=None), id="no-jti"),
        pytest.param(
            lambda e: e.token(BASE + PATH, exp=int(datetime.now(UTC).timestamp()) + 86400),
            id="lifetime-too-long",
        ),
        pytest.param(
            lambda e: jwt.encode(
                e.claims(BASE + PATH),
                ec.generate_private_key(ec.SECP256R1()),
                algorithm="ES256",
                headers={"kid": "ec-1"},
            ),
            id="es256-not-accepted",
        ),
        pytest.param(lambda e: "not.a.jwt", id="garbage"),
    ],
)
@pytest.mark.cds_req(177, 195, 201, 203)
def test_attacks_get_a_bare_401(client: Any, ehr: Ehr, make: Any, caplog: Any) -> None:
    token = make(ehr)
    resp = client.post(
        PATH, json=order_select(rux_draft()), headers={"Authorization": f"Bearer {token}"}
    )
    assert resp.status_code == 401
    assert resp.content == b""
    assert resp.headers["www-authenticate"] == "Bearer"
    assert token not in caplog.text  # tokens are never logged


def test_missing_header_is_401(client: Any) -> None:
    assert client.post(PATH, json=order_select(rux_draft())).status_code == 401
    assert client.get("/cds-services").status_code == 401
    resp = client.post(PATH, json={}, headers={"Authorization": "Basic abc"})
    assert resp.status_code == 401


def test_replayed_jti_is_refused(client: Any, ehr: Ehr) -> None:
    headers = ehr.auth(PATH)
    assert client.post(PATH, json=order_select(rux_draft()), headers=headers).status_code == 200
    again = client.post(PATH, json=order_select(rux_draft()), headers=headers)
    assert again.status_code == 401


def test_rs384_is_accepted(client: Any, ehr: Ehr) -> None:
    resp = post_hook(client, ehr, SERVICE, order_select(rux_draft()), alg="RS384")
    assert resp.status_code == 200


@pytest.mark.cds_req(199)
def test_jwks_is_fetched_from_an_allow_listed_jku_and_cached(ehr: Ehr) -> None:
    state = EhrState(jwks=ehr.jwks)
    with LoopbackEhr(state) as server:
        jku = f"{server.base}/jwks"
        app = make_app(ehr, issuers=[TrustedIssuer(iss=ISS, jku=(jku,))])
        with TestClient(app, base_url=BASE) as c:
            for _ in range(3):
                hdr = ehr.auth(PATH, headers={"jku": jku})
                assert c.post(PATH, json=order_select(rux_draft()), headers=hdr).status_code == 200
            # no jku and no key set configured out of band: refused
            assert (
                c.post(PATH, json=order_select(rux_draft()), headers=ehr.auth(PATH)).status_code
                == 401
            )
    assert [p for _, p, _ in state.requests].count("/jwks") == 1


def test_unsigned_mode_is_for_demonstration_and_says_so(ehr: Ehr, caplog: Any) -> None:
    app = make_app(ehr, allow_unsigned=True)
    assert "CDS HOOKS JWT CHECKS ARE OFF" in caplog.text
    with TestClient(app, base_url=BASE) as c:
        resp = c.post(PATH, json=order_select(rux_draft()))
    assert resp.status_code == 200
    assert resp.headers["x-ruxtrack-cds-unsigned"] == "demonstration only"


def test_oversized_body_is_refused_before_parsing(client: Any, ehr: Ehr) -> None:
    big = b'{"hook": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    resp = client.post(
        PATH, content=big, headers={**ehr.auth(PATH), "Content-Type": "application/json"}
    )
    assert resp.status_code == 413


def test_replay_cache_forgets_expired_tokens() -> None:
    from ruxtrack.cds import ReplayCache

    cache = ReplayCache(max_entries=2)
    assert cache.check_and_add("i", "a", until=10, now=0)
    assert not cache.check_and_add("i", "a", until=10, now=5)
    assert cache.check_and_add("i", "b", until=10, now=5)
    assert not cache.check_and_add("i", "c", until=30, now=5)  # full of live tokens: refuse
    assert cache.check_and_add("i", "c", until=30, now=20)  # a and b expired and are dropped
    _ = uuid
