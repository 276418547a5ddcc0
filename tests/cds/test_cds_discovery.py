"""Discovery (GET /cds-services) and the prefetch templates."""

from __future__ import annotations

import re
from typing import Any

import pytest
from cds_helpers import Ehr

from ruxtrack.cds import discovery_document, fill_template, prefetch_templates
from ruxtrack.units import load_catalogue


@pytest.mark.cds_req(1, 4, 5, 6, 13)
def test_discovery_is_a_json_object_listing_services(client: Any, ehr: Ehr) -> None:
    resp = client.get("/cds-services", headers=ehr.auth("/cds-services"))
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/json")
    assert isinstance(resp.json()["services"], list) and resp.json()["services"]


@pytest.mark.cds_req(7, 8, 9, 10, 12, 16, 211)
def test_each_service_has_hook_title_description_id(client: Any, ehr: Ehr) -> None:
    services = client.get("/cds-services", headers=ehr.auth("/cds-services")).json()["services"]
    pairs = {(s["id"], s["hook"]) for s in services}
    assert pairs == {
        ("ruxolitinib-order-check", "order-select"),
        ("ruxolitinib-order-check", "order-sign"),
        ("ruxolitinib-monitoring", "patient-view"),
    }
    for s in services:
        assert all(isinstance(s[k], str) and s[k] for k in ("hook", "title", "description", "id"))
        assert re.fullmatch(r"[a-z][a-z0-9-]*", s["id"])  # usable as {baseUrl}/cds-services/{id}
    assert any("usageRequirements" in s for s in services)


@pytest.mark.cds_req(11, 29, 35, 36, 55, 56, 57, 59)
def test_prefetch_templates_use_only_context_tokens(client: Any, ehr: Ehr) -> None:
    services = client.get("/cds-services", headers=ehr.auth("/cds-services")).json()["services"]
    for s in services:
        assert isinstance(s["prefetch"], dict) and s["prefetch"]
        for key, template in s["prefetch"].items():
            assert isinstance(key, str) and isinstance(template, str)
            tokens = re.findall(r"\{\{(.*?)\}\}", template)
            assert tokens == ["context.patientId"]  # a root-level primitive of every hook
            assert template.count("{{") == template.count("}}") == 1


@pytest.mark.cds_req(58)
def test_prefetch_templates_keep_to_the_recommended_subset() -> None:
    for template in prefetch_templates().values():
        path, _, query = template.partition("?")
        assert re.fullmatch(r"[A-Z][A-Za-z]+(/\{\{context\.patientId\}\})?", path)
        for param in filter(None, query.split("&")):
            name, _, _value = param.partition("=")
            assert name in {"patient", "code", "_sort", "_count", "status", "category"}, name
            assert ":" not in name  # no modifiers


def test_observation_templates_are_generated_from_the_lab_catalogue() -> None:
    templates = prefetch_templates()
    catalogue_codes = {c.code for e in load_catalogue() for c in e.loinc if not c.deprecated}
    in_templates = {
        code.split("|")[1]
        for k, t in templates.items()
        if k.startswith("observations-")
        for code in re.search(r"code=([^&]+)", t).group(1).split(",")  # type: ignore[union-attr]
    }
    assert in_templates == catalogue_codes
    assert "777-3" in in_templates and "751-8" in in_templates  # platelets, ANC


def test_fill_template_replaces_tokens_and_encodes() -> None:
    url = fill_template(prefetch_templates()["conditions"], {"patientId": "a&b"})
    assert url == "Condition?patient=a%26b"


def test_discovery_document_has_no_empty_elements() -> None:
    from ruxtrack.cds._models import _empties

    problems: list[str] = []
    _empties(discovery_document(), "", problems)
    assert problems == []
