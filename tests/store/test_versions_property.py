"""Property: after any sequence of edits, additions, deletions and re-imports, reading the
record as of each past moment gives exactly what was current at that moment."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import time_machine
from _store_build import covid_patient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ruxtrack.store import open_store
from ruxtrack.timeline import Observation

START = datetime(2026, 5, 1, 8, 0)  # naive: time_machine reads it as UTC

step = st.one_of(
    st.tuples(st.just("edit"), st.integers(0, 20), st.floats(1, 400)),
    st.tuples(st.just("delete"), st.integers(0, 20), st.just(0.0)),
    st.tuples(st.just("add"), st.integers(0, 5), st.floats(1, 400)),
    st.tuples(st.just("reimport"), st.integers(1, 4), st.floats(1, 400)),
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, min_size=1, max_size=8))
def test_as_of_reads_replay_every_past_state(steps: list[tuple[str, int, float]]) -> None:
    url = f"sqlite:///{Path(tempfile.mkdtemp()) / 's.sqlite'}"
    with time_machine.travel(START, tick=False) as clock, open_store(url) as store:
        store.import_timelines([covid_patient("C1")])
        states = [(START, store.timeline("C1"))]
        for op, k, value in steps:
            clock.shift(timedelta(hours=1))
            current = store.records("C1", "observations")
            if op == "edit" and current:
                seq = current[k % len(current)].seq
                store.edit_record("C1", "observations", seq, {"value": value}, reason="prop")
            elif op == "delete" and current:
                seq = current[k % len(current)].seq
                store.delete_record("C1", "observations", seq, reason="prop")
            elif op == "add":
                new = Observation(patient_id="C1", time=f"admission+{k}d", code="crp",
                                  value=value, unit="mg/L")  # fmt: skip
                store.add_record("C1", new)
            elif op == "reimport":
                store.import_timelines([covid_patient("C1", crp=value, n_obs=k)])
            states.append((datetime.now(UTC).replace(tzinfo=None), store.timeline("C1")))
        for when, expected in states:
            assert store.timeline("C1", as_of=when) == expected
            assert store.timeline("C1", as_of=when + timedelta(minutes=59)) == expected
        assert store.verify_audit() is None
