"""schemathesis against /openapi.json: no server errors, no undocumented status codes or
bodies. Runs on a copy of the demo store (the API writes)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from ruxtrack import accounts
from ruxtrack.store import open_store
from ruxtrack.web import create_app

ROLE_FOR = (
    ("/api/users", "admin"),
    ("/api/studies", "researcher"),
    ("/api/", "clinician"),
)


@pytest.fixture(scope="module")
def api_schema(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    copy = tmp_path_factory.mktemp("schemathesis") / "demo.sqlite"
    shutil.copy(demo_db, copy)
    store = open_store(f"sqlite:///{copy}")
    tokens = {}
    for role in ("clinician", "researcher", "admin"):
        accounts.create_user(store, f"st-{role}", role, f"pw-{role}-schemathesis")
        tokens[role] = accounts.issue_token(store, f"st-{role}")
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(store=store))
    schema.tokens = tokens  # type: ignore[attr-defined]
    return schema


def _runner(op: Any, headers: dict[str, str]) -> Any:
    @given(case=op.as_strategy())
    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers)

    return run


def test_api_conforms_to_its_schema(api_schema: Any) -> None:
    failures = []
    # The REST API; the CDS Hooks and SMART routes are EHR-facing (a signed JWT or OAuth 2)
    # and fuzzed in tests/cds (test_request_fuzz, the JWT attacker tests).
    operations = [
        op
        for op in (r.ok() for r in api_schema.get_all_operations())
        if op.path.startswith("/api/")
    ]
    assert len(operations) >= 14
    for op in operations:
        role = next(r for prefix, r in ROLE_FOR if op.path.startswith(prefix))
        headers = {"Authorization": f"Bearer {api_schema.tokens[role]}"}
        try:
            _runner(op, headers)()
        except Exception as exc:  # collect every operation's failure, then report all
            failures.append(f"{op.method.upper()} {op.path}: {exc}")
    assert failures == [], "\n\n".join(failures)
