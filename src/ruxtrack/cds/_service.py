"""The CDS Hooks services: a hook call in, a validated response out (no web imports).

:class:`CdsEngine` is what a web face mounts: ``discovery()``, ``await call(service_id,
body)`` and ``feedback(service_id, body, client=...)``. Errors are :class:`CdsError`
subclasses carrying the HTTP status to answer.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ruxtrack.cds._cards import card_for, no_indication_card, unreadable_card
from ruxtrack.cds._compare import (
    Finding,
    FindingCode,
    compare_order,
    criteria_findings,
    monitoring_findings,
)
from ruxtrack.cds._discovery import discovery_document, prefetch_keys
from ruxtrack.cds._draft import DraftOrder, draft_orders, medication_names
from ruxtrack.cds._errors import CdsError, CdsRequestError
from ruxtrack.cds._knowledge import load_cds_knowledge
from ruxtrack.cds._models import (
    Card,
    CdsResponse,
    Link,
    OrderSelectContext,
    OrderSignContext,
    check_response,
    json_list,
    parse_context,
    parse_feedback,
    parse_request,
)
from ruxtrack.cds._prefetch import FetcherFactory, Gathered, gather
from ruxtrack.errors import RuxtrackError
from ruxtrack.timeline import Timeline

__all__ = [
    "CdsEngine",
    "CdsNotFoundError",
    "CdsSettings",
    "FeedbackRecord",
    "TimelineReader",
    "choose_regimen",
]

log = logging.getLogger("ruxtrack.cds")

TimelineReader = Callable[[Sequence[dict[str, Any]]], tuple[Timeline | None, Sequence[Any]]]


class CdsNotFoundError(CdsError):
    """No service with this id (answered 404)."""

    status = 404


@dataclass(frozen=True)
class FeedbackRecord:
    """One feedback item as it goes to the audit trail."""

    client: str
    service_id: str
    card: str
    outcome: str
    patient_id: str | None
    hook_instance: str | None
    finding: str | None
    accepted: tuple[str, ...]
    override_code: str | None
    override_system: str | None
    user_comment: str | None
    outcome_timestamp: str


def _default_reader(
    resources: Sequence[dict[str, Any]],
) -> tuple[Timeline | None, Sequence[Any]]:
    from ruxtrack.sources.fhir import timeline_from_fhir

    result = timeline_from_fhir(list(resources))
    return (result.timelines[0] if result.ok else None), result.problems


@dataclass
class CdsSettings:
    """How the engine runs (all optional; the defaults serve production).

    ``clock`` gives the decision day; ``timeline_reader`` turns FHIR resources into a
    timeline (default: :func:`ruxtrack.sources.fhir.timeline_from_fhir`); ``fetcher_factory``
    makes the FHIR client for missing prefetch (default fhirpy); ``audit`` receives every
    feedback item; ``app_url`` is the web app's SMART launch URL, offered as a card link.
    """

    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    timeline_reader: TimelineReader | None = None
    fetcher_factory: FetcherFactory | None = None
    audit: Callable[[FeedbackRecord], None] | None = None
    app_url: str | None = None
    regimen: str | None = None
    validate_responses: bool = True


def _codings(resource: dict[str, Any], element: str) -> list[tuple[str, str]]:
    concept = resource.get(element)
    if not isinstance(concept, dict):
        return []
    return [
        (str(c.get("system")), str(c.get("code")))
        for c in json_list(concept.get("coding"))
        if isinstance(c, dict)
    ]


def _active_condition(resource: dict[str, Any]) -> bool:
    clinical = {c for _, c in _codings(resource, "clinicalStatus")}
    verification = {c for _, c in _codings(resource, "verificationStatus")}
    if verification & {"refuted", "entered-in-error"}:
        return False
    return not clinical or bool(clinical & {"active", "recurrence", "relapse"})


def choose_regimen(resources: Sequence[dict[str, Any]]) -> str | None:
    """The regimen an active Condition selects (knowledge/cds.yaml ``indications``; the
    condition codes are the FHIR mapping's), or None."""
    from ruxtrack.sources.fhir import load_fhir_mapping

    m = load_fhir_mapping()
    conditions = [
        r for r in resources if r.get("resourceType") == "Condition" and _active_condition(r)
    ]
    codes = {pair for r in conditions for pair in _codings(r, "code")}
    present = {
        c.name for c in m.conditions if any((m.system(k.system), k.code) in codes for k in c.codes)
    }
    for ind in load_cds_knowledge().indications:
        if present & set(ind.conditions):
            return ind.regimen
    return None


def _check_patient(resources: Sequence[dict[str, Any]], patient_id: str) -> None:
    """Refuse data about another patient (a client mix-up must not become advice)."""
    wanted = f"Patient/{patient_id}"
    for r in resources:
        if r.get("resourceType") == "Patient":
            if r.get("id") not in (None, patient_id):
                raise CdsRequestError(
                    "holds a Patient other than context.patientId", field="prefetch"
                )
            continue
        for element in ("subject", "patient"):
            ref = r.get(element)
            if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
                if not ref["reference"].endswith(wanted):
                    raise CdsRequestError(
                        f"{r.get('resourceType')}/{r.get('id')} belongs to another patient",
                        field="prefetch",
                    )


class CdsEngine:
    """The two services of ``knowledge/cds.yaml`` behind one object."""

    def __init__(self, settings: CdsSettings | None = None) -> None:
        self.settings = settings or CdsSettings()
        self._cards: OrderedDict[str, tuple[str, str, str, str]] = OrderedDict()
        self._max_cards = 10_000
        self._timelines: OrderedDict[str, tuple[float, Timeline | None, tuple[Any, ...]]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    # -- discovery ---------------------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        """The discovery document."""
        return discovery_document()

    # -- hook calls --------------------------------------------------------------------------

    async def call(self, service_id: str, body: Any) -> dict[str, Any]:
        """Answer one hook call: the response JSON (raises :class:`CdsError`)."""
        kn = load_cds_knowledge()
        service = kn.service(service_id)
        if service is None:
            raise CdsNotFoundError(f"no CDS service {service_id!r}")
        request = parse_request(body)
        if request.hook not in service.hooks:
            raise CdsRequestError(
                f"{request.hook!r} is not a hook of {service_id} ({', '.join(service.hooks)})",
                field="hook",
            )
        ctx = parse_context(request.hook, request.context)
        orders, others = self._drafts(ctx)
        if isinstance(ctx, OrderSignContext) and not orders:
            return CdsResponse().to_json()  # no ruxolitinib order: nothing to say, no data read
        gathered = await gather(
            request,
            prefetch_keys(service),
            request.context,
            fetcher_factory=self.settings.fetcher_factory,
            timeout_s=kn.limits.fhir_timeout_s,
        )
        _check_patient(gathered.resources, ctx.patientId)
        cards = self._cards_for(ctx, gathered, orders, others)
        response = CdsResponse(cards=tuple(cards)).to_json()
        if self.settings.validate_responses:
            problems = check_response(response)
            if problems:  # a defect of ours: never send an invalid response
                log.error("invalid CDS response withheld: %s", "; ".join(problems))
                raise CdsError("the service built an invalid response")
        for card in cards:
            self._remember(card, service_id, ctx.patientId, request.hookInstance)
        log.info(
            "cds call service=%s hook=%s hookInstance=%s cards=%d prefetch=%s fetched=%s",
            service_id,
            request.hook,
            request.hookInstance,
            len(cards),
            ",".join(gathered.from_prefetch) or "-",
            ",".join(gathered.fetched) or "-",
        )
        return response

    @staticmethod
    def _drafts(ctx: Any) -> tuple[list[DraftOrder], list[DraftOrder]]:
        if not isinstance(ctx, OrderSignContext):
            return [], []
        selections = ctx.selections if isinstance(ctx, OrderSelectContext) else None
        orders, others = draft_orders(ctx.draftOrders.model_dump(), selections)
        return [o for o in orders if o.ruxolitinib], others

    def _cards_for(
        self, ctx: Any, gathered: Gathered, orders: list[DraftOrder], others: list[DraftOrder]
    ) -> list[Card]:
        from ruxtrack.protocol import decide

        resources = gathered.resources
        regimen = self.settings.regimen or choose_regimen(resources)
        try:
            timeline, problems = self._read(resources)
        except RuxtrackError as exc:
            timeline, problems = None, [exc]
        except Exception as exc:  # a reader defect on odd client data: no advice, logged
            log.error("FHIR reader failed on a hook call: %s", type(exc).__name__)
            timeline, problems = None, ["the chart data could not be read (reader error)"]
        if timeline is None:
            notes = tuple(str(p) for p in problems)
            return [unreadable_card(Finding(FindingCode.data_unreadable, "warning", notes=notes))]
        on_rux = bool(orders) or any(d.drug == "ruxolitinib" for d in timeline.drugs)
        if not on_rux:
            return []
        if regimen is None:
            return [no_indication_card(Finding(FindingCode.no_indication, "warning"))]
        decision = decide(timeline, regimen, self.settings.clock().date())
        links = self._links(ctx.patientId)
        cards: list[Card] = []
        if orders:
            for order in orders:
                for f in compare_order(decision, order, others):
                    cards.append(card_for(f, decision, order, links=links))
            return cards
        active = [
            n
            for r in resources
            if r.get("resourceType") == "MedicationRequest" and r.get("status") == "active"
            for n in medication_names(r)
        ]
        findings = [
            *monitoring_findings(decision, active),
            *criteria_findings(timeline, self.settings.clock().date()),
        ]
        return [card_for(f, decision, links=links) for f in findings]

    def _read(self, resources: Sequence[dict[str, Any]]) -> tuple[Timeline | None, Sequence[Any]]:
        """FHIR -> timeline, kept briefly for identical chart data (a pure function of them)."""
        reader = self.settings.timeline_reader or _default_reader
        lim = load_cds_knowledge().limits
        if lim.timeline_cache_s <= 0 or lim.timeline_cache_entries <= 0:
            return reader(resources)
        key = hashlib.sha256(
            json.dumps(resources, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()
        now = time.monotonic()
        with self._lock:
            hit = self._timelines.get(key)
        if hit is not None and hit[0] > now:
            return hit[1], hit[2]
        timeline, problems = reader(resources)
        with self._lock:
            self._timelines[key] = (now + lim.timeline_cache_s, timeline, tuple(problems))
            self._timelines.move_to_end(key)
            while len(self._timelines) > lim.timeline_cache_entries:
                self._timelines.popitem(last=False)
        return timeline, problems

    def _links(self, patient_id: str) -> tuple[Link, ...]:
        if not self.settings.app_url:
            return ()
        return (
            Link(
                label="Open in ruxtrack",
                url=self.settings.app_url,
                type="smart",
                appContext=f'{{"patient":"{patient_id}"}}',
            ),
        )

    def _remember(self, card: Card, service_id: str, patient_id: str, hook_instance: str) -> None:
        self._cards[card.uuid] = (service_id, patient_id, hook_instance, card.indicator)
        while len(self._cards) > self._max_cards:
            self._cards.popitem(last=False)

    # -- feedback ----------------------------------------------------------------------------

    def feedback(self, service_id: str, body: Any, *, client: str) -> list[FeedbackRecord]:
        """Validate a feedback body and hand each item to the audit sink."""
        if load_cds_knowledge().service(service_id) is None:
            raise CdsNotFoundError(f"no CDS service {service_id!r}")
        parsed = parse_feedback(body)
        records = []
        for item in parsed.feedback:
            known = self._cards.get(item.card)
            reason = item.overrideReason.reason if item.overrideReason else None
            records.append(
                FeedbackRecord(
                    client=client,
                    service_id=service_id,
                    card=item.card,
                    outcome=item.outcome,
                    patient_id=known[1] if known else None,
                    hook_instance=known[2] if known else None,
                    finding=known[3] if known else None,
                    accepted=tuple(a.id for a in item.acceptedSuggestions or ()),
                    override_code=reason.code if reason else None,
                    override_system=reason.system if reason else None,
                    user_comment=item.overrideReason.userComment if item.overrideReason else None,
                    outcome_timestamp=item.outcomeTimestamp,
                )
            )
        if self.settings.audit is not None:
            for rec in records:
                self.settings.audit(rec)
        return records
