"""The audit log as JSON lines or as FHIR R4 AuditEvent resources (NDJSON)."""

from __future__ import annotations

import json
from functools import cache
from typing import IO, Any, Literal

from pydantic import BaseModel, ConfigDict

from ruxtrack import __version__
from ruxtrack.knowledge import Citation, SourceRef, load_yaml, validate_knowledge
from ruxtrack.store._audit import AuditEntry, _engine, _HasEngine, audit_entries

__all__ = ["AuditFormat", "audit_event_fhir", "write_audit"]

AuditFormat = Literal["jsonl", "fhir"]
_FILE = "security/audit_events.yaml"


class _Mapping(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    type_display: str
    action: Literal["C", "R", "U", "D", "E"]
    subtype: str | None = None
    subtype_display: str | None = None
    outcome: Literal["0", "4", "8", "12"] = "0"


class _File(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Literal["audit_events"]
    version: str
    sources: dict[str, Citation]
    type_system: str
    default: _Mapping
    actions: dict[str, _Mapping]
    source: SourceRef


@cache
def _mappings() -> _File:
    result: _File = validate_knowledge(_File, load_yaml(_FILE), _FILE)
    return result


def _agent(entry: AuditEntry) -> dict[str, Any]:
    agent: dict[str, Any] = {"who": {"display": entry.actor}, "requestor": True}
    if entry.client and entry.client != "cli":
        agent["network"] = {"address": entry.client, "type": "2"}  # 2 = IP address
    return agent


def audit_event_fhir(entry: AuditEntry) -> dict[str, Any]:
    """One audit entry as a FHIR R4 AuditEvent resource (a JSON-ready dict)."""
    maps = _mappings()
    m = maps.actions.get(entry.action, maps.default)
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": f"ruxtrack-audit-{entry.entry_id}",
        "type": {"system": maps.type_system, "code": m.type, "display": m.type_display},
        "action": m.action,
        "recorded": entry.at.isoformat() + "Z",
        "outcome": m.outcome,
        "agent": [_agent(entry)],
        "source": {"observer": {"display": f"ruxtrack {__version__}"}},
    }
    if m.subtype is not None:
        resource["subtype"] = [
            {"system": maps.type_system, "code": m.subtype, "display": m.subtype_display}
        ]
    if entry.reason:
        resource["purposeOfEvent"] = [{"text": entry.reason}]
    entity: dict[str, Any] = {}
    if entry.patient_id is not None:
        entity["what"] = {"reference": f"Patient/{entry.patient_id}"}
    details = [{"type": "ruxtrack-action", "valueString": entry.action},
               {"type": "ruxtrack-hash", "valueString": entry.hash}]  # fmt: skip
    if entry.detail is not None:
        text = json.dumps(entry.detail, sort_keys=True, ensure_ascii=False)
        details.append({"type": "ruxtrack-detail", "valueString": text})
    entity["detail"] = details
    resource["entity"] = [entity]
    return resource


def write_audit(
    store: _HasEngine,
    out: IO[str],
    *,
    format: AuditFormat = "jsonl",
    patient_id: str | None = None,
) -> int:
    """Write the audit log (chain order) to ``out``; the number of entries written.

    ``jsonl``: one entry a line with its hashes (``AuditEntry.as_json``). ``fhir``: one FHIR R4
    AuditEvent a line (NDJSON, as FHIR Bulk Data exports), the entry's hash in ``entity.detail``.
    """
    n = 0
    for entry in audit_entries(_engine(store), patient_id=patient_id):
        doc = entry.as_json() if format == "jsonl" else audit_event_fhir(entry)
        out.write(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")
        n += 1
    return n
