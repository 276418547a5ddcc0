"""The REST API (JSON; OpenAPI at ``/openapi.json``): the pages' data for scripts, same roles.

Authenticate with ``Authorization: Bearer <token>`` (``ruxtrack users token NAME``) or the
browser session (then the CSRF header is needed on writes). Every response code an endpoint can
return is declared in the schema.
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import Annotated, Any

from litestar import Request, Router, get, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ruxtrack.errors import RuxtrackError
from ruxtrack.protocol import decide, replay
from ruxtrack.store import PatientNotFoundError
from ruxtrack.web import _accounts as accounts
from ruxtrack.web._faces import (
    course_chart,
    decision_json,
    regimen_ids,
)
from ruxtrack.web._security import allow
from ruxtrack.web._views import (
    ADMIN,
    ANY_ROLE,
    CLINICIAN,
    RECORDS,
    RESEARCHER,
    add_records,
    client_of,
    find_patients,
    lab_observation,
    read_timeline,
    store_of,
    user_of,
)

__all__ = ["api_routes"]

Req = Request[Any, Any, Any]
_PID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_IDENT = r"^[a-z][a-z0-9_]{0,63}$"
PatientId = Annotated[
    str, Parameter(pattern=_PID, max_length=64, description="pseudonymous patient id")
]


class ApiError(BaseModel):
    """An error: HTTP status and what went wrong (never patient data beyond what was sent)."""

    status_code: int
    detail: str
    extra: Any | None = None


def _responses(*codes: int) -> dict[int, ResponseSpec]:
    text = {
        400: "The request does not match the schema",
        401: "No or an unknown API token / session",
        403: "The caller's role may not use this endpoint (or the CSRF token is missing)",
        404: "No such patient, regimen, criterion, study or user",
        409: "Already exists",
        422: "Refused by the clinical checks (unit, plausible range, timeline); nothing stored",
    }
    return {
        c: ResponseSpec(data_container=ApiError, description=text[c]) for c in (401, 403, *codes)
    }


class PatientOut(BaseModel):
    patient_id: str
    sex: str
    age_years: float | None
    synthetic: bool
    time_basis: str
    status: str = Field(description="died, discharged, icu or ward (from the recorded events)")
    events: list[str]
    counts: dict[str, int]


class ObservationIn(BaseModel):
    """A lab value as typed: the unit is checked against the catalogue, as in imports."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=_IDENT, max_length=64, examples=["plt"])
    value: float = Field(allow_inf_nan=False, examples=[42])
    unit: str = Field(min_length=1, max_length=32, examples=["10*9/L"])
    time: str = Field(
        min_length=1, max_length=64, description="ISO date(-time) or e.g. rux_start+3d"
    )
    reason: str | None = Field(default=None, max_length=500)


class ObservationOut(BaseModel):
    patient_id: str
    code: str
    value: float
    unit: str
    source_value: float | None
    source_unit: str | None
    time: str


class Me(BaseModel):
    name: str
    role: str


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    role: str = Field(pattern=r"^(clinician|data-manager|researcher|admin)$")


class UserOut(BaseModel):
    name: str
    role: str
    disabled: bool


class NewUser(BaseModel):
    name: str
    role: str
    password: str = Field(description="one-time password, shown once")


class TokenOut(BaseModel):
    name: str
    token: str = Field(description="API token, shown once")


def _unprocessable(exc: Exception) -> HTTPException:
    if isinstance(exc, ValidationError):
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
    else:
        detail = f"{type(exc).__name__}: {exc}"
    return HTTPException(status_code=422, detail=detail)


def _missing(exc: PatientNotFoundError) -> NotFoundException:
    return NotFoundException(detail=str(exc))


def _timeline(request: Req, patient_id: str, purpose: str) -> Any:
    try:
        return read_timeline(request, patient_id, purpose)
    except PatientNotFoundError as exc:
        raise _missing(exc) from exc


@get("/me", guards=[allow(*ANY_ROLE)], sync_to_thread=False, responses=_responses())
def me(request: Req) -> Me:
    """Who is calling."""
    u = user_of(request)
    return Me(name=u.name, role=u.role)


@get("/regimens", guards=[allow(*ANY_ROLE)], sync_to_thread=False, responses=_responses())
def regimens() -> list[str]:
    """The packaged regimens."""
    return list(regimen_ids())


@get("/patients", guards=[allow(*RECORDS)], sync_to_thread=True, responses=_responses(400))
def list_patients(
    request: Req,
    q: Annotated[str | None, Parameter(max_length=64, description="part of the patient id")] = None,
    status: Annotated[str | None, Parameter(pattern="^(died|discharged|icu|ward)$")] = None,
    regimen: Annotated[
        str | None,
        Parameter(
            pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$",
            description="age within the regimen's population",
        ),
    ] = None,
) -> list[PatientOut]:
    """Patients in the store (search by id; filter by status and regimen population)."""
    return [
        PatientOut(
            patient_id=s.patient_id,
            sex=s.sex,
            age_years=s.age_years,
            synthetic=s.synthetic,
            time_basis=s.time_basis,
            status=st,
            events=list(s.anchors),
            counts=dict(s.counts),
        )
        for s, st in find_patients(request, q, status, regimen)
    ]


