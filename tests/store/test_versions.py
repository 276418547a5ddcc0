"""Nothing is overwritten: edits with reasons, versioned re-imports, deletions, as-of reads."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from _store_build import EXAMPLE, covid_patient
from alembic import command

from ruxtrack.errors import ImportValidationError, StoreError
from ruxtrack.sources import read_folder
from ruxtrack.store import PatientNotFoundError, Store, audit_entries, open_store
from ruxtrack.timeline import Assessment, Observation

T0 = "2026-03-01 08:00:00Z"  # import
T1 = "2026-03-02 08:00:00Z"  # first change
T2 = "2026-03-03 08:00:00Z"  # second change


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _crp(store: Store, pid: str = "C1", **kw: object) -> list[float]:
    return [o.value for o in store.timeline(pid, **kw).observations]  # type: ignore[arg-type]


def test_import_that_replaces_a_patient_keeps_the_old_version(store: Store) -> None:
    with time_machine.travel(T0, tick=False):
        store.import_timelines([covid_patient("C1")], source="first.csv")
    original = store.timeline("C1")
    changed = covid_patient("C1")
    obs = list(changed.observations)
    obs[1] = obs[1].model_copy(update={"value": 299.0})
    with time_machine.travel(T1, tick=False):
        summary = store.import_timelines(
            [changed.model_copy(update={"observations": tuple(obs)})], source="second.csv"
        )
    assert _crp(store) == [142.0, 299.0, 144.0]
    (old,) = store.history("C1")
    assert (old.kind, old.seq, old.values["value"], old.change) == ("observations", 1, 143.0,
                                                                   "replaced")  # fmt: skip
    assert old.import_id == summary.import_id and old.reason == "import 2 from second.csv"
    assert old.valid_from == _at(T0).replace(tzinfo=None)
    assert old.valid_to == _at(T1).replace(tzinfo=None)
    assert store.timeline("C1", as_of=_at("2026-03-01 12:00:00Z")) == original
    assert _crp(store, as_of=_at(T1)) == [142.0, 299.0, 144.0]
    assert store.counts()["observations"] == 3  # the current table holds current rows only


def test_shrinking_reimport_keeps_removed_rows_in_history(store: Store) -> None:
    store.import_timelines([covid_patient("C1", n_obs=5)])
    store.import_timelines([covid_patient("C1", n_obs=2)])
    gone = [v for v in store.history("C1") if v.kind == "observations"]
    assert [(v.seq, v.change) for v in gone] == [(2, "replaced"), (3, "replaced"), (4, "replaced")]


def test_changed_demographics_are_versioned(store: Store) -> None:
    with time_machine.travel(T0, tick=False):
        store.import_timelines([covid_patient("C1")])
    older = covid_patient("C1")
    older = older.model_copy(
        update={"patient": older.patient.model_copy(update={"age_years": 61.0})}
    )
    with time_machine.travel(T1, tick=False):
        store.import_timelines([older])
    (v,) = store.history("C1", "patients")
    assert v.values["age_years"] == 60.0 and v.change == "replaced"
    assert store.timeline("C1").patient.age_years == 61.0
    assert store.timeline("C1", as_of=_at(T0)).patient.age_years == 60.0


def test_edit_needs_a_reason_and_keeps_the_previous_version(store: Store) -> None:
    with time_machine.travel(T0, tick=False):
        store.import_timelines([covid_patient("C1")])
    with pytest.raises(StoreError, match="an edit needs a reason"):
        store.edit_record("C1", "observations", 1, {"value": 150}, reason="  ")
    with time_machine.travel(T1, tick=False):
        rec = store.edit_record("C1", "observations", 1, {"value": 150},
                                reason="transcription error: 150 on the lab report",
                                actor="dm", client="10.0.0.5")  # fmt: skip
    assert rec.seq == 1 and rec.record.value == 150.0  # type: ignore[union-attr]
    assert _crp(store) == [142.0, 150.0, 144.0]
    assert _crp(store, as_of=_at(T0)) == [142.0, 143.0, 144.0]
    (v,) = store.history("C1")
    assert (v.change, v.reason, v.changed_by) == ("edited",
                                                  "transcription error: 150 on the lab report",
                                                  "dm")  # fmt: skip
    edit = next(e for e in audit_entries(store) if e.action == "edit")
    assert edit.detail is not None and edit.client == "10.0.0.5"
    assert edit.detail["before"]["value"] == 143.0 and edit.detail["after"]["value"] == 150.0
    assert edit.reason == "transcription error: 150 on the lab report"


def test_edited_record_keeps_its_id_and_a_reimport_restores_with_history(store: Store) -> None:
    store.import_timelines([covid_patient("C1")])
    store.edit_record("C1", "observations", 2, {"value": 10}, reason="wrong patient's value")
    assert [r.seq for r in store.records("C1", "observations")] == [0, 1, 2]
    summary = store.import_timelines([covid_patient("C1")])  # the source still says 144
    assert summary.replaced and _crp(store) == [142.0, 143.0, 144.0]
    assert [v.change for v in store.history("C1")] == ["edited", "replaced"]


def test_edit_is_validated_like_an_import(store: Store) -> None:
    store.import_timelines([covid_patient("C1")])
    before = len(list(audit_entries(store)))
    with pytest.raises(ImportValidationError) as info:
        store.edit_record("C1", "observations", 0, {"code": "plt", "value": 184, "unit": "/uL"},
                          reason="platelets, not CRP")  # fmt: skip
    (problem,) = info.value.problems
    assert problem.field == "observations.value" and "10*3/uL" in problem.reason
    with pytest.raises(ImportValidationError, match="value must be a finite number"):
        store.edit_record("C1", "observations", 0, {"value": float("nan")}, reason="x")
    with pytest.raises(StoreError, match="no editable field colour"):
        store.edit_record("C1", "observations", 0, {"colour": "red"}, reason="x")
    with pytest.raises(StoreError, match="no current observations record 9"):
        store.edit_record("C1", "observations", 9, {"value": 1}, reason="x")
    assert store.history("C1") == [] and len(list(audit_entries(store))) == before
    assert _crp(store) == [142.0, 143.0, 144.0]


def test_edit_in_another_unit_is_converted_and_keeps_what_was_given(store: Store) -> None:
    store.import_timelines([covid_patient("C1")])
    store.edit_record("C1", "observations", 0, {"value": 5, "unit": "mg/dL"}, reason="re-read")
    o = store.timeline("C1").observations[0]
    assert (o.value, o.unit, o.source_value, o.source_unit) == (50.0, "mg/L", 5.0, "mg/dL")


def test_added_observation_passes_the_import_validation(store: Store) -> None:
    store.import_timelines([covid_patient("C1")])
    bad = Observation(patient_id="C1", time="admission+3d", code="plt", value=184, unit="/uL")
    with pytest.raises(ImportValidationError, match="below the plausible range"):
        store.add_record("C1", bad, actor="ada")
    good = Observation(patient_id="C1", time="admission+3d", code="plt", value=84,
                       unit="10*9/L")  # fmt: skip
    rec = store.add_record("C1", good, actor="ada")
    assert rec.seq == 3 and store.timeline("C1").observations[-1].code == "plt"
    missing_anchor = Assessment(patient_id="C1", time="rux_start+1d", kind="fever", value="true")
    with pytest.raises(ImportValidationError, match="rux_start"):
        store.add_record("C1", missing_anchor)
    with pytest.raises(StoreError, match="not C1"):
        store.add_record("C1", good.model_copy(update={"patient_id": "C2"}))
    assert [e.action for e in audit_entries(store)].count("add") == 1


def test_deletion_is_marked_reasoned_and_still_in_history(store: Store) -> None:
    with time_machine.travel(T0, tick=False):
        store.import_timelines([covid_patient("C1")])
    with pytest.raises(StoreError, match="a deletion needs a reason"):
        store.delete_record("C1", "observations", 1, reason="")
    with time_machine.travel(T1, tick=False):
        store.delete_record("C1", "observations", 1, reason="duplicate of row 0", actor="dm")
    assert _crp(store) == [142.0, 144.0]
    assert [r.seq for r in store.records("C1", "observations")] == [0, 2]
    (v,) = store.history("C1")
    assert (v.seq, v.change, v.reason, v.values["value"]) == (1, "deleted", "duplicate of row 0",
                                                              143.0)  # fmt: skip
    assert _crp(store, as_of=_at(T0)) == [142.0, 143.0, 144.0]
    assert [e.action for e in audit_entries(store)].count("delete") == 1


def test_deleting_an_anchor_other_records_need_is_refused(store: Store) -> None:
    store.import_timelines([covid_patient("C1")])
    with pytest.raises(ImportValidationError, match="admission"):
        store.delete_record("C1", "events", 0, reason="not admitted")
    assert len(store.timeline("C1").events) == 1


def test_moving_an_event_versions_the_records_timed_from_it(store: Store) -> None:
    with time_machine.travel(T0, tick=False):
        store.import_timelines([covid_patient("C1")])
    with time_machine.travel(T1, tick=False):
        store.edit_record("C1", "events", 0, {"time": "2020-04-07T10:00"},
                          reason="admitted a day later")  # fmt: skip
    tl = store.timeline("C1")
    assert tl.at(tl.observations[0].time) == datetime(2020, 4, 7, 10, 0)
    kinds = sorted({v.kind for v in store.history("C1")})
    assert kinds == ["events", "observations"]  # t of the relative observations moved
    old = store.timeline("C1", as_of=_at(T0))
    assert old.at(old.observations[0].time) == datetime(2020, 4, 6, 10, 0)


def test_as_of_before_the_patient_existed_is_not_found(store: Store) -> None:
    with time_machine.travel(T1, tick=False):
        store.import_timelines([covid_patient("C1")])
    with pytest.raises(PatientNotFoundError):
        store.timeline("C1", as_of=_at(T0))
    aware = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert len(store.timeline("C1", as_of=aware).observations) == 3


def test_round_trip_and_idempotency_hold_after_edits(store: Store, tmp_path: Path) -> None:
    store.import_timelines(read_folder(EXAMPLE))
    store.edit_record("EX-COVID-01", "observations", 0, {"value": 99}, reason="check")
    store.delete_record("EX-HSCT-01", "assessments", 0, reason="entered twice")
    store.export_folder(tmp_path / "out")
    assert read_folder(tmp_path / "out") == [
        store.timeline("EX-COVID-01"),
        store.timeline("EX-HSCT-01"),
    ]
    assert not store.import_folder(tmp_path / "out").changed


def test_cohort_engine_reads_current_rows_only(store: Store, store_url: str) -> None:
    from ruxtrack.cohort import open_tables

    store.import_timelines([covid_patient("C1"), covid_patient("C2")])
    store.edit_record("C1", "observations", 0, {"value": 7}, reason="check")
    store.delete_record("C2", "observations", 2, reason="duplicate")
    tables = open_tables(store_url)
    obs = tables.observations.to_pandas().sort_values(["patient_id", "t"])
    assert obs["value"].tolist() == [7.0, 143.0, 144.0, 142.0, 143.0]


def test_migration_keeps_old_rows_and_dates_them_from_their_import(sqlite_url: str) -> None:
    from ruxtrack.store._store import _alembic_config

    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0003_audit")
        conn.execute(
            sa.text(
                "INSERT INTO imports VALUES "
                "(1, '2025-01-02 03:04:05.000000', 'x', '0.1.0', 1, 0, 0)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO patients (patient_id, sex, synthetic, time_basis, content_hash, "
                "import_id) VALUES ('P1', 'male', 1, 'absolute', 'h', 1)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO events (patient_id, seq, event, occurrence, time, t) VALUES "
                "('P1', 0, 'admission', 1, '2020-01-01', '2020-01-01 00:00:00.000000')"
            )
        )
    engine.dispose()
    with open_store(sqlite_url) as s:
        with s.engine.connect() as conn:
            got = conn.execute(sa.text("SELECT recorded_at FROM events")).scalar_one()
        assert str(got).startswith("2025-01-02 03:04:05")
        assert len(s.timeline("P1", as_of=datetime(2025, 6, 1)).events) == 1
        with pytest.raises(PatientNotFoundError):
            s.timeline("P1", as_of=datetime(2024, 1, 1))


def test_migrations_downgrade_to_the_initial_schema_and_back(store_url: str) -> None:
    from ruxtrack.store._store import _alembic_config

    with open_store(store_url) as s:
        s.import_timelines([covid_patient("C1")])
        s.edit_record("C1", "observations", 0, {"value": 1}, reason="x")
        engine = s.engine
        with engine.begin() as conn:
            command.downgrade(_alembic_config(conn), "0001_initial")
        with engine.connect() as conn:
            names = set(sa.inspect(conn).get_table_names())
        assert "observations_history" not in names and "audit_log" not in names
        assert "users" not in names and "observations" in names
    with open_store(store_url) as s:  # upgraded again; the current rows survived
        assert [o.value for o in s.timeline("C1").observations] == [1.0, 143.0, 144.0]
