"""Fuzz: whatever a CDM table holds, the OMOP reader returns problems, never a traceback."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ruxtrack.sources import SourceResult, read_source

PERSON = "person_id,gender_concept_id,year_of_birth,person_source_value\n1,8532,1950,P1\n"
HEADERS = {
    "measurement": "person_id,measurement_concept_id,measurement_date,measurement_datetime,"
    "value_as_number,unit_concept_id,measurement_source_value,unit_source_value,"
    "value_source_value,operator_concept_id",
    "drug_exposure": "person_id,drug_concept_id,drug_exposure_start_date,"
    "drug_exposure_start_datetime,drug_exposure_end_datetime,quantity,sig,drug_source_value,"
    "dose_unit_source_value,route_source_value",
    "observation": "person_id,observation_concept_id,observation_date,observation_datetime,"
    "value_as_number,value_as_string,observation_source_value,qualifier_source_value",
    "visit_occurrence": "person_id,visit_concept_id,visit_start_date,visit_start_datetime,"
    "visit_end_datetime,discharged_to_concept_id,visit_source_value",
}

cell = st.one_of(
    st.sampled_from(["", "1", "0", "8507", "crp", "mg/L", "10 mg BID", "ruxolitinib",
                     "2020-01-01", "2020-01-01 10:00:00", "event:admission#1", "assessment:x",
                     "patient:age_years", "-1", "1e308", "nan", "inf", "999999999999999999999",
                     "admission#0", "support:fio2", '"', ",", "\n"]),
    st.text(max_size=12),
)  # fmt: skip


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    table=st.sampled_from(sorted(HEADERS)),
    rows=st.lists(st.lists(cell, min_size=1, max_size=11), max_size=4),
    raw=st.one_of(st.none(), st.binary(max_size=40)),
)
def test_any_table_content_gives_problems_not_a_traceback(
    table: str, rows: list[list[str]], raw: bytes | None
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cdm = Path(tmp)
        (cdm / "person.csv").write_text(PERSON, encoding="utf-8")
        if raw is not None:
            (cdm / f"{table}.csv").write_bytes(raw)
        else:
            body = "\n".join(",".join('"' + c.replace('"', '""') + '"' for c in r) for r in rows)
            (cdm / f"{table}.csv").write_text(HEADERS[table] + "\n" + body + "\n", encoding="utf-8")
        result = read_source(str(cdm), "omop")
    assert isinstance(result, SourceResult)
    assert bool(result.timelines) != bool(result.problems)
