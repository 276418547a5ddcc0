"""The HTML pages (Jinja2 templates, htmx partials). Each handler parses, calls the core through
``_faces``/``_views`` and renders; every one carries a role guard."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import yaml
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body
from litestar.response import File, Redirect, Response, Template
from pydantic import ValidationError

from ruxtrack.errors import RuxtrackError
from ruxtrack.protocol import Decision, decide, replay
from ruxtrack.timeline import (
    Assessment,
    DrugExposure,
    SupportEpisode,
    Timeline,
    parse_time,
)
from ruxtrack.units import load_catalogue
from ruxtrack.web import _accounts as accounts
from ruxtrack.web._faces import (
    STATUSES,
    decision_html,
    regimen_ids,
    resolve_day,
)
from ruxtrack.web._security import allow, sign_in
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
    what_if,
)

__all__ = ["page_routes"]

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
Req = Request[Any, Any, Any]

#: Criteria offered on the patient page (evaluated at one day).
PANEL_CRITERIA: tuple[tuple[str, str], ...] = (
    ("hlh2004", "HLH-2004"),
    ("hscore", "HScore"),
    ("ctcae", "CTCAE v5.0"),
    ("magic_agvhd", "MAGIC (acute GVHD)"),
    ("who_cps", "WHO clinical progression scale"),
)
#: Labs offered in the data-entry and what-if forms (the catalogue checks the unit).
ENTRY_LABS: tuple[str, ...] = (
    "plt", "anc", "hb", "wbc", "lymph", "creat", "bili_total", "alt", "ast", "ferritin",
    "crp", "ldh", "il6", "ddimer_feu", "tg", "fibrinogen", "kl6", "spd", "sil2r_units",
    "spo2", "fio2", "temp", "weight", "height",
)  # fmt: skip


@cache
def _panels() -> list[list[str]]:
    data = yaml.safe_load((Path(__file__).parent / "course_panels.yaml").read_text("utf-8"))
    return [list(p) for p in data["panels"]]


@cache
def _lab_choices() -> list[dict[str, str]]:
    cat = load_catalogue()
    out = []
    for code in ENTRY_LABS:
        e = cat.get(code)
        if e is not None:
            units = [u.unit for u in e.units] or [e.canonical_unit]
            out.append(
                {"code": code, "name": e.name, "unit": e.canonical_unit, "units": " ".join(units)}
            )
    return out


def _marker_names() -> dict[str, str]:
    cat = load_catalogue()
    return {c: cat.get(c).name for c in cat.codes if cat.get(c) is not None}


def _ctx(request: Req, **kw: Any) -> dict[str, Any]:
    session = request.session if "session" in request.scope else {}
    flash = session.pop("flash", None) if session else None
    return {"user": user_of(request), "flash": flash, **kw}


def _flash(request: Req, text: str) -> None:
    request.session["flash"] = text


def _today() -> datetime:
    return datetime.now(UTC)


def _fallback_card(request: Req) -> Any:
    tmpl = request.app.template_engine.get_template("_decision_fallback.html")  # type: ignore[union-attr]
    return lambda d: tmpl.render(d=d)


def _card(
    request: Req, tl: Timeline, regimen: str, day: str | None, preview: Any = None
) -> Template:
    choice = resolve_day(tl, day, _today().date())
    error = None
    html = ""
    if regimen not in regimen_ids():
        error = f'unknown regimen "{regimen}"'
    else:
        try:
            d: Decision = (
                what_if(tl, preview, regimen, datetime.combine(choice.on, datetime.min.time()))
                if preview is not None
                else decide(tl, regimen, choice.on)
            )
            html = decision_html(d, _fallback_card(request))
        except RuxtrackError as exc:
            error = f"{type(exc).__name__}: {exc}"
    return Template(
        "_dose_card.html",
        context={
            "card_html": html,
            "error": error,
            "choice": choice,
            "regimen": regimen,
            "preview": preview,
            "patient_id": tl.patient.patient_id,
        },
    )


# -- sign-in --------------------------------------------------------------------------------


@get("/login", sync_to_thread=False, include_in_schema=False)
def login_page() -> Template:
    """Sign-in form (public)."""
    return Template("login.html", context={"user": None, "error": None})


@post("/login", sync_to_thread=True, include_in_schema=False)
def login(request: Req, data: Form) -> Response[Any]:
    """Check name and password (lockout applies), then a new session under a new id."""
    name = str(data.get("username", "")).strip()[:128]
    user = accounts.authenticate(store_of(request), name, str(data.get("password", ""))[:1024])
    if user is None:
        return Template(
            "login.html",
            context={
                "user": None,
                "error": (
                    "Sign-in failed: wrong name or password, or the account is locked or disabled."
                ),
            },
            status_code=401,
        )
    sign_in(request, user)
    accounts.audit(store_of(request), user.name, "sign-in", None, None, client_of(request))
    return Redirect("/")


@post("/logout", guards=[allow(*ANY_ROLE)], sync_to_thread=False, include_in_schema=False)
def logout(request: Req) -> Redirect:
    """End the session."""
    request.clear_session()
    return Redirect("/login")


@get("/", guards=[allow(*ANY_ROLE)], sync_to_thread=False, include_in_schema=False)
def home(request: Req) -> Redirect:
    """Each role's start page."""
    role = user_of(request).role
    target = {"researcher": "/cohort", "admin": "/admin/users"}.get(role, "/patients")
    return Redirect(target)


