"""The discovery document and the prefetch templates (generated from the lab catalogue)."""

from __future__ import annotations

import re
from functools import cache
from typing import Any
from urllib.parse import quote

from ruxtrack.cds._knowledge import ServiceDef, load_cds_knowledge

__all__ = [
    "LOINC",
    "discovery_document",
    "fill_template",
    "prefetch_keys",
    "prefetch_templates",
]

LOINC = "http://loinc.org"
_TOKEN = re.compile(r"\{\{([^{}]+)\}\}")
_USER_TOKENS = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}


@cache
def prefetch_templates() -> dict[str, str]:
    """Every prefetch key the services use, with its template.

    The Observation keys (``observations-<category>``) are generated from the lab catalogue:
    every non-deprecated LOINC code of the catalogue's entries in that category, most recent
    first.

    Examples
    --------
    >>> t = prefetch_templates()
    >>> t["patient"]
    'Patient/{{context.patientId}}'
    >>> "http://loinc.org|777-3" in t["observations-haematology"]
    True
    """
    from ruxtrack.units import load_catalogue

    kn = load_cds_knowledge()
    out = dict(kn.prefetch_templates)
    catalogue = load_catalogue()
    for category in kn.observation_categories:
        codes = [
            f"{LOINC}|{c.code}"
            for e in catalogue
            if e.category == category
            for c in e.loinc
            if not c.deprecated
        ]
        if codes:
            out[f"observations-{category}"] = (
                "Observation?patient={{context.patientId}}&code=" + ",".join(codes) + "&_sort=-date"
            )
    return out


def prefetch_keys(service: ServiceDef) -> tuple[str, ...]:
    """The prefetch keys of a service (``observations`` expands to one key per category)."""
    templates = prefetch_templates()
    keys: list[str] = []
    for key in service.prefetch:
        if key == "observations":
            keys.extend(k for k in templates if k.startswith("observations-"))
        else:
            keys.append(key)
    return tuple(keys)


def discovery_document() -> dict[str, Any]:
    """The ``GET /cds-services`` body: one entry per (service, hook).

    A service answering two hooks appears twice with the same id, which the specification
    uses to let a later hook's cards replace an earlier one's ("Update stale guidance").

    Examples
    --------
    >>> doc = discovery_document()
    >>> [(s["id"], s["hook"]) for s in doc["services"]]  # doctest: +NORMALIZE_WHITESPACE
    [('ruxolitinib-order-check', 'order-select'), ('ruxolitinib-order-check', 'order-sign'),
     ('ruxolitinib-monitoring', 'patient-view')]
    """
    templates = prefetch_templates()
    services: list[dict[str, Any]] = []
    for s in load_cds_knowledge().services:
        for hook in s.hooks:
            entry: dict[str, Any] = {
                "hook": hook,
                "id": s.id,
                "title": s.title,
                "description": s.description,
                "prefetch": {k: templates[k] for k in prefetch_keys(s)},
            }
            if s.usage_requirements:
                entry["usageRequirements"] = s.usage_requirements
            services.append(entry)
    return {"services": services}


def fill_template(template: str, context: dict[str, Any]) -> str | None:
    """The relative FHIR URL of a template for this context, or None when a token has no value.

    Tokens are root-level primitive context fields (``{{context.patientId}}``) or the user
    identifiers taken from ``context.userId`` (``{{userPractitionerId}}`` ...).

    Examples
    --------
    >>> fill_template("Condition?patient={{context.patientId}}", {"patientId": "a b"})
    'Condition?patient=a%20b'
    >>> fill_template("Practitioner/{{userPractitionerId}}", {"userId": "Practitioner/7"})
    'Practitioner/7'
    >>> fill_template("Encounter/{{context.encounterId}}", {"patientId": "1"}) is None
    True
    """
    missing = False

    def repl(m: re.Match[str]) -> str:
        nonlocal missing
        token = m.group(1).strip()
        value: Any = None
        if token.startswith("context."):
            value = context.get(token.removeprefix("context."))
        elif token in _USER_TOKENS:
            user = context.get("userId")
            kind, _, ident = user.partition("/") if isinstance(user, str) else ("", "", "")
            value = ident if kind == _USER_TOKENS[token] else None
        if not isinstance(value, str | int | float) or isinstance(value, bool) or value == "":
            missing = True
            return ""
        return quote(str(value), safe="")

    out = _TOKEN.sub(repl, template)
    return None if missing else out