@get(
    "/patients/{patient_id:str}",
    guards=[allow(*RECORDS)],
    sync_to_thread=True,
    responses=_responses(400, 404),
)
def get_patient(request: Req, patient_id: PatientId) -> dict[str, Any]:
    """A patient's timeline (the canonical JSON form of docs/data-model.md)."""
    tl = _timeline(request, patient_id, "api patient")
    data: dict[str, Any] = tl.model_dump(mode="json")
    return data


@get(
    "/patients/{patient_id:str}/course",
    guards=[allow(*RECORDS)],
    sync_to_thread=True,
    responses=_responses(400, 404),
)
def get_course(
    request: Req,
    patient_id: PatientId,
    anchor: Annotated[
        str | None, Parameter(pattern=r"^[a-z][a-z0-9_]*(#[1-9][0-9]*)?$", max_length=64)
    ] = None,
) -> dict[str, Any]:
    """The course chart's data: drugs, respiratory support, marker panels, events; days from
    ``anchor`` (any recorded event; default the first)."""
    from ruxtrack.web._pages import _marker_names, _panels

    tl = _timeline(request, patient_id, "course chart")
    return course_chart(tl, anchor, _panels(), _marker_names())


@get(
    "/patients/{patient_id:str}/decision",
    guards=[allow(*CLINICIAN)],
    sync_to_thread=True,
    responses=_responses(400, 404, 422),
)
def get_decision(
    request: Req,
    patient_id: PatientId,
    regimen: Annotated[str, Parameter(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")],
    date_: Annotated[
        date, Parameter(query="date", description="the calendar day decided (YYYY-MM-DD)")
    ],
) -> dict[str, Any]:
    """The dose decision for one patient-day (stable codes, rationale with sources)."""
    if regimen not in regimen_ids():
        raise NotFoundException(detail=f'unknown regimen "{regimen}"')
    tl = _timeline(request, patient_id, f"decision {regimen}")
    try:
        return decision_json(decide(tl, regimen, date_))
    except (RuxtrackError, ValueError, OverflowError) as exc:
        raise _unprocessable(exc) from exc


@get(
    "/patients/{patient_id:str}/criteria/{criterion:str}",
    guards=[allow(*RECORDS)],
    sync_to_thread=True,
    responses=_responses(400, 404, 422),
)
def get_criteria(
    request: Req,
    patient_id: PatientId,
    criterion: Annotated[str, Parameter(pattern=_IDENT)],
    at: Annotated[
        str | None, Parameter(max_length=64, description="ISO date(-time) or e.g. hsct#2+74d")
    ] = None,
) -> dict[str, Any]:
    """A criterion evaluated on the timeline at a time (unknown inputs stay unknown)."""
    from ruxtrack.criteria import evaluate_timeline, list_criteria
    from ruxtrack.timeline import parse_time

    if criterion not in {c.id for c in list_criteria()}:
        raise NotFoundException(detail=f'unknown criterion "{criterion}"')
    tl = _timeline(request, patient_id, f"criteria {criterion}")
    try:
        ev = evaluate_timeline(criterion, tl, at=tl.at(parse_time(at)) if at else None)
    except (RuxtrackError, ValueError, OverflowError) as exc:
        raise _unprocessable(exc) from exc
    data: dict[str, Any] = ev.model_dump(mode="json")
    return data


@get(
    "/patients/{patient_id:str}/replay",
    guards=[allow(*RECORDS)],
    sync_to_thread=True,
    responses=_responses(400, 404, 422),
)
def get_replay(
    request: Req,
    patient_id: PatientId,
    regimen: Annotated[str, Parameter(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")],
) -> dict[str, Any]:
    """The recorded course replayed against a regimen, day by day and in episodes."""
    if regimen not in regimen_ids():
        raise NotFoundException(detail=f'unknown regimen "{regimen}"')
    tl = _timeline(request, patient_id, f"replay {regimen}")
    try:
        rep = replay(tl, regimen)
    except (RuxtrackError, ValueError) as exc:
        raise _unprocessable(exc) from exc
    data: dict[str, Any] = rep.model_dump(mode="json")
    return data


@post(
    "/patients/{patient_id:str}/observations",
    guards=[allow(*RECORDS)],
    sync_to_thread=True,
    status_code=201,
    responses=_responses(400, 404, 422),
)
def post_observation(request: Req, patient_id: PatientId, data: ObservationIn) -> ObservationOut:
    """Record a lab value: unit checked and converted as in imports, implausible values refused
    with the reason; stored through the store's one transactional door and audited."""
    tl = _timeline(request, patient_id, "api add observation")
    try:
        obs = lab_observation(
            patient_id, data.code, data.value, data.unit, data.time, f"api:{user_of(request).name}"
        )
        add_records(request, tl, "observations", obs, data.reason)
    except (RuxtrackError, ValueError, ValidationError, OverflowError) as exc:
        raise _unprocessable(exc) from exc
    return ObservationOut(
        patient_id=patient_id, code=obs.code, value=obs.value, unit=obs.unit,
        source_value=obs.source_value, source_unit=obs.source_unit, time=str(obs.time),
    )  # fmt: skip


@get("/studies", guards=[allow(*RESEARCHER)], sync_to_thread=True, responses=_responses())
def list_studies() -> list[str]:
    """The shipped studies a researcher can run."""
    from ruxtrack.web._research import list_studies as studies

    return studies()


@post(
    "/studies/{study:str}/runs",
    guards=[allow(*RESEARCHER)],
    sync_to_thread=True,
    status_code=201,
    responses=_responses(400, 404, 422),
)
def run_study(
    request: Req, study: Annotated[str, Parameter(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
) -> dict[str, Any]:
    """Run a shipped study on the store: de-identified aggregate results (flow, tables)."""
    from ruxtrack.web._research import get_run
    from ruxtrack.web._research import list_studies as studies
    from ruxtrack.web._research import run_study as run

    if study not in studies():
        raise NotFoundException(detail=f'unknown study "{study}"')
    try:
        rid = run(
            request.app.state, store_of(request), study, user_of(request).name, client_of(request)
        )
    except (RuxtrackError, ValueError) as exc:
        raise _unprocessable(exc) from exc
    v = get_run(request.app.state, rid)
    return {
        "run": v.id,
        "study": v.study,
        "title": v.title,
        "n_read": v.n_read,
        "n_included": v.n_included,
        "flow": [list(f) for f in v.flow],
        "tables": dict(v.tables),
    }


@get("/users", guards=[allow(*ADMIN)], sync_to_thread=True, responses=_responses())
def list_users(request: Req) -> list[UserOut]:
    """Accounts."""
    return [
        UserOut(name=u.name, role=u.role, disabled=d)
        for u, d in accounts.list_users(store_of(request))
    ]


@post(
    "/users",
    guards=[allow(*ADMIN)],
    sync_to_thread=True,
    status_code=201,
    responses=_responses(400, 409),
)
def add_user(request: Req, data: UserIn) -> NewUser:
    """Create an account; its one-time password is returned once."""
    store = store_of(request)
    if any(u.name == data.name for u, _ in accounts.list_users(store)):
        raise HTTPException(status_code=409, detail=f'user "{data.name}" exists')
    password = secrets.token_urlsafe(12)
    accounts.create_user(store, data.name, data.role, password)
    accounts.audit(
        store,
        user_of(request).name,
        "user.add",
        None,
        {"user": data.name, "role": data.role},
        client_of(request),
    )
    return NewUser(name=data.name, role=data.role, password=password)


def _known_user(request: Req, name: str) -> None:
    if not any(u.name == name for u, _ in accounts.list_users(store_of(request))):
        raise NotFoundException(detail=f'no user "{name}"')


UserName = Annotated[str, Parameter(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]


@post(
    "/users/{name:str}/disable",
    guards=[allow(*ADMIN)],
    sync_to_thread=True,
    status_code=200,
    responses=_responses(400, 404),
)
def disable_user(request: Req, name: UserName) -> UserOut:
    """Disable an account (no sign-in, no token use)."""
    _known_user(request, name)
    accounts.disable_user(store_of(request), name)
    accounts.audit(
        store_of(request),
        user_of(request).name,
        "user.disable",
        None,
        {"user": name},
        client_of(request),
    )
    role = next(u.role for u, _ in accounts.list_users(store_of(request)) if u.name == name)
    return UserOut(name=name, role=role, disabled=True)


@post(
    "/users/{name:str}/tokens",
    guards=[allow(*ADMIN)],
    sync_to_thread=True,
    status_code=201,
    responses=_responses(400, 404),
)
def issue_token(request: Req, name: UserName) -> TokenOut:
    """Issue an API token for an account (shown once, stored hashed)."""
    _known_user(request, name)
    token = accounts.issue_token(store_of(request), name)
    accounts.audit(
        store_of(request),
        user_of(request).name,
        "token.issue",
        None,
        {"user": name},
        client_of(request),
    )
    return TokenOut(name=name, token=token)


def api_routes() -> list[Any]:
    """The ``/api`` router."""
    return [
        Router(
            path="/api",
            route_handlers=[
                me, regimens, list_patients, get_patient, get_course, get_decision, get_criteria,
                get_replay, post_observation, list_studies, run_study, list_users, add_user,
                disable_user, issue_token,
            ],
            tags=["ruxtrack"],
        )
    ]  # fmt: skip
