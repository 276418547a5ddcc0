"""patient-view: the monitoring service on the seed 004 patient."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from cds_helpers import BASE, PID, Ehr, bundle_resources, make_app, post_hook
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


def test_an_established_criterion_gives_an_info_card(ehr: Ehr, monkeypatch: Any) -> None:
    """HLH-2004 established on the chart (the evaluation stubbed: the fixture has no HLH data)."""
    import ruxtrack.criteria as criteria
    from ruxtrack.criteria import Component, Evaluation

    real = criteria.evaluate_timeline

    def fake(cid: str, timeline: Any, **kw: Any) -> Any:
        ev = real(cid, timeline, **kw)
        if cid != "hlh2004":
            return ev
        met = Component(name="ferritin", label="Ferritin >= 500 ug/L", status="met")
        return Evaluation.model_validate(
            {**ev.model_dump(), "conclusion": "established", "total": 5, "components": (met,)}
        )

    monkeypatch.setattr(criteria, "evaluate_timeline", fake)
    resources = bundle_resources()
    for r in resources:
        if r["id"] == "plt-d3":
            r["valueQuantity"]["value"] = 180
    cards = _call(ehr, datetime(2021, 3, 3, 13, tzinfo=UTC), resources).json()["cards"]
    info = [c for c in cards if c["indicator"] == "info"]
    assert [c["summary"] for c in info] == [
        "HLH-2004 diagnostic criteria (total 5): established on today's chart data, worth a look"
    ]
    assert "Ferritin >= 500 ug/L: met" in info[0]["detail"]
