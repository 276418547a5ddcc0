"""Fixtures of the CDS Hooks tests: an EHR that signs JWTs, the app, spec requests, a bundle."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from litestar.testing import TestClient

from ruxtrack.cds import CdsSettings, FeedbackRecord, TrustedIssuer, check_response
from ruxtrack.web.cds import CdsWebSettings, create_cds_app

DATA = Path(__file__).parents[1] / "data" / "fhir"
BASE = "http://testserver.local"
ISS = "https://ehr.example.org"
# The decision day of the bundle: course day 3 of the seed 004 course (10:00 in Chile).
DAY3 = datetime(2021, 3, 3, 13, 0, tzinfo=UTC)
PID = "covid-day3"


class Ehr:
    """A CDS client: signs request JWTs with its ES384 key (or another key on demand)."""

    def __init__(self) -> None:
        self.ec_key = ec.generate_private_key(ec.SECP384R1())
        self.rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ec_jwk = json.loads(ECAlgorithm.to_jwk(self.ec_key.public_key()))
        rsa_jwk = json.loads(RSAAlgorithm.to_jwk(self.rsa_key.public_key()))
        ec_jwk.update(kid="ec-1", use="sig", alg="ES384")
        rsa_jwk.update(kid="rsa-1", use="sig", alg="RS384")
        self.jwks = {"keys": [ec_jwk, rsa_jwk]}

    def claims(self, aud: str, **over: Any) -> dict[str, Any]:
        now = int(datetime.now(UTC).timestamp())
        c = {"iss": ISS, "aud": aud, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
        c.update(over)
        return {k: v for k, v in c.items() if v is not None}

    def token(
        self,
        aud: str,
        *,
        alg: str = "ES384",
        kid: str | None = None,
        headers: dict[str, Any] | None = None,
        **over: Any,
    ) -> str:
        key = self.ec_key if alg == "ES384" else self.rsa_key
        hdr = {"kid": kid or ("ec-1" if alg == "ES384" else "rsa-1"), "typ": "JWT"}
        hdr.update(headers or {})
        return jwt.encode(self.claims(aud, **over), key, algorithm=alg, headers=hdr)

    def auth(self, path: str, **kw: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(BASE + path, **kw)}"}


@pytest.fixture(scope="session")
def ehr() -> Ehr:
    return Ehr()


@pytest.fixture
def audit_log() -> list[FeedbackRecord]:
    return []


def make_app(ehr: Ehr, audit_log: list[FeedbackRecord] | None = None, **web: Any) -> Any:
    engine = CdsSettings(
        clock=lambda: DAY3,
        audit=None if audit_log is None else audit_log.append,
    )
    settings = CdsWebSettings(
        issuers=[TrustedIssuer(iss=ISS, jwks=ehr.jwks)], public_url=BASE, engine=engine
    )
    for k, v in web.items():
        setattr(settings, k, v)
    return create_cds_app(settings)


@pytest.fixture
def client(ehr: Ehr, audit_log: list[FeedbackRecord]) -> Iterator[TestClient[Any]]:
    with TestClient(make_app(ehr, audit_log), base_url=BASE) as c:
        yield c


def post_hook(
    client: TestClient[Any], ehr: Ehr, service: str, body: dict[str, Any], **kw: Any
) -> Any:
    """POST a hook call; every 200 response is checked against the specification."""
    path = f"/cds-services/{service}"
    resp = client.post(path, json=body, headers=ehr.auth(path, **kw))
    if resp.status_code == 200:
        assert check_response(resp.json()) == []
    return resp


def bundle_resources() -> list[dict[str, Any]]:
    data = json.loads((DATA / "covid-day3-platelets45.json").read_text())
    return [e["resource"] for e in data["entry"]]


def prefetch_for(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """Full prefetch for the order-check templates, as a client would build it."""
    from ruxtrack.cds import load_cds_knowledge, prefetch_from_resources, prefetch_keys

    svc = load_cds_knowledge().services[0]
    return prefetch_from_resources(resources, prefetch_keys(svc), {"patientId": PID})


def rux_draft(dose: float = 10, per_day: int = 2, oid: str = "draft-rux") -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": oid,
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{PID}"},
        "medicationCodeableConcept": {
            "coding": [
                {
                    "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": "1193326",
                    "display": "ruxolitinib",
                }
            ]
        },
        "dosageInstruction": [
            {
                "timing": {"repeat": {"frequency": per_day, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [
                    {
                        "doseQuantity": {
                            "value": dose,
                            "unit": "mg",
                            "system": "http://unitsofmeasure.org",
                            "code": "mg",
                        }
                    }
                ],
            }
        ],
    }


def order_select(
    draft: dict[str, Any],
    *extra: dict[str, Any],
    prefetch: Any = "full",
    resources: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    resources = resources if resources is not None else bundle_resources()
    body: dict[str, Any] = {
        "hook": "order-select",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/example",
            "patientId": PID,
            "selections": [f"MedicationRequest/{draft['id']}"],
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": r} for r in (draft, *extra)],
            },
        },
    }
    if prefetch == "full":
        body["prefetch"] = prefetch_for(resources)
    elif prefetch is not None:
        body["prefetch"] = prefetch
    return body
