"""The FHIR data of a hook call: from prefetch, else from the client's FHIR server (fhirpy).

The specification lets a client satisfy any subset of the prefetch templates; the service
checks what it got against its templates, fetches the rest when the client gave
``fhirServer`` and ``fhirAuthorization``, and answers 412 when it can do neither. A prefetch
value that is an OperationOutcome (or a Bundle of only outcomes) counts as not satisfied.
The access token is used for the calls to the client's server and nowhere else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl

from ruxtrack.cds._discovery import fill_template, prefetch_templates
from ruxtrack.cds._errors import CdsPreconditionError, CdsRequestError
from ruxtrack.cds._models import CdsRequest, json_list

__all__ = ["FhirFetcher", "Gathered", "fhirpy_fetcher", "gather", "prefetch_from_resources"]

_MAX_PAGES = 20


class FhirFetcher(Protocol):
    """Reads from the client's FHIR server: a relative URL (``Type?query`` or ``Type/id``)."""

    async def __call__(self, relative_url: str) -> dict[str, Any] | None: ...


FetcherFactory = Callable[[str, str, float], FhirFetcher]


@dataclass
class Gathered:
    """The resources of a call, where each key came from and what the client reported."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    from_prefetch: list[str] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)


def fhirpy_fetcher(base_url: str, access_token: str, timeout_s: float) -> FhirFetcher:
    """A fetcher on fhirpy's async client (bearer token; next pages followed on the same server)."""
    from aiohttp import ClientTimeout
    from fhirpy import AsyncFHIRClient

    client = AsyncFHIRClient(
        base_url,
        authorization=f"Bearer {access_token}",
        aiohttp_config={"timeout": ClientTimeout(total=timeout_s)},
    )
    base = base_url.rstrip("/") + "/"

    async def fetch(relative_url: str) -> dict[str, Any] | None:
        if relative_url.startswith(("http://", "https://")):
            if not relative_url.startswith(base):
                return None  # never send the token to another server
            relative_url = relative_url[len(base) :]
        path, _, query = relative_url.partition("?")
        params: dict[str, Any] = {}
        for k, v in parse_qsl(query, keep_blank_values=True):
            params.setdefault(k, []).append(v)
        flat = {k: v[0] if len(v) == 1 else v for k, v in params.items()}
        result: dict[str, Any] = await client.execute(path, method="get", params=flat)
        return result

    return fetch


def _is_outcome(value: Any) -> bool:
    return isinstance(value, dict) and value.get("resourceType") == "OperationOutcome"


def _outcome_text(value: dict[str, Any]) -> str:
    issues = json_list(value.get("issue"))
    texts = [
        str(i.get("diagnostics") or i.get("code") or "issue") for i in issues if isinstance(i, dict)
    ]
    return "; ".join(texts) or "OperationOutcome"


def _resources(value: dict[str, Any], key: str, out: Gathered) -> bool:
    """Add a prefetch value's resources; False when it is only an OperationOutcome."""
    if _is_outcome(value):
        out.outcomes.append(f"{key}: {_outcome_text(value)}")
        return False
    if value.get("resourceType") != "Bundle":
        out.resources.append(value)
        return True
    found = False
    for e in json_list(value.get("entry")):
        r = e.get("resource") if isinstance(e, dict) else None
        if not isinstance(r, dict):
            continue
        if _is_outcome(r):
            out.outcomes.append(f"{key}: {_outcome_text(r)}")
            continue
        out.resources.append(r)
        found = True
    return found or not value.get("entry")


def _next_link(bundle: dict[str, Any]) -> str | None:
    for link in json_list(bundle.get("link")):
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            return url if isinstance(url, str) else None
    return None


async def _follow(
    fetch: FhirFetcher | None, bundle: dict[str, Any], key: str, out: Gathered
) -> None:
    pages = 0
    nxt = _next_link(bundle) if fetch is not None else None
    while nxt is not None and fetch is not None and pages < _MAX_PAGES:
        page = await fetch(nxt)
        if not isinstance(page, dict):
            break
        _resources(page, key, out)
        nxt = _next_link(page)
        pages += 1