# -- patients -------------------------------------------------------------------------------


def _filtered(
    request: Req, q: str | None, status: str | None, regimen: str | None
) -> list[dict[str, Any]]:
    return [{"s": s, "status": st} for s, st in find_patients(request, q, status, regimen)]


@get("/patients", guards=[allow(*RECORDS)], sync_to_thread=True, include_in_schema=False)
def patients_page(
    request: Req, q: str | None = None, status: str | None = None, regimen: str | None = None
) -> Template:
    """Patient list with search and filters (htmx refreshes the rows)."""
    rows = _filtered(request, q, status, regimen)
    name = "_patient_rows.html" if request.headers.get("hx-request") else "patients.html"
    return Template(
        name,
        context=_ctx(
            request, rows=rows, q=q or "", status=status or "", regimen=regimen or "",
            statuses=STATUSES, regimens=regimen_ids(),
        ),
    )  # fmt: skip


def _default_regimen(tl: Timeline) -> str:
    rid = "tomomasa-2021-ips" if tl.time_basis == "relative" else "sarmiento-2021-covid"
    return rid if rid in regimen_ids() else regimen_ids()[0]


@get(
    "/patients/{patient_id:str}",
    guards=[allow(*RECORDS)],
    sync_to_thread=True,
    include_in_schema=False,
)
def patient_page(
    request: Req, patient_id: str, regimen: str | None = None, day: str | None = None
) -> Template:
    """Today's dose card first, then the course chart, criteria, replay and data entry."""
    tl = read_timeline(request, patient_id, "patient page")
    reg = regimen or _default_regimen(tl)
    choice = resolve_day(tl, day, _today().date())
    card = None
    if user_of(request).role in CLINICIAN:
        card = _card(request, tl, reg, day).context
    anchors = [
        e if o == 1 else f"{e}#{o}" for e, o in sorted(tl.anchors, key=lambda k: tl.anchors[k])
    ]
    return Template(
        "patient.html",
        context=_ctx(
            request, tl=tl, card=card, regimen=reg, regimens=regimen_ids(), choice=choice,
            day=day or "", anchors=anchors, criteria=PANEL_CRITERIA, labs=_lab_choices(),
            drug_units=["mg", "mg/kg", "mg/m2", "g", "ug"],
            frequencies=["QD", "BID", "TID", "QID", "once", "q8h", "q12h", "q24h"],
            support_modes=["room_air", "nasal_cannula", "face_mask", "hfnc", "niv", "imv", "ecmo"],
        ),
    )  # fmt: skip


@get(
    "/patients/{patient_id:str}/dose-card",
    guards=[allow(*CLINICIAN)],
    sync_to_thread=True,
    include_in_schema=False,
)
def dose_card(request: Req, patient_id: str, regimen: str, day: str | None = None) -> Template:
    """The dose card for a regimen and day (htmx partial)."""
    tl = read_timeline(request, patient_id, "dose decision")
    return _card(request, tl, regimen, day)


