"""CDS Hooks 2.0 services for ruxolitinib (core: no web imports).

Two services (``knowledge/cds.yaml``): ``ruxolitinib-order-check`` on ``order-select`` and
``order-sign`` compares a draft ruxolitinib MedicationRequest with today's protocol decision;
``ruxolitinib-monitoring`` on ``patient-view`` reports labs due, a dose change due and
interacting drugs. :class:`CdsEngine` answers discovery, hook calls and feedback;
:class:`JwtVerifier` checks the client's JWT; :func:`check_response` checks any response
against the specification's rules. The web face (``ruxtrack.web.cds``) mounts them.
"""

from ruxtrack.cds._cards import card_for, recommended_dosage
from ruxtrack.cds._compare import (
    Finding,
    FindingCode,
    compare_order,
    interacting_drugs,
    missing_inputs,
    monitoring_findings,
)
from ruxtrack.cds._discovery import (
    discovery_document,
    fill_template,
    prefetch_keys,
    prefetch_templates,
)
from ruxtrack.cds._draft import DraftOrder, draft_orders, is_ruxolitinib
from ruxtrack.cds._errors import CdsAuthError, CdsError, CdsPreconditionError, CdsRequestError
from ruxtrack.cds._jwt import ALGORITHMS, JwtVerifier, ReplayCache, TrustedIssuer, VerifiedClient
from ruxtrack.cds._knowledge import CdsKnowledge, load_cds_knowledge
from ruxtrack.cds._models import (
    Card,
    CdsRequest,
    CdsResponse,
    FeedbackRequest,
    check_response,
    parse_context,
    parse_feedback,
    parse_request,
)
from ruxtrack.cds._prefetch import (
    FhirFetcher,
    Gathered,
    fhirpy_fetcher,
    gather,
    prefetch_from_resources,
)
from ruxtrack.cds._service import (
    CdsEngine,
    CdsNotFoundError,
    CdsSettings,
    FeedbackRecord,
    TimelineReader,
    choose_regimen,
)

__all__ = [
    "ALGORITHMS",
    "Card",
    "CdsAuthError",
    "CdsEngine",
    "CdsError",
    "CdsKnowledge",
    "CdsNotFoundError",
    "CdsPreconditionError",
    "CdsRequest",
    "CdsRequestError",
    "CdsResponse",
    "CdsSettings",
    "DraftOrder",
    "FeedbackRecord",
    "FeedbackRequest",
    "FhirFetcher",
    "Finding",
    "FindingCode",
    "Gathered",
    "JwtVerifier",
    "ReplayCache",
    "TimelineReader",
    "TrustedIssuer",
    "VerifiedClient",
    "card_for",
    "check_response",
    "choose_regimen",
    "compare_order",
    "discovery_document",
    "draft_orders",
    "fhirpy_fetcher",
    "fill_template",
    "gather",
    "interacting_drugs",
    "is_ruxolitinib",
    "load_cds_knowledge",
    "missing_inputs",
    "monitoring_findings",
    "parse_context",
    "parse_feedback",
    "parse_request",
    "prefetch_from_resources",
    "prefetch_keys",
    "prefetch_templates",
    "recommended_dosage",
]
