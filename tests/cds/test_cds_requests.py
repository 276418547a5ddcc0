"""Hook calls: the specification's example requests, malformed requests (400 with a reason)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from cds_helpers import BASE, DAY3, Ehr, make_app, order_select, post_hook, rux_draft
from litestar.testing import TestClient
from spec_examples import hook_context, patient_view_request

from ruxtrack.cds import CdsSettings

SERVICE = "ruxolitinib-order-check"


@pytest.mark.cds_req(3, 74, 77)
def test_spec_order_select_example_gets_empty_cards(client: Any, ehr: Ehr) -> None:
    body = {
        "hook": "order-select",
        "hookInstance": str(uuid.uuid4()),
        "context": hook_context("order-select"),
    }
    resp = post_hook(client, ehr, SERVICE, body)
    assert resp.status_code == 200
    assert resp.json() == {"cards": []}  # amoxicillin and a diet: no ruxolitinib to check


def test_spec_order_sign_example_gets_empty_cards(client: Any, ehr: Ehr) -> None:
    body = {
        "hook": "order-sign",
        "hookInstance": str(uuid.uuid4()),
        "context": hook_context("order-sign"),
    }
    resp = post_hook(client, ehr, SERVICE, body)
    assert resp.status_code == 200
    assert resp.json() == {"cards": []}


@pytest.mark.cds_req(28, 34, 60, 61)
def test_spec_patient_view_example_reads_the_fhir_server_with_the_token(ehr: Ehr) -> None:
    body = patient_view_request()
    seen: list[tuple[str, str, str]] = []

    def factory(base: str, token: str, timeout: float) -> Any:
        async def fetch(url: str) -> Any:
            seen.append((base, token, url))
            if url.startswith("Patient/"):
                return {"resourceType": "Patient", "id": "1288992", "gender": "male"}
            return {"resourceType": "Bundle", "type": "searchset"}

        return fetch

    app = make_app(ehr, engine=CdsSettings(clock=lambda: DAY3, fetcher_factory=factory))
    with TestClient(app, base_url=BASE) as c:
        resp = post_hook(c, ehr, "ruxolitinib-monitoring", body)
    assert resp.status_code == 200
    assert resp.json() == {"cards": []}  # not on ruxolitinib
    assert {b for b, _, _ in seen} == {"http://hooks.smarthealthit.org:9080"}
    assert {t for _, t, _ in seen} == {"some-opaque-fhir-access-token"}
    assert "Patient/1288992" in {u for _, _, u in seen}


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda b: b.pop("hookInstance"), "hookInstance: Field required"),
        (lambda b: b.update(hookInstance="not-a-uuid"), "hookInstance: must be a UUID"),
        (lambda b: b.update(hook="order-sign-x"), "hook: 'order-sign-x' is not a hook"),
        (lambda b: b.update(hook="patient-view"), "hook: 'patient-view' is not a hook"),
        (lambda b: b["context"].pop("patientId"), "context.patientId: Field required"),
        (
            lambda b: b["context"].update(userId="bob"),
            "context.userId: must be [ResourceType]/[id]",
        ),
        (
            lambda b: b["context"].update(selections=["MedicationRequest/nope"]),
            "selection MedicationRequest/nope is not in draftOrders",
        ),
        (
            lambda b: b.update(
                fhirAuthorization={
                    "access_token": "t",
                    "token_type": "Bearer",
                    "expires_in": 30,
                    "scope": "s",
                    "subject": "x",
                }
            ),
            "fhirServer is required when fhirAuthorization is given",
        ),
        (lambda b: b.update(surprise=1), "surprise: Extra inputs are not permitted"),
        (lambda b: b.update(prefetch={"patient": "Patient/1"}), "prefetch.patient"),
        (lambda b: b.update(fhirServer="ftp://x"), "fhirServer: must be an absolute http(s) URL"),
    ],
)
@pytest.mark.cds_req(14, 76)
def test_malformed_requests_get_400_with_the_reason(
    client: Any, ehr: Ehr, mutate: Any, reason: str
) -> None:
    body = order_select(rux_draft())
    mutate(body)
    resp = post_hook(client, ehr, SERVICE, body)
    assert resp.status_code == 400
    assert reason in resp.json()["reason"]
    assert "Traceback" not in resp.text


def test_unknown_service_is_404(client: Any, ehr: Ehr) -> None:
    resp = post_hook(client, ehr, "no-such-service", order_select(rux_draft()))
    assert resp.status_code == 404


def test_body_that_is_not_json_is_refused(client: Any, ehr: Ehr) -> None:
    path = f"/cds-services/{SERVICE}"
    resp = client.post(
        path, content=b"{not json", headers={**ehr.auth(path), "Content-Type": "application/json"}
    )
    assert resp.status_code == 400
    assert "not valid JSON" in resp.json()["reason"]
    resp = client.post(
        path,
        content=b"a=1",
        headers={**ehr.auth(path), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status_code == 415


def test_prefetch_with_another_patients_data_is_refused(client: Any, ehr: Ehr) -> None:
    body = order_select(rux_draft())
    body["prefetch"]["observations-haematology"]["entry"][0]["resource"]["subject"] = {
        "reference": "Patient/someone-else"
    }
    resp = post_hook(client, ehr, SERVICE, body)
    assert resp.status_code == 400
    assert "another patient" in resp.json()["reason"]