@post(
    "/patients/{patient_id:str}/what-if",
    guards=[allow(*CLINICIAN)],
    sync_to_thread=True,
    include_in_schema=False,
)
def what_if_card(request: Req, patient_id: str, data: Form) -> Template:
    """The dose card as it would be with a typed lab value (nothing is stored)."""
    tl = read_timeline(request, patient_id, "what-if preview")
    regimen = data.get("regimen", "")
    day = data.get("day") or None
    choice = resolve_day(tl, day, _today().date())
    try:
        obs = lab_observation(
            patient_id, data.get("code", ""), float(data.get("value", "")), data.get("unit", ""),
            data.get("time") or choice.label, f"what-if:{user_of(request).name}",
        )  # fmt: skip
    except (RuxtrackError, ValueError, ValidationError) as exc:
        return Template(
            "_dose_card.html",
            context={"card_html": "", "error": _reason(exc), "choice": choice, "regimen": regimen,
                     "preview": None, "patient_id": patient_id},
        )  # fmt: skip
    return _card(request, tl, regimen, day, preview=obs)


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    if isinstance(exc, ValueError) and not isinstance(exc, RuxtrackError):
        return f"not a number or not a valid entry: {exc}"
    return f"{type(exc).__name__}: {exc}"


@get(
    "/patients/{patient_id:str}/criteria",
    guards=[allow(*RECORDS)],
    sync_to_thread=True,
    include_in_schema=False,
)
def criteria_panel(
    request: Req, patient_id: str, criterion: str = "hlh2004", day: str | None = None
) -> Template:
    """A criterion evaluated at one day, unknown shown as unknown (htmx partial)."""
    from ruxtrack.criteria import evaluate_timeline

    tl = read_timeline(request, patient_id, f"criteria {criterion}")
    ids = [c for c, _ in PANEL_CRITERIA]
    error, ev = None, None
    if criterion not in ids:
        error = f'unknown criterion "{criterion}"'
    else:
        try:
            at = tl.at(parse_time(day)) if day else None
            ev = evaluate_timeline(criterion, tl, at=at)
        except (RuxtrackError, ValueError) as exc:
            error = _reason(exc)
    return Template(
        "_criteria.html", context={"ev": ev, "error": error, "day": day or "the last recorded time"}
    )


@get(
    "/patients/{patient_id:str}/replay",
    guards=[allow(*RECORDS)],
    sync_to_thread=True,
    include_in_schema=False,
)
def replay_panel(request: Req, patient_id: str, regimen: str) -> Template:
    """The recorded course replayed against a regimen, episode by episode (htmx partial)."""
    tl = read_timeline(request, patient_id, f"replay {regimen}")
    error, rep = None, None
    if regimen not in regimen_ids():
        error = f'unknown regimen "{regimen}"'
    else:
        try:
            rep = replay(tl, regimen)
        except RuxtrackError as exc:
            error = _reason(exc)
    return Template("_replay.html", context={"rep": rep, "error": error})


# -- data entry -----------------------------------------------------------------------------


def _entry_done(request: Req, patient_id: str, text: str) -> Redirect:
    _flash(request, text)
    return Redirect(f"/patients/{patient_id}#entry")


def _entry_failed(request: Req, patient_id: str, what: str, exc: Exception) -> Template:
    return Template(
        "error.html",
        context=_ctx(request, title=f"{what} not saved", detail=_reason(exc),
                     back=f"/patients/{patient_id}#entry"),
        status_code=422,
    )  # fmt: skip


def _opt_time(data: dict[str, str], key: str) -> Any:
    return parse_time(data[key]) if data.get(key) else None


def _build_lab(pid: str, data: dict[str, str], by: str) -> tuple[Any, str]:
    obs = lab_observation(
        pid, data.get("code", ""), float(data.get("value", "")), data.get("unit", ""),
        data.get("time", ""), by,
    )  # fmt: skip
    return obs, f"Saved {obs.code} = {obs.value:g} {obs.unit}."


def _build_drug(pid: str, data: dict[str, str], by: str) -> tuple[Any, str]:
    rec = DrugExposure(
        patient_id=pid, drug=data.get("drug", "").strip().lower(),
        dose=float(data.get("dose", "")), unit=data.get("unit", ""),
        frequency=data.get("frequency", ""), start=parse_time(data.get("start", "")),
        end=_opt_time(data, "end"), reason=data.get("reason") or None, provenance=by,
    )  # fmt: skip
    return rec, f"Saved {rec.drug} {rec.dose:g} {rec.unit.value}."


