"""CORS for browser-based CDS clients, and feedback stored in the audit trail."""

from __future__ import annotations

from typing import Any

import pytest
from cds_helpers import BASE, Ehr, make_app, order_select, post_hook, rux_draft
from litestar.testing import TestClient

SERVICE = "ruxolitinib-order-check"
PATH = f"/cds-services/{SERVICE}"


@pytest.mark.cds_req(208)
def test_preflight_allows_authorization_header_without_a_token(client: Any) -> None:
    resp = client.options(
        PATH,
        headers={
            "Origin": "https://ehr.example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert resp.status_code == 204
    assert resp.headers["access-control-allow-origin"] == "*"
    assert "authorization" in resp.headers["access-control-allow-headers"].lower()
    assert "POST" in resp.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in resp.headers


def test_responses_carry_the_allow_origin_header(client: Any, ehr: Ehr) -> None:
    resp = client.get(
        "/cds-services", headers={**ehr.auth("/cds-services"), "Origin": "https://ehr.example.org"}
    )
    assert resp.headers["access-control-allow-origin"] == "*"


def test_cors_allow_list_refuses_other_origins(ehr: Ehr) -> None:
    app = make_app(ehr, cors_origins=("https://ehr.example.org",))
    with TestClient(app, base_url=BASE) as c:
        ok = c.options(
            PATH,
            headers={"Origin": "https://ehr.example.org", "Access-Control-Request-Method": "POST"},
        )
        bad = c.options(
            PATH,
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
    assert ok.headers["access-control-allow-origin"] == "https://ehr.example.org"
    assert bad.status_code == 403 and "access-control-allow-origin" not in bad.headers


@pytest.mark.cds_req(80, 82, 118, 148)
def test_feedback_is_stored_in_the_audit_trail(client: Any, ehr: Ehr, audit_log: list[Any]) -> None:
    card = post_hook(client, ehr, SERVICE, order_select(rux_draft())).json()["cards"][0]
    sug = card["suggestions"][0]["uuid"]
    reason = card["overrideReasons"][1]
    body = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": sug}],
                "outcomeTimestamp": "2020-06-03T10:05:31Z",
            },
            {
                "card": card["uuid"],
                "outcome": "overridden",
                "overrideReason": {
                    "reason": {"code": reason["code"], "system": reason["system"]},
                    "userComment": "Platelets transfused this morning",
                },
                "outcomeTimestamp": "2020-06-03T10:06:00Z",
            },
        ]
    }
    fb = f"{PATH}/feedback"
    resp = client.post(fb, json=body, headers=ehr.auth(fb))
    assert resp.status_code == 200
    assert [(r.outcome, r.patient_id, r.accepted, r.override_code) for r in audit_log] == [
        ("accepted", "covid-day3", (sug,), None),
        ("overridden", "covid-day3", (), reason["code"]),
    ]
    assert audit_log[0].client == "https://ehr.example.org"


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (
            {"card": "c", "outcome": "accepted", "outcomeTimestamp": "2020-06-03T10:05:31Z"},
            "acceptedSuggestions is required",
        ),
        (
            {"card": "c", "outcome": "ignored", "outcomeTimestamp": "2020-06-03T10:05:31Z"},
            "feedback.1.outcome",
        ),
        ({"card": "c", "outcome": "overridden", "outcomeTimestamp": "yesterday"}, "RFC 3339"),
        (
            {"card": "c", "outcome": "overridden", "outcomeTimestamp": "2020-06-03T10:05:31"},
            "time zone",
        ),
    ],
)
def test_malformed_feedback_is_400_and_stores_nothing(
    client: Any, ehr: Ehr, audit_log: list[Any], item: dict[str, Any], reason: str
) -> None:
    fb = f"{PATH}/feedback"
    ok = {"card": "c2", "outcome": "overridden", "outcomeTimestamp": "2020-06-03T10:05:31Z"}
    resp = client.post(fb, json={"feedback": [ok, item]}, headers=ehr.auth(fb))
    assert resp.status_code == 400
    assert reason in resp.json()["reason"]
    assert audit_log == []


def test_feedback_needs_the_jwt(client: Any) -> None:
    resp = client.post(f"{PATH}/feedback", json={"feedback": []})
    assert resp.status_code == 401
