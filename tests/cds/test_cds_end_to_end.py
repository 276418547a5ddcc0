"""End to end: the seed 004 patient on day 3 with platelets 45 x10^9/L, and the draft cases."""

from __future__ import annotations

from typing import Any

import pytest
from cds_helpers import Ehr, order_select, post_hook, rux_draft

from ruxtrack.protocol import load_regimen


def _seed_sentence() -> str:
    rule = next(
        r for r in load_regimen("sarmiento-2021-covid").rules if r.id == "platelets_below_50"
    )
    assert rule.effect == "discontinue"  # what platelets < 50 does in the seed regimen
    assert rule.source.quote is not None
    return rule.source.quote


@pytest.mark.cds_req(74, 83, 87, 88, 90, 93, 105, 131)
def test_platelets_45_on_day_3_gives_critical_discontinuation_card(client: Any, ehr: Ehr) -> None:
    resp = post_hook(client, ehr, "ruxolitinib-order-check", order_select(rux_draft(10, 2)))
    assert resp.status_code == 200
    cards = resp.json()["cards"]
    assert len(cards) == 1
    card = cards[0]
    assert card["indicator"] == "critical"
    assert "discontinu" in card["summary"].lower()
    assert "platelets 45" in card["summary"]
    assert _seed_sentence() in card["source"]["label"]
    assert "Sarmiento" in card["source"]["label"]
    sug = card["suggestions"][0]
    assert card["selectionBehavior"] == "at-most-one"
    assert sug["actions"] == [
        {
            "type": "delete",
            "resourceId": "MedicationRequest/draft-rux",
            "description": sug["actions"][0]["description"],
        }
    ]
    assert "platelet transfusion" in card["detail"]


def test_matching_draft_gives_no_card(client: Any, ehr: Ehr) -> None:
    from cds_helpers import bundle_resources

    resources = bundle_resources()
    for r in resources:
        if r["id"] == "plt-d3":
            r["valueQuantity"]["value"] = 180
    resp = post_hook(
        client, ehr, "ruxolitinib-order-check", order_select(rux_draft(10, 2), resources=resources)
    )
    assert resp.status_code == 200
    assert resp.json() == {"cards": []}


@pytest.mark.cds_req(92, 95, 117, 119, 121, 124, 127, 128, 130, 132)
def test_draft_above_reduced_dose_suggests_the_reduced_order(client: Any, ehr: Ehr) -> None:
    from cds_helpers import bundle_resources

    resources = bundle_resources()
    for r in resources:
        if r["id"] == "plt-d3":
            r["valueQuantity"]["value"] = 80  # 50 to < 100: reduce by 50%
    resp = post_hook(
        client, ehr, "ruxolitinib-order-check", order_select(rux_draft(10, 2), resources=resources)
    )
    card = resp.json()["cards"][0]
    assert card["indicator"] == "critical"
    assert "20 mg/day is above" in card["summary"]
    action = card["suggestions"][0]["actions"][0]
    assert action["type"] == "update"
    assert action["resource"]["id"] == "draft-rux"
    assert action["resource"]["resourceType"] == "MedicationRequest"
    dose = action["resource"]["dosageInstruction"][0]
    assert dose["doseAndRate"][0]["doseQuantity"]["value"] == 5
    assert dose["timing"]["repeat"] == {"frequency": 2, "period": 1, "periodUnit": "d"}
    assert card["suggestions"][0]["isRecommended"] is True


def test_missing_labs_say_what_is_needed_and_suggest_nothing(client: Any, ehr: Ehr) -> None:
    from cds_helpers import bundle_resources

    resources = [r for r in bundle_resources() if r.get("id") not in ("plt-d3", "anc-d3")]
    resp = post_hook(
        client, ehr, "ruxolitinib-order-check", order_select(rux_draft(10, 2), resources=resources)
    )
    card = resp.json()["cards"][0]
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("Cannot recommend")
    assert "platelets" in card["summary"] and "neutrophils" in card["summary"]
    assert "suggestions" not in card


@pytest.mark.cds_req(98, 99, 100, 136, 216, 217, 219)
def test_interacting_drug_in_the_same_session(client: Any, ehr: Ehr) -> None:
    from cds_helpers import bundle_resources

    resources = bundle_resources()
    for r in resources:
        if r["id"] == "plt-d3":
            r["valueQuantity"]["value"] = 180
    fluc = {
        "resourceType": "MedicationRequest",
        "id": "draft-fluc",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/covid-day3"},
        "medicationCodeableConcept": {"text": "Fluconazole 200 mg tablet"},
    }
    resp = post_hook(
        client,
        ehr,
        "ruxolitinib-order-check",
        order_select(rux_draft(10, 2), fluc, resources=resources),
    )
    cards = resp.json()["cards"]
    assert [c["summary"] for c in cards] == ["Ruxolitinib with fluconazole: interaction to review"]
    reasons = cards[0]["overrideReasons"]
    assert reasons and all(r["display"] and r["code"] and r["system"] for r in reasons)


@pytest.mark.cds_req(77)
def test_order_for_another_drug_gives_empty_cards(client: Any, ehr: Ehr) -> None:
    amox = rux_draft()
    amox["medicationCodeableConcept"] = {
        "coding": [
            {
                "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                "code": "617993",
                "display": "Amoxicillin",
            }
        ]
    }
    resp = post_hook(client, ehr, "ruxolitinib-order-check", order_select(amox))
    assert resp.status_code == 200
    assert resp.json() == {"cards": []}


def test_unreadable_chart_data_gives_a_warning_card_and_no_advice(client: Any, ehr: Ehr) -> None:
    from cds_helpers import bundle_resources

    resources = bundle_resources()
    for r in resources:
        if r["id"] == "plt-d3":
            r["valueQuantity"]["code"] = r["valueQuantity"]["unit"] = "furlongs"
    resp = post_hook(
        client, ehr, "ruxolitinib-order-check", order_select(rux_draft(10, 2), resources=resources)
    )
    card = resp.json()["cards"][0]
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("Cannot check ruxolitinib")
    assert "Observation/plt-d3" in card["detail"]
    assert "suggestions" not in card


def test_identical_chart_data_are_read_once_changed_data_again() -> None:
    import asyncio

    from cds_helpers import DAY3, bundle_resources

    from ruxtrack.cds import CdsEngine, CdsSettings
    from ruxtrack.sources.fhir import timeline_from_fhir

    calls: list[int] = []

    def reader(resources: Any) -> Any:
        calls.append(len(resources))
        res = timeline_from_fhir(resources)
        return (res.timelines[0] if res.ok else None), res.problems

    engine = CdsEngine(CdsSettings(clock=lambda: DAY3, timeline_reader=reader))
    body = order_select(rux_draft())
    first = asyncio.run(engine.call("ruxolitinib-order-check", body))
    again = asyncio.run(engine.call("ruxolitinib-order-check", order_select(rux_draft())))
    assert len(calls) == 1
    assert first["cards"][0]["summary"] == again["cards"][0]["summary"]
    resources = bundle_resources()
    for r in resources:
        if r["id"] == "plt-d3":
            r["valueQuantity"]["value"] = 180
    changed = asyncio.run(
        engine.call("ruxolitinib-order-check", order_select(rux_draft(), resources=resources))
    )
    assert len(calls) == 2
    assert changed["cards"] == []