def _build_support(pid: str, data: dict[str, str], by: str) -> tuple[Any, str]:
    rec = SupportEpisode(
        patient_id=pid, mode=data.get("mode", ""), start=parse_time(data.get("start", "")),
        end=_opt_time(data, "end"), fio2=float(data["fio2"]) if data.get("fio2") else None,
        provenance=by,
    )  # fmt: skip
    return rec, f"Saved support {rec.mode.value}."


def _build_assessment(pid: str, data: dict[str, str], by: str) -> tuple[Any, str]:
    rec = Assessment(
        patient_id=pid, kind=data.get("kind", "").strip().lower(),
        value=data.get("value", "").strip(), time=parse_time(data.get("time", "")),
        provenance=by,
    )  # fmt: skip
    return rec, f"Saved assessment {rec.kind} = {rec.value}."


#: Data-entry forms: URL segment -> (timeline field, what it is called, builder).
_ENTRIES: dict[str, tuple[str, str, Any]] = {
    "labs": ("observations", "Lab value", _build_lab),
    "drugs": ("drugs", "Drug administration", _build_drug),
    "support": ("support", "Respiratory support", _build_support),
    "assessments": ("assessments", "Assessment", _build_assessment),
}


@post(
    "/patients/{patient_id:str}/{entry:str}",
    guards=[allow(*RECORDS)],
    sync_to_thread=True,
    include_in_schema=False,
)
def add_entry(request: Req, patient_id: str, entry: str, data: Form) -> Response[Any]:
    """Record a lab value (unit checked, implausible values refused with the reason), a drug
    administration, an episode of respiratory support or an assessment."""
    if entry not in _ENTRIES:
        raise NotFoundException()
    kind, what, build = _ENTRIES[entry]
    tl = read_timeline(request, patient_id, f"add {kind}")
    try:
        rec, done = build(patient_id, data, f"web:{user_of(request).name}")
        add_records(request, tl, kind, rec, data.get("reason") or None)
    except (RuxtrackError, ValueError, ValidationError) as exc:
        return _entry_failed(request, patient_id, what, exc)
    return _entry_done(request, patient_id, done)


# -- research, evidence, admin ---------------------------------------------------------------


@get("/cohort", guards=[allow(*RESEARCHER)], sync_to_thread=False, include_in_schema=False)
def cohort_page(request: Req) -> Template:
    """Run a shipped study on the store (de-identified results only)."""
    from ruxtrack.web._research import list_studies, runs

    return Template(
        "cohort.html", context=_ctx(request, studies=list_studies(), runs=runs(request.app.state))
    )


@post("/cohort/run", guards=[allow(*RESEARCHER)], sync_to_thread=True, include_in_schema=False)
def cohort_run(request: Req, data: Form) -> Response[Any]:
    """Run a study; its report is kept in the server's temporary folder."""
    from ruxtrack.web._research import run_study

    try:
        run_id = run_study(
            request.app.state,
            store_of(request),
            data.get("study", ""),
            user_of(request).name,
            client_of(request),
        )
    except (RuxtrackError, ValueError) as exc:
        return Template(
            "error.html",
            context=_ctx(request, title="Study not run", detail=_reason(exc), back="/cohort"),
            status_code=422,
        )
    return Redirect(f"/cohort/runs/{run_id}")


@get(
    "/cohort/runs/{run_id:str}",
    guards=[allow(*RESEARCHER)],
    sync_to_thread=True,
    include_in_schema=False,
)
def cohort_result(request: Req, run_id: str) -> Template:
    """A study run: its tables and figures."""
    from ruxtrack.web._research import get_run

    run = get_run(request.app.state, run_id)
    return Template("cohort_run.html", context=_ctx(request, run=run))


@get(
    "/cohort/runs/{run_id:str}/files/{name:str}",
    guards=[allow(*RESEARCHER)],
    sync_to_thread=True,
    include_in_schema=False,
)
def cohort_file(request: Req, run_id: str, name: str) -> Response[Any]:
    """A figure or the self-contained report of a run (script-free; its own CSP)."""
    from ruxtrack.web._research import get_run

    run = get_run(request.app.state, run_id)
    path = run.files.get(name)
    if path is None:
        raise NotFoundException()
    headers = {}
    if name.endswith(".html"):
        # The report is static HTML with inline styles and embedded images, never script.
        headers["Content-Security-Policy"] = (
            "default-src 'none'; img-src data: 'self'; style-src 'unsafe-inline'; "
            "frame-ancestors 'none'; sandbox"
        )
    return File(path, filename=name, content_disposition_type="inline", headers=headers)


