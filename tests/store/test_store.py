"""The store: migrations, atomic and idempotent imports, replacement, reading back."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from _store_build import EXAMPLE, covid_patient
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from ruxtrack.errors import ImportValidationError, RuxtrackError, StoreError
from ruxtrack.sources import RESOLVED_COLUMNS, read_folder, resolved_frames, write_folder
from ruxtrack.store import ENV_URL, PatientNotFoundError, Store, default_url, open_store
from ruxtrack.store._schema import metadata
from ruxtrack.timeline import Observation

TABLES = ("patients", "events", "observations", "drugs", "support", "assessments", "imports")


def _dump(store: Store) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, sorted (to compare whole stores)."""
    out = {}
    with store.engine.connect() as conn:
        for name in TABLES:
            rows = conn.execute(sa.text(f'SELECT * FROM "{name}"')).all()
            out[name] = sorted((tuple(r) for r in rows), key=repr)
    return out


def test_migrated_schema_matches_the_table_definitions(store: Store) -> None:
    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diffs == []


def test_opening_twice_keeps_data_and_schema(store_url: str) -> None:
    with open_store(store_url) as s:
        s.import_timelines([covid_patient()])
    with open_store(store_url) as s:
        assert s.counts()["observations"] == 3


def test_store_written_by_a_newer_version_is_refused(sqlite_url: str) -> None:
    open_store(sqlite_url).close()
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    with pytest.raises(StoreError, match=r"9999_future.*newer version"):
        open_store(sqlite_url)


def test_invalid_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="not an SQLAlchemy database URL"):
        open_store("no such thing")


def test_environment_variable_selects_the_store(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'env.sqlite'}"
    monkeypatch.setenv(ENV_URL, url)
    with open_store() as s:
        assert s.url == url
    assert (tmp_path / "env.sqlite").exists()


def test_default_store_is_in_the_user_data_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_URL, raising=False)
    assert default_url().endswith("/ruxtrack/ruxtrack.sqlite")
    assert default_url().startswith("sqlite:///")


def test_password_is_hidden_in_the_url(pg_url: str) -> None:
    with open_store(pg_url) as s:
        assert "***" in s.url and ":ruxtrack@" not in s.url


@pytest.mark.postgres
def test_plain_postgresql_url_uses_psycopg3(pg_url: str) -> None:
    plain = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with open_store(plain) as s:
        assert s.engine.dialect.driver == "psycopg"


def test_import_inserts_every_record(store: Store) -> None:
    summary = store.import_timelines(read_folder(EXAMPLE), source=str(EXAMPLE))
    assert summary.changed and summary.inserted == ("EX-COVID-01", "EX-HSCT-01")
    assert store.counts() == {
        "patients": 2, "events": 9, "observations": 12, "drugs": 4, "support": 4,
        "assessments": 5,
    }  # fmt: skip
    assert summary.table("observations").inserted == 12


def test_importing_the_same_data_twice_changes_nothing(store: Store) -> None:
    store.import_timelines(read_folder(EXAMPLE))
    before = _dump(store)
    again = store.import_timelines(read_folder(EXAMPLE))
    assert not again.changed and again.import_id is None
    assert again.unchanged == ("EX-COVID-01", "EX-HSCT-01")
    assert again.table("observations").unchanged == 12
    assert _dump(store) == before  # not even an import-log row


def test_changed_patient_is_replaced_and_the_change_reported(store: Store) -> None:
    store.import_timelines([covid_patient("C1"), covid_patient("C2")])
    before_c2 = store.timeline("C2")
    changed = covid_patient("C1")
    obs = list(changed.observations)
    obs[1] = obs[1].model_copy(update={"value": 299.0})
    summary = store.import_timelines([changed.model_copy(update={"observations": tuple(obs)})])
    assert summary.inserted == () and summary.unchanged == ()
    (change,) = summary.replaced
    assert change.patient_id == "C1" and not change.demographics_changed
    assert dict(change.tables)["observations"].inserted == 1
    assert dict(change.tables)["observations"].removed == 1
    assert change.describe() == "C1: observations +1 -1"
    assert [o.value for o in store.timeline("C1").observations] == [142.0, 299.0, 144.0]
    assert store.timeline("C2") == before_c2  # other patients untouched
    assert store.counts()["observations"] == 6


def test_replacement_can_shrink_a_patient(store: Store) -> None:
    store.import_timelines([covid_patient("C1", n_obs=5)])
    summary = store.import_timelines([covid_patient("C1", n_obs=2)])
    assert summary.table("observations").removed == 3
    assert store.counts()["observations"] == 2


def test_record_order_alone_is_not_a_change(store: Store) -> None:
    tl = covid_patient("C1")
    store.import_timelines([tl])
    reordered = tl.model_copy(update={"observations": tl.observations[::-1]})
    assert not store.import_timelines([reordered]).changed


def test_failure_during_write_rolls_back_everything(store: Store) -> None:
    store.import_timelines([covid_patient("C0")])
    before = _dump(store)

    def explode(done: int, total: int) -> None:
        if done > 1:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        store.import_timelines([covid_patient("C1"), covid_patient("C2")], progress=explode)
    assert _dump(store) == before


