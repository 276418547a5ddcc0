"""CDS Hooks, SMART launch and the card preview page inside the web app (i12w's router hook).

Imported through :data:`ruxtrack.web.ROUTE_MODULES`. ``ruxtrack serve`` calls
:func:`configure_cds` with its options before building the app; until then the CDS services
trust no client (every call is a 401) and no FHIR server may launch the app.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Template

from ruxtrack.web._routes import register_routes
from ruxtrack.web._security import allow
from ruxtrack.web.cds._routes import CdsState, CdsWebSettings, cds_router
from ruxtrack.web.smart._routes import SmartSettings, smart_router

__all__ = ["configure_cds", "configure_from_file", "preview_cards"]

_CURRENT: dict[str, Any] = {}


def configure_cds(cds: CdsWebSettings | None = None, smart: SmartSettings | None = None) -> None:
    """Set what the mounted CDS and SMART routes use (``ruxtrack serve`` calls this)."""
    _CURRENT["cds"] = CdsState(cds or CdsWebSettings())
    _CURRENT["smart"] = smart or SmartSettings()


def _cds_state() -> CdsState:
    if "cds" not in _CURRENT:
        configure_cds()
    state: CdsState = _CURRENT["cds"]
    return state


def _smart_settings() -> SmartSettings:
    if "smart" not in _CURRENT:
        configure_cds()
    settings: SmartSettings = _CURRENT["smart"]
    return settings


async def preview_cards(
    timeline: Any, on: date, dose_mg: float | None, per_day: int | None
) -> dict[str, Any]:
    """The cards the services give for a stored patient, as an EHR would get them.

    The patient's timeline goes out as FHIR (the same writer as ``export --format fhir``),
    the prefetch is filled from it, and the engine answers ``order-select`` for a draft of
    ``dose_mg`` x ``per_day`` (or ``patient-view`` without a draft).
    """
    import uuid

    from ruxtrack.cds import (
        CdsEngine,
        CdsSettings,
        load_cds_knowledge,
        prefetch_from_resources,
        prefetch_keys,
    )
    from ruxtrack.sources.fhir import bundle_from_timeline

    bundle = bundle_from_timeline(timeline)
    resources = [e["resource"] for e in bundle.get("entry", [])]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    pid = patient["id"]
    # The export links resources inside the Bundle (urn:uuid); an EHR's server answers with
    # server references, which is what the services read.
    local = f"urn:uuid:{pid}"
    for r in resources:
        for element in ("subject", "patient"):
            ref = r.get(element)
            if isinstance(ref, dict) and ref.get("reference") == local:
                ref["reference"] = f"Patient/{pid}"
    kn = load_cds_knowledge()
    context: dict[str, Any] = {"userId": "Practitioner/preview", "patientId": pid}
    if dose_mg is not None and per_day is not None:
        service = kn.services[0]
        draft = {
            "resourceType": "MedicationRequest", "id": "preview-draft", "status": "draft",
            "intent": "order", "subject": {"reference": f"Patient/{pid}"},
            "medicationCodeableConcept": {"text": "ruxolitinib"},
            "dosageInstruction": [{
                "timing": {"repeat": {"frequency": per_day, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [{"doseQuantity": {"value": dose_mg, "unit": "mg",
                                                  "system": "http://unitsofmeasure.org",
                                                  "code": "mg"}}],
            }],
        }  # fmt: skip
        context["selections"] = ["MedicationRequest/preview-draft"]
        context["draftOrders"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": draft}],
        }
        hook = "order-select"
    else:
        service = kn.services[1]
        hook = "patient-view"
    body = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": context,
        "prefetch": prefetch_from_resources(resources, prefetch_keys(service), context),
    }
    noon = datetime.combine(on, time(12), tzinfo=UTC)
    engine = CdsEngine(CdsSettings(clock=lambda: noon))
    result: dict[str, Any] = await engine.call(service.id, body)
    return {"service": service.id, "hook": hook, "request": body, "response": result}


def _markdown(text: str) -> str:
    from markdown_it import MarkdownIt

    html: str = MarkdownIt("commonmark", {"html": False}).render(text)
    return html


@get(
    "/patients/{patient_id:str}/cds-preview",
    guards=[allow("clinician")],
    include_in_schema=False,
)
async def cds_preview_page(request: Request[Any, Any, Any], patient_id: FromPath[str]) -> Template:
    """The CDS Hooks cards for a patient (and a draft ruxolitinib order), as an EHR shows them."""
    from anyio import to_thread

    from ruxtrack.web._views import read_timeline, user_of

    q = request.query_params
    on = date.fromisoformat(q["on"]) if q.get("on") else datetime.now(UTC).date()
    dose = float(q["dose"]) if q.get("dose") else None
    per_day = int(q["per_day"]) if q.get("per_day") else (2 if dose is not None else None)
    tl = await to_thread.run_sync(read_timeline, request, patient_id, "CDS card preview")
    result = await preview_cards(tl, on, dose, per_day)
    cards = [
        {**c, "detail_html": _markdown(c.get("detail", ""))} for c in result["response"]["cards"]
    ]
    return Template(
        "cds_preview.html",
        context={"user": user_of(request), "flash": None, "patient_id": patient_id, "on": on,
                 "dose": dose, "per_day": per_day, "hook": result["hook"],
                 "service": result["service"], "cards": cards},
    )  # fmt: skip


register_routes(cds_router(state=_cds_state), smart_router(_smart_settings), cds_preview_page)


def configure_from_file(
    path: str | None, *, allow_unsigned: bool = False, public_url: str | None = None
) -> None:
    """Configure from ``ruxtrack serve`` options and a trust file (YAML).

    The file lists the trusted CDS clients and the FHIR servers that may launch the app::

        public_url: https://ruxtrack.example.org
        cors_origins: ["https://ehr.example.org"]
        issuers:
          - iss: https://ehr.example.org
            jku: [https://ehr.example.org/jwks]      # key set fetched from here only
          - iss: https://other-ehr.example.org
            jwks_file: other-ehr-jwks.json            # key set given out of band
        smart:
          client_id: ruxtrack
          issuers: [https://ehr.example.org/fhir]

    Raises :class:`ruxtrack.errors.KnowledgeFileError` naming the file and the field.
    """
    import json
    from pathlib import Path

    from ruxtrack.cds import TrustedIssuer
    from ruxtrack.errors import KnowledgeFileError
    from ruxtrack.knowledge import load_yaml

    data: dict[str, Any] = {}
    if path is not None:
        loaded = load_yaml(Path(path))
        if not isinstance(loaded, dict):
            raise KnowledgeFileError(path, "the file must hold a mapping at its top level")
        data = loaded
    issuers = []
    for i, item in enumerate(data.get("issuers") or []):
        if not isinstance(item, dict) or not isinstance(item.get("iss"), str):
            raise KnowledgeFileError(str(path), f"field `issuers.{i}.iss`: a URL is required")
        item = dict(item)
        if "jwks_file" in item:
            jwks_path = Path(str(path)).parent / str(item.pop("jwks_file"))
            try:
                item["jwks"] = json.loads(jwks_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise KnowledgeFileError(str(jwks_path), f"key set not read: {exc}") from exc
        if item.get("jwks") is None and not item.get("jku"):
            raise KnowledgeFileError(
                str(path), f"field `issuers.{i}`: give jku (allow-listed URLs) or jwks_file"
            )
        issuers.append(TrustedIssuer.from_dict(item))
    smart = data.get("smart") or {}
    configure_cds(
        CdsWebSettings(
            issuers=issuers,
            public_url=public_url or data.get("public_url"),
            cors_origins=tuple(data.get("cors_origins") or ("*",)),
            allow_unsigned=allow_unsigned,
        ),
        SmartSettings(
            client_id=str(smart.get("client_id", "ruxtrack")),
            issuers=tuple(smart.get("issuers") or ()),
            redirect_uri=smart.get("redirect_uri"),
        ),
    )
