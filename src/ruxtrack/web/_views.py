"""Shared pieces of the page and API handlers: roles, store access, audited reads and writes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar.connection import ASGIConnection

from ruxtrack.protocol import Decision, decide
from ruxtrack.store import PatientSummary, Store
from ruxtrack.timeline import Observation, Timeline, parse_time
from ruxtrack.units import normalize
from ruxtrack.web._accounts import WebUser, audit
from ruxtrack.web._faces import patient_status, regimen_ids, within_population
from ruxtrack.web._security import current_user

__all__ = [
    "ADMIN",
    "ANY_ROLE",
    "CLINICIAN",
    "RECORDS",
    "RESEARCHER",
    "add_records",
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
    connection: ASGIConnection[Any, Any, Any, Any], patient_id: str, purpose: str
) -> Timeline:
    """A patient's timeline, the read entered in the audit log (``purpose`` says what for)."""
    store = store_of(connection)
    tl = store.timeline(patient_id)
    audit(
        store,
        user_of(connection).name,
        "read",
        patient_id,
        {"what": purpose},
        client_of(connection),
    )
    return tl


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
    """Add one record to a patient through the store's one door (one transaction), audited.

    Raises
    ------
    ImportValidationError, ValueError
        When the record fails the timeline's or the catalogue's checks; nothing was stored.
    """
    store = store_of(connection)
    user = user_of(connection)
    new = _with(tl, kind, record)
    when = datetime.now(UTC).isoformat(timespec="seconds")
    store.import_timelines([new], source=f"web:{user.name}:{when}")
    audit(
        store,
        user.name,
        "write",
        tl.patient.patient_id,
        {"what": f"add {kind}", "after": record.model_dump(mode="json"), "reason": reason},
        client_of(connection),
    )
