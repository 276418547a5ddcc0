"""CDS Hooks 2.0 request, feedback and response shapes, and the response validator.

Requests are parsed strictly (unknown top-level fields refused, except the reserved
``extension``); a violation becomes :class:`CdsRequestError` naming the field and the reason.
Responses are built from the models below and dumped without ``None``; :func:`check_response`
checks the rules the specification puts on every response (no null or empty element, summary
under 140 characters, indicator values, ``selectionBehavior`` with suggestions, ``display`` on
override reasons, link types).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)

from ruxtrack.cds._errors import CdsRequestError

__all__ = [
    "Action",
    "Card",
    "CdsRequest",
    "CdsResponse",
    "Coding",
    "FeedbackItem",
    "FeedbackRequest",
    "FhirAuthorization",
    "Link",
    "OrderSelectContext",
    "OrderSignContext",
    "PatientViewContext",
    "Source",
    "Suggestion",
    "check_response",
    "parse_context",
    "parse_feedback",
    "parse_request",
]

_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True)
_OPEN = ConfigDict(extra="allow", strict=True, frozen=True)
NonEmpty = Annotated[StrictStr, Field(min_length=1)]
_REF = re.compile(r"^[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}$")
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
SUMMARY_MAX = 139  # "<140-character summary"


def json_list(value: Any) -> list[Any]:
    """A JSON array element as a list; anything else (malformed client data) as empty."""
    return value if isinstance(value, list) else []


def _reference(value: str) -> str:
    if not _REF.match(value):
        raise ValueError("must be [ResourceType]/[id], e.g. Practitioner/123")
    return value


def _fhir_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError("must be a FHIR id (letters, digits, '-', '.', at most 64)")
    return value


def _uuid(value: str) -> str:
    try:
        UUID(value)
    except ValueError:
        raise ValueError("must be a UUID") from None
    return value


def _url(value: str) -> str:
    if not re.match(r"^https?://[^\s/?#]+[^\s]*$", value):
        raise ValueError("must be an absolute http(s) URL")
    return value


Reference = Annotated[StrictStr, AfterValidator(_reference)]
FhirId = Annotated[StrictStr, AfterValidator(_fhir_id)]
Url = Annotated[StrictStr, AfterValidator(_url)]


# -- request ---------------------------------------------------------------------------------


class FhirAuthorization(BaseModel):
    """The bearer token the client grants for its FHIR server (never logged, never stored)."""

    model_config = _STRICT

    access_token: NonEmpty = Field(repr=False)
    token_type: Literal["Bearer"]
    expires_in: StrictInt = Field(gt=0)
    scope: NonEmpty
    subject: NonEmpty
    patient: FhirId | None = None


class CdsRequest(BaseModel):
    """A hook call: ``hook``, ``hookInstance``, FHIR access, ``context`` and ``prefetch``."""

    model_config = _STRICT

    hook: NonEmpty
    hookInstance: Annotated[StrictStr, AfterValidator(_uuid)]
    fhirServer: Url | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, dict[str, Any] | None] | None = None
    extension: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _server_with_token(self) -> CdsRequest:
        if self.fhirAuthorization is not None and self.fhirServer is None:
            raise ValueError("fhirServer is required when fhirAuthorization is given")
        return self


class _Context(BaseModel):
    model_config = _OPEN

    userId: Reference
    patientId: FhirId
    encounterId: FhirId | None = None


class PatientViewContext(_Context):
    """``patient-view`` context."""


class _Bundle(BaseModel):
    model_config = _OPEN

    resourceType: Literal["Bundle"]
    entry: list[dict[str, Any]] = Field(default_factory=list)


class OrderSignContext(_Context):
    """``order-sign`` context: the unsigned orders of the session."""

    draftOrders: _Bundle


class OrderSelectContext(OrderSignContext):
    """``order-select`` context: the session's draft orders and the ones just selected."""

    selections: Annotated[list[Reference], Field(min_length=1)]

    @model_validator(mode="after")
    def _selected_in_bundle(self) -> OrderSelectContext:
        present = {
            f"{r.get('resourceType')}/{r.get('id')}"
            for e in self.draftOrders.entry
            if isinstance(r := e.get("resource"), dict)
        }
        for sel in self.selections:
            if sel not in present:
                raise ValueError(f"selection {sel} is not in draftOrders")
        return self


