"""Shared pieces of the page and API handlers: roles, store access, audited reads and writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, NotFoundException

from ruxtrack.protocol import Decision, decide
from ruxtrack.store import PatientSummary, Store
from ruxtrack.timeline import Observation, Timeline, parse_time
from ruxtrack.units import normalize
from ruxtrack.web._accounts import (
    ROLES,
    WebUser,
    audit,
    create_user,
    disable_user,
    generate_password,
    issue_token,
    list_users,
)
from ruxtrack.web._faces import patient_status, regimen_ids, within_population
from ruxtrack.web._security import current_user

__all__ = [
    "ADMIN",
    "ANY_ROLE",
    "CLINICIAN",
    "RECORDS",
    "RESEARCHER",
    "add_records",
    "admin_add_user",
    "admin_disable_user",
    "admin_issue_token",
    "client_of",
    "find_patients",
    "lab_observation",
    "read_timeline",
    "store_of",
    "user_of",
    "what_if",
]

CLINICIAN = ("clinician",)
#: Who reads and writes patient records.
RECORDS = ("clinician", "data-manager")
RESEARCHER = ("researcher",)
ADMIN = ("admin",)
ANY_ROLE = ("clinician", "data-manager", "researcher", "admin")


def store_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Store:
    store: Store = connection.app.state.store
    return store


def user_of(connection: ASGIConnection[Any, Any, Any, Any]) -> WebUser:
    user = current_user(connection)
    assert user is not None  # the route's guard let only signed-in users through
    return user


def client_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    return connection.client.host if connection.client else None


def read_timeline(
    connection: ASGIConnection[Any, Any, Any, Any],
    patient_id: str,
    purpose: str,
    as_of: datetime | None = None,
) -> Timeline:
    """A patient's timeline (as it stood at ``as_of``, UTC, when given); the store enters the
    read in the audit log with who, from where and ``purpose``."""
    return store_of(connection).timeline(
        patient_id,
        as_of=as_of,
        actor=user_of(connection).name,
        client=client_of(connection),
        reason=purpose,
    )


def find_patients(
    connection: ASGIConnection[Any, Any, Any, Any],
    q: str | None,
    status: str | None,
    regimen: str | None,
) -> list[tuple[PatientSummary, str]]:
    """Patients whose id contains ``q``, with ``status`` (see ``STATUSES``) and an age in
    ``regimen``'s population; each with its status. Audited as one read of the list."""
    store = store_of(connection)
    audit(
        store,
        user_of(connection).name,
        "read",
        None,
        {"what": "patient list", "q": q, "status": status, "regimen": regimen},
        client_of(connection),
    )
    needle = (q or "").strip().lower()
    out = []
    for s in store.patients():
        st = patient_status(s)
        if needle and needle not in s.patient_id.lower():
            continue
        if status and st != status:
            continue
        if regimen and (regimen not in regimen_ids() or not within_population(s, regimen)):
            continue
        out.append((s, st))
    return out


def lab_observation(
    patient_id: str, code: str, value: float, unit: str, time: str, provenance: str
) -> Observation:
    """One typed lab value, checked against the catalogue and put in its canonical unit.

    Raises
    ------
    UnitError, ImplausibleValueError, UnknownLabCodeError
        Naming what is wrong with the unit or the value (nothing is stored).
    TimelineError
        When ``time`` is not a time.
    """
    n = normalize(code, value, unit or None)
    return Observation(
        patient_id=patient_id,
        time=parse_time(time),
        code=n.code,
        value=n.value,
        unit=n.unit,
        source_value=n.source_value,
        source_unit=n.source_unit,
        provenance=provenance,
    )


def _with(tl: Timeline, kind: str, record: Any) -> Timeline:
    data: dict[str, Any] = {
        "patient": tl.patient,
        "events": tl.events,
        "observations": tl.observations,
        "drugs": tl.drugs,
        "support": tl.support,
        "assessments": tl.assessments,
    }
    data[kind] = (*data[kind], record)
    return Timeline(**data)


def what_if(tl: Timeline, obs: Observation, regimen: str, on: datetime) -> Decision:
    """The decision as it would be with ``obs`` recorded (nothing is stored)."""
    return decide(_with(tl, "observations", obs), regimen, on.date())


def add_records(
    connection: ASGIConnection[Any, Any, Any, Any],
    tl: Timeline,
    kind: str,
    record: Any,
    reason: str | None,
) -> None:
    """Add one record through the store (validated as an import: units checked and converted,
    implausible values refused with the reason; versioned and audited by the store).

    Raises
    ------
    ImportValidationError
        When the record fails the checks; nothing was stored.
    """
    user = user_of(connection)
    store_of(connection).add_record(
        tl.patient.patient_id, record, reason=reason, actor=user.name, client=client_of(connection)
    )


# -- accounts (admin) ------------------------------------------------------------------------


def _account(connection: ASGIConnection[Any, Any, Any, Any], name: str) -> tuple[WebUser, bool]:
    for u, disabled in list_users(store_of(connection)):
        if u.name == name:
            return u, disabled
    raise NotFoundException(detail=f'no user "{name}"')


def admin_add_user(connection: ASGIConnection[Any, Any, Any, Any], name: str, role: str) -> str:
    """Create an account; returns its one-time password.

    Raises
    ------
    ValueError
        When the name is taken or the role unknown.
    """
    if role not in ROLES:
        raise ValueError(f'unknown role "{role}"; one of {", ".join(ROLES)}')
    if any(u.name == name for u, _ in list_users(store_of(connection))):
        raise ValueError(f'user "{name}" exists')
    password = generate_password()
    who = user_of(connection).name
    create_user(store_of(connection), name, role, password, actor=who, client=client_of(connection))
    return password


def admin_disable_user(connection: ASGIConnection[Any, Any, Any, Any], name: str) -> WebUser:
    """Disable an account (404 for an unknown name)."""
    user, _ = _account(connection, name)
    who = user_of(connection).name
    disable_user(store_of(connection), name, actor=who, client=client_of(connection))
    return user


def admin_issue_token(connection: ASGIConnection[Any, Any, Any, Any], name: str) -> str:
    """A new API token for an active account (404 for an unknown name, 409 if disabled)."""
    _, disabled = _account(connection, name)
    if disabled:
        raise HTTPException(status_code=409, detail=f'user "{name}" is disabled')
    who = user_of(connection).name
    return issue_token(store_of(connection), name, actor=who, client=client_of(connection))