@get("/evidence", guards=[allow(*ANY_ROLE)], sync_to_thread=True, include_in_schema=False)
def evidence_page(request: Req) -> Template:
    """Pooled proportions of the shipped evidence table with forest plots."""
    from ruxtrack.web._research import evidence_summary

    return Template("evidence.html", context=_ctx(request, ev=evidence_summary(request.app.state)))


@get(
    "/evidence/forest/{quantity:str}.png",
    guards=[allow(*ANY_ROLE)],
    sync_to_thread=True,
    include_in_schema=False,
)
def evidence_forest(request: Req, quantity: str) -> Response[bytes]:
    """A forest plot (PNG)."""
    from ruxtrack.web._research import evidence_summary

    png = evidence_summary(request.app.state)["plots"].get(quantity)
    if png is None:
        raise NotFoundException()
    return Response(png, media_type="image/png")


@get("/admin/users", guards=[allow(*ADMIN)], sync_to_thread=True, include_in_schema=False)
def users_page(request: Req) -> Template:
    """Accounts: add, disable, issue API tokens."""
    return Template(
        "users.html",
        context=_ctx(
            request, users=accounts.list_users(store_of(request)), roles=accounts.ROLES, token=None
        ),
    )


@post("/admin/users", guards=[allow(*ADMIN)], sync_to_thread=True, include_in_schema=False)
def add_user(request: Req, data: Form) -> Response[Any]:
    """Create an account with a one-time password shown once."""
    name = data.get("username", "").strip()
    role = data.get("role", "")
    if (
        not name
        or role not in accounts.ROLES
        or len(name) > 64
        or not name.replace("-", "").replace("_", "").replace(".", "").isalnum()
    ):
        return Template(
            "error.html",
            context=_ctx(
                request,
                title="User not added",
                detail="give a name (letters, digits, . _ -) and a role",
                back="/admin/users",
            ),
            status_code=422,
        )
    password = secrets.token_urlsafe(12)
    try:
        accounts.create_user(store_of(request), name, role, password)
    except (RuxtrackError, ValueError) as exc:
        return Template(
            "error.html",
            context=_ctx(request, title="User not added", detail=_reason(exc), back="/admin/users"),
            status_code=422,
        )
    accounts.audit(
        store_of(request),
        user_of(request).name,
        "user.add",
        None,
        {"user": name, "role": role},
        client_of(request),
    )
    return Template(
        "users.html",
        context=_ctx(
            request,
            users=accounts.list_users(store_of(request)),
            roles=accounts.ROLES,
            token=None,
            created=(name, password),
        ),
    )


@post(
    "/admin/users/{name:str}/disable",
    guards=[allow(*ADMIN)],
    sync_to_thread=True,
    include_in_schema=False,
)
def disable_user(request: Req, name: str) -> Redirect:
    """Disable an account."""
    accounts.disable_user(store_of(request), name)
    accounts.audit(
        store_of(request),
        user_of(request).name,
        "user.disable",
        None,
        {"user": name},
        client_of(request),
    )
    _flash(request, f"Disabled {name}.")
    return Redirect("/admin/users")


@post(
    "/admin/users/{name:str}/token",
    guards=[allow(*ADMIN)],
    sync_to_thread=True,
    include_in_schema=False,
)
def issue_token(request: Req, name: str) -> Template:
    """Issue an API token, shown once."""
    token = accounts.issue_token(store_of(request), name)
    accounts.audit(
        store_of(request),
        user_of(request).name,
        "token.issue",
        None,
        {"user": name},
        client_of(request),
    )
    return Template(
        "users.html",
        context=_ctx(
            request,
            users=accounts.list_users(store_of(request)),
            roles=accounts.ROLES,
            token=(name, token),
        ),
    )


def page_routes() -> list[Any]:
    """Every page handler."""
    return [
        login_page, login, logout, home, patients_page, patient_page, dose_card, what_if_card,
        criteria_panel, replay_panel, add_entry,
        cohort_page, cohort_run, cohort_result, cohort_file, evidence_page, evidence_forest,
        users_page, add_user, disable_user, issue_token,
    ]  # fmt: skip