def test_invalid_observation_in_one_timeline_writes_nothing(store: Store) -> None:
    good = covid_patient("C1")
    bad = covid_patient("C2")
    wrong = Observation(patient_id="C2", time="admission", code="plt", value=184, unit="/uL")
    bad = bad.model_copy(update={"observations": (*bad.observations, wrong)})
    with pytest.raises(ImportValidationError) as info:
        store.import_timelines([good, bad])
    (problem,) = info.value.problems
    assert problem.file == "timeline C2" and problem.row == 4
    assert problem.field == "observations.value" and "10*3/uL" in problem.reason
    assert store.counts()["patients"] == 0


def test_observations_built_in_code_are_stored_canonical(store: Store) -> None:
    tl = covid_patient("C1", n_obs=1)
    o = Observation(patient_id="C1", time="admission", code="crp", value=5, unit="mg/dL")
    store.import_timelines([tl.model_copy(update={"observations": (o,)})])
    (stored,) = store.timeline("C1").observations
    assert (stored.code, stored.value, stored.unit) == ("crp", 50.0, "mg/L")
    assert (stored.source_value, stored.source_unit) == (5.0, "mg/dL")


def test_unknown_patient_raises_a_ruxtrack_error(store: Store) -> None:
    with pytest.raises(PatientNotFoundError, match='no patient "nobody"') as info:
        store.timeline("nobody")
    assert isinstance(info.value, RuxtrackError)


def test_timelines_read_back_equal_what_was_imported(store: Store) -> None:
    original = read_folder(EXAMPLE)
    store.import_timelines(original)
    assert list(store.timelines(batch_size=1)) == original
    assert store.timeline("EX-HSCT-01") == original[1]


def test_import_export_import_is_lossless(store: Store, tmp_path: Path) -> None:
    store.import_timelines(read_folder(EXAMPLE))
    before = _dump(store)
    for fmt in ("csv", "parquet"):
        out = tmp_path / fmt
        store.export_folder(out, format=fmt)  # type: ignore[arg-type]
        assert read_folder(out) == list(store.timelines())
        assert not store.import_folder(out).changed
        assert _dump(store) == before


def test_store_tables_have_the_resolved_frames_shape(store: Store) -> None:
    timelines = read_folder(EXAMPLE)
    store.import_timelines(timelines)
    frames = resolved_frames(timelines)
    with store.engine.connect() as conn:
        for name, columns in RESOLVED_COLUMNS.items():
            table = pd.read_sql_table(name, conn)
            assert set(columns) <= set(table.columns), name
            got = (
                table[list(columns)]
                .sort_values(["patient_id", *(["seq"] if "seq" in columns else [])])
                .reset_index(drop=True)
            )
            want = frames[name]
            for col in ("t", "t_start", "t_end"):
                if col in columns:
                    assert pd.to_datetime(got[col]).tolist() == want[col].tolist(), (name, col)


def test_resolved_times_put_day_74_after_the_second_transplant_in_t(store: Store) -> None:
    store.import_timelines(read_folder(EXAMPLE))
    with store.engine.connect() as conn:
        q = sa.text(
            "SELECT e.t, h.t FROM events e JOIN events h ON h.patient_id = e.patient_id "
            "WHERE e.patient_id = 'EX-HSCT-01' AND e.event = 'rux_start' "
            "AND h.event = 'hsct' AND h.occurrence = 2"
        )
        rux, hsct2 = conn.execute(q).one()
    assert (pd.Timestamp(rux) - pd.Timestamp(hsct2)).days == 74


def test_patient_summaries_list_anchors_and_counts(store: Store) -> None:
    store.import_timelines(read_folder(EXAMPLE))
    covid, hsct = store.patients()
    assert covid.patient_id == "EX-COVID-01" and covid.synthetic and covid.time_basis == "absolute"
    assert covid.anchors[:3] == ("symptom_onset", "covid_positive", "admission")
    assert covid.count("observations") == 9
    assert covid.age_years is not None and 62 < covid.age_years < 63  # 1958-03-14 -> 2020-04-06
    assert hsct.time_basis == "relative" and hsct.anchors[:2] == ("hsct", "hsct#2")
    assert hsct.age_years == 11


def test_import_log_records_each_writing_import(store: Store) -> None:
    store.import_timelines([covid_patient("C1")], source="first")
    store.import_timelines([covid_patient("C1")], source="again")  # nothing changed
    store.import_timelines([covid_patient("C1", crp=10)], source="third")
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT source, patients_inserted, patients_replaced FROM imports "
                    "ORDER BY import_id")
        ).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [("first", 1, 0), ("third", 0, 1)]


def test_export_writes_observations_as_received(store: Store, tmp_path: Path) -> None:
    store.import_timelines(read_folder(EXAMPLE))
    write_folder(store.timelines(), tmp_path)
    text = (tmp_path / "observations.csv").read_text(encoding="utf-8")
    assert "EX-COVID-01,admission,crp,14.2,mg/dL,," in text
    assert "EX-COVID-01,rux_start,il6,1.5,pg/mL,<," in text