_CONTEXTS: dict[str, type[_Context]] = {
    "patient-view": PatientViewContext,
    "order-select": OrderSelectContext,
    "order-sign": OrderSignContext,
}


def _reason(exc: ValidationError, prefix: str = "") -> CdsRequestError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in (*([prefix] if prefix else []), *first["loc"]))
    msg = str(first["msg"]).removeprefix("Value error, ")
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return CdsRequestError(msg + more, field=where or "(body)")


def parse_request(body: Any) -> CdsRequest:
    """Validate a decoded request body.

    Raises :class:`CdsRequestError` naming the field and the reason.

    Examples
    --------
    >>> parse_request({"hook": "patient-view"})
    Traceback (most recent call last):
    ...
    ruxtrack.cds._errors.CdsRequestError: hookInstance: Field required (and 1 more)
    """
    if not isinstance(body, dict):
        raise CdsRequestError("the request body must be a JSON object", field="(body)")
    try:
        return CdsRequest.model_validate(body)
    except ValidationError as exc:
        raise _reason(exc) from None


def parse_context(hook: str, context: dict[str, Any]) -> _Context:
    """Validate ``context`` against the hook's definition (fields a hook adds later are kept)."""
    model = _CONTEXTS.get(hook)
    if model is None:
        raise CdsRequestError(f"hook {hook!r} is not one this service answers", field="hook")
    try:
        return model.model_validate(context)
    except ValidationError as exc:
        raise _reason(exc, "context") from None


# -- feedback --------------------------------------------------------------------------------


def _utc_timestamp(value: str) -> str:
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("must be an RFC 3339 date-time") from None
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError("must carry a time zone (UTC)")
    return value


class Coding(BaseModel):
    """CDS Hooks Coding: code and system; display where required."""

    model_config = _STRICT

    code: NonEmpty
    system: NonEmpty
    display: NonEmpty | None = None


class _Accepted(BaseModel):
    model_config = _STRICT

    id: NonEmpty


class _OverrideReason(BaseModel):
    model_config = _STRICT

    reason: Coding | None = None
    userComment: Annotated[StrictStr, Field(min_length=1, max_length=2000)] | None = None


class FeedbackItem(BaseModel):
    """One outcome reported for a card."""

    model_config = _STRICT

    card: NonEmpty
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[_Accepted] | None = None
    overrideReason: _OverrideReason | None = None
    outcomeTimestamp: Annotated[StrictStr, AfterValidator(_utc_timestamp)]

    @model_validator(mode="after")
    def _conditional(self) -> FeedbackItem:
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("acceptedSuggestions is required for an accepted outcome")
        if self.outcome == "accepted" and self.overrideReason is not None:
            raise ValueError("overrideReason belongs to an overridden outcome")
        return self


class FeedbackRequest(BaseModel):
    """The body of a feedback call."""

    model_config = _STRICT

    feedback: Annotated[list[FeedbackItem], Field(min_length=1, max_length=100)]


def parse_feedback(body: Any) -> FeedbackRequest:
    """Validate a decoded feedback body (:class:`CdsRequestError` on a violation)."""
    if not isinstance(body, dict):
        raise CdsRequestError("the request body must be a JSON object", field="(body)")
    try:
        return FeedbackRequest.model_validate(body)
    except ValidationError as exc:
        raise _reason(exc) from None


# -- response --------------------------------------------------------------------------------

_OUT = ConfigDict(extra="forbid", frozen=True)


class Source(BaseModel):
    """Card source: label, optional absolute url and topic."""

    model_config = _OUT

    label: NonEmpty
    url: Url | None = None
    topic: Coding | None = None


class Action(BaseModel):
    """A suggested create / update / delete."""

    model_config = _OUT

    type: Literal["create", "update", "delete"]
    description: NonEmpty
    resource: dict[str, Any] | None = None
    resourceId: NonEmpty | None = None


class Suggestion(BaseModel):
    """A set of actions the user may accept together."""

    model_config = _OUT

    label: NonEmpty
    uuid: NonEmpty
    isRecommended: StrictBool | None = None
    actions: tuple[Action, ...] | None = None


class Link(BaseModel):
    """A link to more information or to a SMART app."""

    model_config = _OUT

    label: NonEmpty
    url: Url
    type: Literal["absolute", "smart"]
    appContext: NonEmpty | None = None


