"""Prefetch handling: what is missing is fetched from the client's FHIR server (fhirpy, on a
loopback server), OperationOutcomes count as not satisfied, and 412 when neither works."""

from __future__ import annotations

from typing import Any

import pytest
from cds_helpers import bundle_resources, order_select, post_hook, rux_draft
from loopback import EhrState, LoopbackEhr

SERVICE = "ruxolitinib-order-check"


@pytest.mark.cds_req(54)
def test_no_prefetch_and_no_fhir_access_is_412(client: Any, ehr: Any) -> None:
    resp = post_hook(client, ehr, SERVICE, order_select(rux_draft(), prefetch=None))
    assert resp.status_code == 412
    assert "observations-haematology" in resp.json()["reason"]


def test_partial_prefetch_without_access_is_412_naming_the_missing_keys(
    client: Any, ehr: Any
) -> None:
    body = order_select(rux_draft())
    del body["prefetch"]["conditions"]
    resp = post_hook(client, ehr, SERVICE, body)
    assert resp.status_code == 412
    assert resp.json()["reason"].startswith("prefetch lacks conditions")


@pytest.mark.cds_req(34, 60, 61)
def test_missing_prefetch_is_read_from_the_fhir_server(client: Any, ehr: Any) -> None:
    state = EhrState(resources=bundle_resources())
    with LoopbackEhr(state) as server:
        body = order_select(rux_draft(), prefetch=None)
        body["fhirServer"] = server.fhir
        body["fhirAuthorization"] = {
            "access_token": state.access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "user/*.rs",
            "subject": "ruxtrack-cds",
        }
        resp = post_hook(client, ehr, SERVICE, body)
    assert resp.status_code == 200
    assert resp.json()["cards"][0]["indicator"] == "critical"
    fhir_calls = [r for r in state.requests if r[1].startswith("/fhir/")]
    assert fhir_calls and all(a == f"Bearer {state.access_token}" for _, _, a in fhir_calls)
    assert any(p.startswith("/fhir/Observation?") and "777-3" in p for _, p, _ in fhir_calls)


@pytest.mark.cds_req(52)
def test_operation_outcome_in_prefetch_is_fetched_again_or_412(client: Any, ehr: Any) -> None:
    body = order_select(rux_draft())
    body["prefetch"]["observations-haematology"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout", "diagnostics": "lab system down"}],
    }
    resp = post_hook(client, ehr, SERVICE, body)
    assert resp.status_code == 412
    assert "observations-haematology" in resp.json()["reason"]


def test_fhir_server_failure_is_412(client: Any, ehr: Any) -> None:
    state = EhrState(resources=bundle_resources(), fail_fhir=True)
    with LoopbackEhr(state) as server:
        body = order_select(rux_draft(), prefetch=None)
        body["fhirServer"] = server.fhir
        body["fhirAuthorization"] = {
            "access_token": state.access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "user/*.rs",
            "subject": "cds",
        }
        resp = post_hook(client, ehr, SERVICE, body)
    assert resp.status_code == 412


def test_null_prefetch_value_means_no_data(client: Any, ehr: Any) -> None:
    body = order_select(rux_draft())
    body["prefetch"]["observations-haematology"] = None  # the client has no such data
    resp = post_hook(client, ehr, SERVICE, body)
    assert resp.status_code == 200
    assert resp.json()["cards"][0]["summary"].startswith("Cannot recommend")
