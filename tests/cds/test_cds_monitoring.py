"""patient-view: the monitoring service on the seed 004 patient."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import BASE, PID, Ehr, bundle_resources, make_app, post_hook
from litestar.testing import TestClient

from ruxtrack.cds import CdsSettings, load_cds_knowledge, prefetch_from_resources, prefetch_keys

SERVICE = "ruxolitinib-monitoring"


def _patient_view(resources: list[dict[str, Any]]) -> dict[str, Any]:
    ctx = {"userId": "Practitioner/example", "patientId": PID}
    svc = load_cds_knowledge().service(SERVICE)
    assert svc is not None
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": ctx,
        "prefetch": prefetch_from_resources(resources, prefetch_keys(svc), ctx),
    }


def _call(ehr: Ehr, when: datetime, resources: list[dict[str, Any]]) -> Any:
    app = make_app(ehr, engine=CdsSettings(clock=lambda: when))
    with TestClient(app, base_url=BASE) as c:
        return post_hook(c, ehr, SERVICE, _patient_view(resources))


@pytest.mark.cds_req(74, 211)
def test_patient_view_on_day_3_shows_the_decision_face(ehr: Ehr) -> None:
    resp = _call(ehr, datetime(2021, 3, 3, 13, tzinfo=UTC), bundle_resources())
    cards = resp.json()["cards"]
    assert cards[0]["indicator"] == "critical"
    assert cards[0]["summary"].startswith("Ruxolitinib: DISCONTINUE")
    assert "Platelets \\< 50" in cards[0]["detail"]  # i10's decision card face
    assert "suggestions" not in cards[0]


def test_patient_view_two_days_later_says_labs_are_due(ehr: Ehr) -> None:
    resources = bundle_resources()
    for r in resources:
        if r["id"] == "plt-d3":
            r["valueQuantity"]["value"] = 180
    resp = _call(ehr, datetime(2021, 3, 6, 13, tzinfo=UTC), resources)
    (card,) = resp.json()["cards"]
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("Cannot recommend a ruxolitinib dose: needed platelets")


def test_patient_not_on_ruxolitinib_gets_no_card(ehr: Ehr) -> None:
    resources = [
        r
        for r in bundle_resources()
        if r["resourceType"] not in ("MedicationRequest", "MedicationAdministration")
    ]
    resp = _call(ehr, datetime(2021, 3, 3, 13, tzinfo=UTC), resources)
    assert resp.json() == {"cards": []}