class Card(BaseModel):
    """One card."""

    model_config = _OUT

    uuid: NonEmpty
    summary: Annotated[StrictStr, Field(min_length=1, max_length=SUMMARY_MAX)]
    detail: NonEmpty | None = None
    indicator: Literal["info", "warning", "critical"]
    source: Source
    suggestions: tuple[Suggestion, ...] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: tuple[Coding, ...] | None = None
    links: tuple[Link, ...] | None = None


class CdsResponse(BaseModel):
    """The service response."""

    model_config = _OUT

    cards: tuple[Card, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Plain JSON with optional elements omitted (never null)."""
        out: dict[str, Any] = self.model_dump(mode="json", exclude_none=True)
        return out


# -- validation of what goes out --------------------------------------------------------------


def _empties(obj: Any, path: str, out: list[str]) -> None:
    if obj is None:
        out.append(f"{path}: null")
    elif isinstance(obj, str | list | dict | tuple) and len(obj) == 0:
        if path != "cards":
            out.append(f"{path}: empty")
    if isinstance(obj, dict):
        for k, v in obj.items():
            _empties(v, f"{path}.{k}" if path else k, out)
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            _empties(v, f"{path}[{i}]", out)


def _card_problems(i: int, card: dict[str, Any], out: list[str]) -> None:
    where = f"cards[{i}]"
    for req in ("summary", "indicator", "source"):
        if req not in card:
            out.append(f"{where}.{req}: missing")
    summary = card.get("summary", "")
    if isinstance(summary, str) and len(summary) >= SUMMARY_MAX + 1:
        out.append(f"{where}.summary: {len(summary)} characters (must be < 140)")
    if card.get("indicator") not in ("info", "warning", "critical"):
        out.append(f"{where}.indicator: {card.get('indicator')!r} is not info/warning/critical")
    source = card.get("source") or {}
    if not isinstance(source, dict) or not source.get("label"):
        out.append(f"{where}.source.label: missing")
    if "suggestions" in card and card.get("selectionBehavior") not in ("at-most-one", "any"):
        out.append(f"{where}.selectionBehavior: required with suggestions")
    for j, reason in enumerate(card.get("overrideReasons") or []):
        if not isinstance(reason, dict) or not reason.get("display"):
            out.append(f"{where}.overrideReasons[{j}].display: missing")
    for j, sug in enumerate(card.get("suggestions") or []):
        if not sug.get("label"):
            out.append(f"{where}.suggestions[{j}].label: missing")
        for k, act in enumerate(sug.get("actions") or []):
            at = f"{where}.suggestions[{j}].actions[{k}]"
            if act.get("type") not in ("create", "update", "delete"):
                out.append(f"{at}.type: {act.get('type')!r}")
            if not act.get("description"):
                out.append(f"{at}.description: missing")
            if act.get("type") in ("create", "update") and not isinstance(
                act.get("resource"), dict
            ):
                out.append(f"{at}.resource: a FHIR resource is required for {act.get('type')}")
            if act.get("type") == "delete" and not act.get("resourceId"):
                out.append(f"{at}.resourceId: required for delete")
    for j, link in enumerate(card.get("links") or []):
        if link.get("type") not in ("absolute", "smart"):
            out.append(f"{where}.links[{j}].type: {link.get('type')!r}")
        if link.get("type") == "absolute" and "appContext" in link:
            out.append(f"{where}.links[{j}].appContext: not valid on an absolute link")


def check_response(payload: Any) -> list[str]:
    """Every rule the specification puts on a service response that ``payload`` breaks.

    An empty list means the response is valid.

    Examples
    --------
    >>> check_response({"cards": []})
    []
    >>> check_response({"cards": [{"summary": "x", "indicator": "info",
    ...                             "source": {"label": "s", "url": None}}]})
    ['cards[0].source.url: null']
    """
    out: list[str] = []
    if not isinstance(payload, dict) or not isinstance(payload.get("cards"), list):
        return ["cards: a JSON object with a cards array is required"]
    _empties(payload, "", out)
    for i, card in enumerate(payload["cards"]):
        if isinstance(card, dict):
            _card_problems(i, card, out)
        else:
            out.append(f"cards[{i}]: not an object")
    return out