async def gather(
    request: CdsRequest,
    keys: Sequence[str],
    context: dict[str, Any],
    *,
    fetcher_factory: FetcherFactory | None = None,
    timeout_s: float = 5.0,
) -> Gathered:
    """The resources for ``keys``: prefetch first, then the FHIR server, else 412."""
    templates = prefetch_templates()
    prefetch = request.prefetch or {}
    out = Gathered()
    fetch: FhirFetcher | None = None
    if request.fhirServer is not None and request.fhirAuthorization is not None:
        factory = fetcher_factory or fhirpy_fetcher
        fetch = factory(request.fhirServer, request.fhirAuthorization.access_token, timeout_s)
    missing: list[str] = []
    for key in keys:
        if key in prefetch:
            value = prefetch[key]
            if value is None:  # "no data" for this template
                out.from_prefetch.append(key)
                continue
            if not isinstance(value.get("resourceType"), str):
                raise CdsRequestError("is not a FHIR resource", field=f"prefetch.{key}")
            if _resources(value, key, out):
                out.from_prefetch.append(key)
                if value.get("resourceType") == "Bundle":
                    await _follow(fetch, value, key, out)
                continue
        missing.append(key)
    if missing and fetch is None:
        raise CdsPreconditionError(
            "prefetch lacks " + ", ".join(missing) + " and no FHIR server access was given"
        )
    for key in missing:
        url = fill_template(templates[key], context)
        if url is None:
            continue
        try:
            value = await fetch(url) if fetch is not None else None
        except Exception as exc:  # the client's server failed: the data cannot be had
            raise CdsPreconditionError(
                f"the FHIR server did not answer {key} ({type(exc).__name__})"
            ) from None
        if isinstance(value, dict):
            if not _resources(value, key, out):
                raise CdsPreconditionError(f"the FHIR server refused {key}")
            if value.get("resourceType") == "Bundle":
                await _follow(fetch, value, key, out)
        out.fetched.append(key)
    return out


AsyncFetch = Callable[[str], Awaitable[dict[str, Any] | None]]


def _matches(resource: dict[str, Any], params: dict[str, str]) -> bool:
    for name, value in params.items():
        if name == "patient":
            ref = resource.get("subject") or resource.get("patient") or {}
            if not isinstance(ref, dict) or ref.get("reference") != f"Patient/{value}":
                return False
        elif name == "code":
            wanted = {tuple(v.split("|", 1)) if "|" in v else ("", v) for v in value.split(",")}
            concept = resource.get("code") or {}
            codings = json_list(concept.get("coding")) if isinstance(concept, dict) else []
            have = {(str(c.get("system")), str(c.get("code"))) for c in codings}
            if not any(w in have or ("", w[1]) in {("", h[1]) for h in have} for w in wanted):
                return False
    return True


def prefetch_from_resources(
    resources: Sequence[dict[str, Any]], keys: Sequence[str], context: dict[str, Any]
) -> dict[str, dict[str, Any] | None]:
    """Satisfy the prefetch templates from a local set of resources, as a client would.

    Used where ruxtrack is its own client (the card preview page, the benchmark). Only the
    template forms the services use are understood: ``Type/{{id}}`` and ``Type?patient=..&
    code=system|code,..`` (``_sort`` and ``_count`` ignored).
    """
    templates = prefetch_templates()
    out: dict[str, dict[str, Any] | None] = {}
    for key in keys:
        url = fill_template(templates[key], context)
        if url is None:
            continue
        path, _, query = url.partition("?")
        if "/" in path:
            rtype, rid = path.split("/", 1)
            out[key] = next(
                (r for r in resources if r.get("resourceType") == rtype and r.get("id") == rid),
                None,
            )
            continue
        params = {k: v for k, v in parse_qsl(query) if not k.startswith("_")}
        hits = [r for r in resources if r.get("resourceType") == path and _matches(r, params)]
        out[key] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(hits),
            "entry": [{"resource": r} for r in hits],
        }
    return out
