"""Card elements the end-to-end cases do not show: links, source URLs, extensions, markdown."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cds_helpers import BASE, DAY3, Ehr, make_app, order_select, post_hook, rux_draft
from litestar.testing import TestClient
from pydantic import ValidationError

from ruxtrack.cds import CdsSettings
from ruxtrack.cds._models import Link, Source


@pytest.mark.cds_req(103, 104, 138, 139, 140, 141, 142, 144, 145, 146, 147)
def test_cards_link_to_the_app_with_a_smart_link(ehr: Ehr) -> None:
    engine = CdsSettings(clock=lambda: DAY3, app_url="https://rux.example.org/smart/launch")
    with TestClient(make_app(ehr, engine=engine), base_url=BASE) as c:
        card = post_hook(c, ehr, "ruxolitinib-order-check", order_select(rux_draft())).json()[
            "cards"
        ][0]
    (link,) = card["links"]
    assert link["type"] == "smart"
    assert link["url"] == "https://rux.example.org/smart/launch"
    assert link["label"] and isinstance(link["label"], str)
    assert json.loads(link["appContext"]) == {"patient": "covid-day3"}


def test_an_absolute_link_may_not_carry_app_context() -> None:
    from ruxtrack.cds import check_response

    card = {"summary": "s", "indicator": "info", "source": {"label": "l"},
            "links": [{"label": "x", "url": "https://a.example", "type": "absolute",
                       "appContext": "{}"}]}  # fmt: skip
    assert check_response({"cards": [card]}) == [
        "cards[0].links[0].appContext: not valid on an absolute link"
    ]
    with pytest.raises(ValidationError):
        Link(label="x", url="/relative", type="absolute")


@pytest.mark.cds_req(107, 108)
def test_source_url_must_be_absolute() -> None:
    assert Source(label="S", url="https://example.org/x").url == "https://example.org/x"
    with pytest.raises(ValidationError):
        Source(label="S", url="/docs/cds-hooks")
    assert "url" not in Source(label="S").model_dump(exclude_none=True)


@pytest.mark.cds_req(214)
def test_request_extensions_are_accepted_as_objects(client: Any, ehr: Ehr) -> None:
    body = order_select(rux_draft())
    body["extension"] = {"com.example.timestamp": "2021-03-03T13:00:00Z"}
    assert post_hook(client, ehr, "ruxolitinib-order-check", body).status_code == 200
    body["extension"] = "not an object"
    assert post_hook(client, ehr, "ruxolitinib-order-check", body).status_code == 400


@pytest.mark.cds_req(84, 85, 96, 133, 134, 135, 218)
def test_detail_is_markdown_and_delete_uses_resource_id(client: Any, ehr: Ehr) -> None:
    from markdown_it import MarkdownIt

    card = post_hook(client, ehr, "ruxolitinib-order-check", order_select(rux_draft())).json()[
        "cards"
    ][0]
    html = MarkdownIt("gfm-like", {"linkify": False}).render(card["detail"])
    assert "<strong>Draft order:</strong>" in html and "<li>" in html
    assert isinstance(card["selectionBehavior"], str)
    (action,) = card["suggestions"][0]["actions"]
    assert action["type"] == "delete" and "resource" not in action
    assert isinstance(action["resourceId"], str) and action["resourceId"].startswith(
        "MedicationRequest/"
    )
    assert all(isinstance(r["code"], str) for r in card["overrideReasons"])
