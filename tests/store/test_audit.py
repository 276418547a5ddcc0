"""The audit trail: every read and write is logged; verify finds any changed or removed entry."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from _store_build import EXAMPLE, covid_patient
from typer.testing import CliRunner

from ruxtrack.cli import app
from ruxtrack.errors import StoreError
from ruxtrack.store import (
    Store,
    audit_entries,
    audit_head_of,
    open_store,
    verify_audit_chain,
    write_audit,
)


def _fill(store: Store) -> None:
    """Five entries: an import of two patients, a read, an app event, an export-free read."""
    store.import_timelines([covid_patient("C1"), covid_patient("C2")], actor="dm", client="cli")
    store.timeline("C1", actor="ada", client="10.1.2.3")
    store.audit("ada", "decision.view", "C1", {"regimen": "sarmiento-2021"}, "10.1.2.3")
    store.timeline("C2", actor="ada", client="10.1.2.3", reason="ward round")


def _sql(store: Store, text: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text(text))


def test_reads_and_writes_of_patient_records_are_logged(store: Store) -> None:
    _fill(store)
    got = [(e.entry_id, e.actor, e.action, e.patient_id, e.client) for e in audit_entries(store)]
    assert got == [
        (1, "dm", "import", "C1", "cli"),
        (2, "dm", "import", "C2", "cli"),
        (3, "ada", "read", "C1", "10.1.2.3"),
        (4, "ada", "decision.view", "C1", "10.1.2.3"),
        (5, "ada", "read", "C2", "10.1.2.3"),
    ]
    last = list(audit_entries(store))[-1]
    assert last.reason == "ward round" and last.at.year >= 2026
    assert verify_audit_chain(store) is None


def test_an_unchanged_reimport_writes_no_audit_entry(store: Store) -> None:
    store.import_timelines([covid_patient("C1")])
    store.import_timelines([covid_patient("C1")])
    assert [e.action for e in audit_entries(store)] == ["import"]
    assert next(iter(audit_entries(store))).actor.startswith("os:")


def test_tampered_entry_is_detected(store: Store) -> None:
    _fill(store)
    _sql(store, "UPDATE audit_log SET actor = 'mallory' WHERE entry_id = 3")
    broken = verify_audit_chain(store)
    assert broken is not None and (broken.entry_id, broken.problem) == (3, "changed")


def test_tampered_entry_with_recomputed_hash_breaks_the_next_link(store: Store) -> None:
    from ruxtrack.store._audit import entry_hash
    from ruxtrack.store._schema import audit_log

    _fill(store)
    with store.engine.begin() as conn:
        q = sa.select(audit_log).where(audit_log.c.entry_id == 2)
        r = conn.execute(q).mappings().one()
        forged = entry_hash(2, r["at"], "mallory", r["action"], r["patient_id"], r["detail"],
                            r["reason"], r["client"], r["prev_hash"])  # fmt: skip
        conn.execute(
            sa.text("UPDATE audit_log SET actor = 'mallory', hash = :h WHERE entry_id = 2"),
            {"h": forged},
        )
    broken = store.verify_audit()
    assert broken is not None and (broken.entry_id, broken.problem) == (3, "unlinked")


def test_deleted_entry_is_detected(store: Store) -> None:
    _fill(store)
    _sql(store, "DELETE FROM audit_log WHERE entry_id = 2")
    broken = store.verify_audit()
    assert broken is not None and (broken.entry_id, broken.problem) == (2, "missing")
    assert "audit entry 2 is missing" in str(broken)


def test_deleted_first_entry_is_detected(store: Store) -> None:
    _fill(store)
    _sql(store, "DELETE FROM audit_log WHERE entry_id = 1")
    broken = store.verify_audit()
    assert broken is not None and (broken.entry_id, broken.problem) == (1, "missing")


def test_deleted_last_entry_is_detected(store: Store) -> None:
    _fill(store)
    _sql(store, "DELETE FROM audit_log WHERE entry_id = 5")
    broken = store.verify_audit()
    assert broken is not None and (broken.entry_id, broken.problem) == (5, "truncated")
    assert "ends at entry 4, but its head counts 5" in str(broken)


def test_deleted_head_is_detected(store: Store) -> None:
    _fill(store)
    _sql(store, "DELETE FROM audit_head")
    broken = store.verify_audit()
    assert broken is not None and broken.problem == "head_missing"
    with pytest.raises(Exception, match="head record is missing"):
        store.audit("x", "decision.view")


def test_reordered_entries_are_detected(store: Store) -> None:
    _fill(store)
    # swap the contents of entries 3 and 4 (ids stay in order, their content moves)
    _sql(store, "UPDATE audit_log SET entry_id = -3 WHERE entry_id = 3")
    _sql(store, "UPDATE audit_log SET entry_id = 3 WHERE entry_id = 4")
    _sql(store, "UPDATE audit_log SET entry_id = 4 WHERE entry_id = -3")
    broken = store.verify_audit()
    assert broken is not None and broken.entry_id == 3 and broken.problem in ("changed", "unlinked")


def test_truncation_with_a_forged_head_is_caught_by_a_head_kept_elsewhere(store: Store) -> None:
    _fill(store)
    head = audit_head_of(store)
    assert head is not None
    with store.engine.begin() as conn:
        prev = conn.execute(sa.text("SELECT hash FROM audit_log WHERE entry_id = 4")).scalar_one()
        conn.execute(sa.text("DELETE FROM audit_log WHERE entry_id = 5"))
        conn.execute(sa.text("UPDATE audit_head SET entries = 4, last_hash = :h"), {"h": prev})
    assert store.verify_audit() is None  # the documented limit: a consistent rewrite passes
    broken = store.verify_audit(expect_head=str(head))
    assert broken is not None and broken.problem == "truncated"


def test_export_as_json_lines_and_fhir_audit_events(store: Store) -> None:
    _fill(store)
    out = io.StringIO()
    assert write_audit(store, out, format="jsonl") == 5
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert lines[0]["action"] == "import" and lines[0]["at"].endswith("Z")
    assert lines[1]["prev_hash"] == lines[0]["hash"]
    out = io.StringIO()
    write_audit(store, out, format="fhir", patient_id="C1")
    events = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [e["action"] for e in events] == ["C", "R", "E"]
    read = events[1]
    assert read["resourceType"] == "AuditEvent"
    assert read["type"]["code"] == "110110" and read["entity"][0]["what"] == {
        "reference": "Patient/C1"
    }
    assert read["agent"][0]["who"]["display"] == "ada"
    assert read["agent"][0]["network"] == {"address": "10.1.2.3", "type": "2"}


# -- command line ------------------------------------------------------------------------------
runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "160"})
    return result.exit_code, result.output


def test_cli_import_export_are_audited_and_verify_detects_a_deleted_row(
    sqlite_url: str, tmp_path: Path
) -> None:
    assert _run("import", str(EXAMPLE), "--db", sqlite_url, "--actor", "dm-nightly")[0] == 0
    assert _run("export", str(tmp_path / "out"), "--db", sqlite_url)[0] == 0
    code, out = _run("audit-log", "verify", "--db", sqlite_url)
    assert code == 0, out
    assert "audit log intact: 4 entries" in out
    head = out.split("head: ")[1].strip()
    with open_store(sqlite_url) as s:
        entries = list(audit_entries(s))
    assert [(e.actor, e.action) for e in entries[:2]] == [("dm-nightly", "import")] * 2
    assert entries[2].action == "export" and entries[2].actor.startswith("os:")
    code, out = _run("audit-log", "export", "--db", sqlite_url, "--out", str(tmp_path / "a.jsonl"))
    assert code == 0 and "wrote 4 audit entries" in out
    assert len((tmp_path / "a.jsonl").read_text().splitlines()) == 4
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log WHERE entry_id = 5"))  # the export's entry
    engine.dispose()
    code, out = _run("audit-log", "verify", "--db", sqlite_url)
    assert code == 3
    assert "audit log broken at entry 5 (truncated)" in out
    code, out = _run("audit-log", "verify", "--db", sqlite_url, "--expect-head", head)
    assert code == 3


def test_cli_verify_on_postgresql(pg_url: str) -> None:
    with open_store(pg_url) as s:
        _fill(s)
        _sql(s, "UPDATE audit_log SET detail = '{}' WHERE entry_id = 4")
    code, out = _run("audit-log", "verify", "--db", pg_url)
    assert code == 3 and "at entry 4 (changed)" in out


def test_fhir_export_validates_as_r4_audit_events(store: Store) -> None:
    auditevent = pytest.importorskip("fhir.resources.R4B.auditevent")
    _fill(store)
    store.edit_record("C1", "observations", 0, {"value": 150}, reason="typo", actor="dm")
    out = io.StringIO()
    assert write_audit(store, out, format="fhir") == 6
    for line in out.getvalue().splitlines():
        event = auditevent.AuditEvent.model_validate(json.loads(line))
        assert event.recorded is not None and event.agent[0].requestor is True
    edit = json.loads(out.getvalue().splitlines()[-1])
    assert edit["action"] == "U" and edit["purposeOfEvent"] == [{"text": "typo"}]


def test_concurrent_appends_keep_one_linear_chain(store_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    stores = [open_store(store_url) for _ in range(4)]
    try:

        def work(k: int) -> None:
            for i in range(15):
                for attempt in range(50):
                    try:
                        stores[k].audit(f"user{k}", "decision.view", f"P{i}")
                        break
                    except StoreError:  # SQLite: "database is locked" under contention
                        if attempt == 49:
                            raise
                        time.sleep(0.02)

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(work, range(4)))
        assert stores[0].verify_audit() is None
        head = audit_head_of(stores[0])
        assert head is not None and head.entries == 60
    finally:
        for s in stores:
            s.close()


def test_cli_export_fhir_to_stdout_and_a_bad_format(sqlite_url: str) -> None:
    with open_store(sqlite_url) as s:
        _fill(s)
    code, out = _run("audit-log", "export", "--format", "fhir", "--patient", "C2", "--db",
                     sqlite_url)  # fmt: skip
    assert code == 0
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["action"] for e in events] == ["C", "R"]
    assert all(e["resourceType"] == "AuditEvent" for e in events)
    code, out = _run("audit-log", "export", "--format", "xml", "--db", sqlite_url)
    assert code == 2 and "use jsonl or fhir" in out  # a usage error (docs/cli.md)


def test_public_surfaces_are_what_we_meant() -> None:
    import ruxtrack.accounts as accounts
    import ruxtrack.store as store_pkg

    for name in ("create_user", "authenticate", "issue_token", "user_for_token",
                 "disable_user", "Role"):  # fmt: skip
        assert name in accounts.__all__ and hasattr(accounts, name)
    for name in ("verify_audit_chain", "audit_entries", "write_audit", "RecordVersion",
                 "StoredRecord", "RecordKind"):  # fmt: skip
        assert name in store_pkg.__all__ and hasattr(store_pkg, name)
    for method in ("audit", "verify_audit", "edit_record", "add_record", "delete_record",
                   "records", "history", "timeline"):  # fmt: skip
        assert callable(getattr(store_pkg.Store, method))
    assert all(hasattr(accounts, n) for n in accounts.__all__)
    assert all(hasattr(store_pkg, n) for n in store_pkg.__all__)
