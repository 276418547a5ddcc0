"""knowledge/fhir.yaml names real FHIR R4 elements: every element of ``records`` exists in the
R4B resource definitions (fhir.resources), and every listed status is a code of its value set."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from ruxtrack.sources.fhir import load_fhir_mapping

_TYPE = re.compile(r"abc\.(\w+)Type")
MAPPING = load_fhir_mapping()


def _field(model: Any, name: str) -> Any:
    for key, f in model.model_fields.items():
        if key == name or f.alias == name:
            return f
    return None


def _exists(resource: str, path: str) -> bool:
    model = get_fhir_model_class(resource)
    for segment in path.split("."):
        f = _field(model, re.sub(r"\[\d+\]$", "", segment))
        if f is None:
            return False
        m = _TYPE.search(str(f.annotation))
        if m is not None and m.group(1) not in ("Extension",):
            try:
                model = get_fhir_model_class(m.group(1))
            except (KeyError, ValueError):
                return True  # a primitive: nothing below it
    return True


def _paths() -> list[tuple[str, str]]:
    out = []
    for rec in MAPPING.records:
        elements = [*rec.time, *rec.end]
        for sources in rec.fields.values():
            elements += list(sources)
        for e in elements:
            head = e.split(" ")[0]
            if head.startswith("extension:"):
                head = "extension"
            out.append((rec.resource, head))
    return sorted(set(out))


@pytest.mark.parametrize(("resource", "path"), _paths())
def test_every_element_of_the_mapping_exists_in_fhir_r4(resource: str, path: str) -> None:
    assert _exists(resource, path), f"{resource}.{path} is not an element of FHIR R4"


def test_a_made_up_element_is_caught() -> None:
    assert not _exists("Observation", "valueQuantity.colour")
    assert not _exists("Observation", "effectiveWhen")
    assert not _exists("MedicationRequest", "dosageInstruction.doseAndRate.doseQuantity.colour")
    assert not _exists("Patient", "meta.colour")


def test_every_mapped_resource_type_has_a_records_entry() -> None:
    from ruxtrack.sources._fhir_read import _Reader

    handled = {name.removeprefix("_r_") for name in dir(_Reader) if name.startswith("_r_")}
    assert handled == {r.resource for r in MAPPING.records}
