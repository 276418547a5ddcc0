"""Fuzz: whatever a records export or data dictionary holds, the REDCap reader returns
problems, never a traceback."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redcap_fixtures import LONG_DICTIONARY, LONG_MAPPING, LONG_RECORDS, write_project

from ruxtrack.sources import SourceResult, read_source

cell = st.one_of(
    st.sampled_from(["", "1", "2", "0", "101", "baseline_arm_1", "day_8_arm_1", "dose",
                     "2020-04-05", "2020-04-05 09:30", "1850", "12.4", "-1", "1e309", "nan",
                     "comorb___1", "|", ",", '"', "\n", "2020-02-30"]),
    st.text(max_size=10),
)  # fmt: skip


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    target=st.sampled_from(["records", "dictionary", "mapping"]),
    edits=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 20), cell), max_size=4),
    raw=st.one_of(st.none(), st.binary(max_size=40)),
)
def test_any_edit_gives_problems_not_a_traceback(
    target: str, edits: list[tuple[int, int, str]], raw: bytes | None
) -> None:
    records = [list(r) for r in LONG_RECORDS]
    dictionary = [list(r) for r in LONG_DICTIONARY]
    mapping = LONG_MAPPING
    for i, j, value in edits:
        if target == "records":
            row = records[i % len(records)]
            row[j % len(row)] = value
        elif target == "dictionary":
            row = dictionary[i % len(dictionary)]
            row[j % len(row)] = value
        else:
            mapping = mapping.replace(":", value or ":", 1) if i % 2 else mapping + value
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_project(Path(tmp), dictionary, records, mapping)
        if raw is not None:
            name = {"records": "records.csv", "dictionary": "dictionary.csv"}.get(
                target, "mapping.yaml"
            )
            (folder / name).write_bytes(raw)
        result = read_source(str(folder), "redcap")
    assert isinstance(result, SourceResult)
    assert bool(result.timelines) != bool(result.problems)
