"""The benchmark floor: one hand-written DuckDB SQL query for a study's base feature table.

Written by hand (not produced by Ibis) with the same semantics as
``ruxtrack.cohort.extract_base`` — the nearest value in the window (earlier on equal distance, the
smaller of two values at one instant), epoch-second arithmetic, the most intensive support running
that calendar day, drugs before the index, worst grades, the latest group assessment — reading the
Parquet files ``ruxtrack synth --format parquet`` writes. The study only supplies the lists
(markers, time points and their windows, events, reads); the SQL around them is fixed text.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from ruxtrack.cohort import Study, event_column
from ruxtrack.timeline import SupportMode

DAY = 86_400
MICROS = 1_000_000


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ref(ref: str) -> tuple[str, int]:
    name, _, occ = ref.partition("#")
    return name, int(occ) if occ else 1


def _event_refs(study: Study) -> list[str]:
    refs = [study.index]
    refs += [tp.anchor for tp in study.time_points if tp.anchor != "index"]
    refs += list(study.extract.events)
    for d in study.derived:
        if d.kind == "days_between":
            refs += [str(d.start), str(d.end)]
    refs += [f.anchor for f in study.figures]
    return list(dict.fromkeys(r for r in refs if r != "index"))


def floor_sql(folder: str | Path, study: Study) -> str:
    """The one query (a chain of CTEs) computing the base features, ordered by patient."""
    f = str(folder)
    refs = _event_refs(study)
    idx = "ts_" + event_column(study.index)

    def anchor(a: str) -> str:
        return "ts_" + event_column(study.index if a == "index" else a)

    def key(tp_name: str) -> str:
        tp = study.time_point(tp_name)
        d = f"round((ts - ({anchor(tp.anchor)} + {tp.offset_days * DAY}))*{MICROS})::BIGINT"
        lo, hi = (round(w * DAY * MICROS) for w in tp.window_days)
        side = f"({d} > 0)" if tp.tie == "earlier" else f"({d} < 0)"
        return f"CASE WHEN {d} BETWEEN {lo} AND {hi} THEN abs({d})*2 + {side}::INT END"

    ev_aggs = [
        f"min(ts) FILTER (WHERE event = {_q(_ref(r)[0])} AND occ = {_ref(r)[1]}) "
        f"AS ts_{event_column(r)}"
        for r in refs
    ]
    base_cols = [
        "p.patient_id",
        "p.sex",
        "p.blood_group",
        f"""CASE WHEN p.birth_date IS NOT NULL
              THEN ({idx} - epoch(p.birth_date::TIMESTAMP)) / ({365.25 * DAY})
              ELSE p.age_years + coalesce(({idx} - coalesce(ts_age, ts_first_admission,
                   ts_earliest)) / ({365.25 * DAY}), 0) END AS age""",
        f"{idx} IS NOT NULL AS has_index",
        "p.synthetic",
    ]
    for r in refs:
        c = event_column(r)
        base_cols.append(f"(ts_{c} - {idx}) / {DAY} AS day_{c}")
        base_cols.append(f"floor(ts_{c} / {DAY}) - floor({idx} / {DAY}) AS cday_{c}")
    for name in study.extract.comorbidities:
        pat = rf"(^|;)\s*{name}\s*(=|;|$)"
        base_cols.append(
            f"regexp_matches(coalesce(p.comorbidities, ''), {_q(pat)}) AS comorb_{name}"
        )

    tps = study.time_points
    codes = ", ".join(_q(m.code) for m in study.markers)
    mk_keys = ", ".join(f"{key(tp.name)} AS k_{tp.name}" for tp in tps)
    mk_aggs = ", ".join(
        f"arg_min(value, k_{tp.name}) FILTER (WHERE code = {_q(m.code)} "
        f"AND k_{tp.name} IS NOT NULL) AS {m.code}__{tp.name}"
        for m in study.markers
        for tp in tps
    )
    reads = study.extract.assessments
    a_tps = list(dict.fromkeys(a.at for a in reads))
    a_kinds = ", ".join(_q(k) for k in sorted({a.kind for a in reads}))
    a_keys = ", ".join(f"{key(t)} AS k_{t}" for t in a_tps)
    a_v = ", ".join(f"arg_min(value, k_{t}) AS v_{t}" for t in a_tps)
    a_aggs = ", ".join(
        f"max(v_{a.at}) FILTER (WHERE kind = {_q(a.kind)}"
        + (f" AND code = {_q(a.code)}" if a.code is not None else "")
        + f") AS {a.name}"
        for a in reads
    )
    ranks = " ".join(f"WHEN {_q(m.value)} THEN {m.rank}" for m in SupportMode)
    s_days = " UNION ALL ".join(
        f"SELECT patient_id, {_q(t)} AS tp, floor(({anchor(study.time_point(t).anchor)} + "
        f"{study.time_point(t).offset_days * DAY}) / {DAY}) AS day FROM anchors"
        for t in study.extract.support_at
    )
    s_aggs = ", ".join(
        f"max(mode) FILTER (WHERE tp = {_q(t)}) AS support__{t}, "
        f"max(fio2) FILTER (WHERE tp = {_q(t)}) AS fio2__{t}"
        for t in study.extract.support_at
    )
    flags = study.extract.drugs_before_index
    drug_names = ", ".join(_q(n) for n in sorted({n for g in flags.values() for n in g}))
    d_aggs = ", ".join(
        f"coalesce(bool_or(drug IN ({', '.join(_q(n) for n in g)}) AND ts < {idx}), false) "
        f"AS {flag}"
        for flag, g in flags.items()
    )
    wgs = study.extract.worst_grade
    g_kinds = ", ".join(_q(k) for k in sorted({w.kind for w in wgs}))
    g_aggs = ", ".join(
        f"max(TRY_CAST(value AS DOUBLE)) FILTER (WHERE kind = {_q(w.kind)} AND rel >= "
        f"{w.from_days} AND rel <= {w.to_days}"
        + (f" AND code = {_q(w.code)}" if w.code is not None else "")
        + f") AS {w.name}"
        for w in wgs
    )
    group_kind = _q(study.groups.kind) if study.groups is not None else "NULL"
    out_cols = [c.split(" AS ")[-1].strip() if " AS " in c else c.split(".")[-1] for c in base_cols]
    out_cols += [f"{m.code}__{tp.name}" for m in study.markers for tp in tps]
    out_cols += [a.name for a in reads]
    out_cols += [f"{p}__{t}" for t in study.extract.support_at for p in ("support", "fio2")]
    out_cols += [f"coalesce({flag}, false) AS {flag}" for flag in flags]
    out_cols += [w.name for w in wgs]
    if study.groups is not None and study.groups.source == "assessment":
        out_cols.append('"group"')
    return f"""
WITH
pat AS (SELECT * FROM read_parquet('{f}/patients.parquet')),
ev AS (SELECT e.patient_id, e.event, coalesce(e.occurrence, 1) AS occ, epoch(e.time) AS ts,
         regexp_extract(p.age_at, '^([a-z][a-z0-9_]*)', 1) AS age_name,
         coalesce(TRY_CAST(nullif(regexp_extract(p.age_at, '#([0-9]+)$', 1), '') AS BIGINT), 1)
           AS age_occ
       FROM read_parquet('{f}/events.parquet') e JOIN pat p USING (patient_id)),
evw AS (SELECT patient_id, {", ".join(ev_aggs)},
          min(ts) FILTER (WHERE event = 'admission' AND occ = 1) AS ts_first_admission,
          min(ts) AS ts_earliest,
          min(ts) FILTER (WHERE event = age_name AND occ = age_occ) AS ts_age
        FROM ev GROUP BY patient_id),
anchors AS MATERIALIZED (SELECT p.*, evw.* EXCLUDE (patient_id)
        FROM pat p LEFT JOIN evw USING (patient_id)),
base AS (SELECT {", ".join(base_cols)} FROM anchors p),
obs AS (SELECT patient_id, code, time, min(value) AS value
        FROM read_parquet('{f}/observations.parquet')
        WHERE code IN ({codes}) AND value IS NOT NULL GROUP BY patient_id, code, time),
obs_k AS (SELECT o.patient_id, o.code, o.value, {mk_keys}
          FROM (SELECT o.*, epoch(o.time) AS ts, a.* EXCLUDE (patient_id)
                FROM obs o JOIN anchors a USING (patient_id)) o),
markers AS (SELECT patient_id, {mk_aggs} FROM obs_k GROUP BY patient_id),
asm AS (SELECT patient_id, kind, coalesce(code, '') AS code, time, min(value) AS value
        FROM read_parquet('{f}/assessments.parquet')
        WHERE kind IN ({a_kinds}) AND value IS NOT NULL GROUP BY ALL),
asm_k AS (SELECT a.patient_id, a.kind, a.code, a.value, {a_keys}
          FROM (SELECT a.*, epoch(a.time) AS ts, x.* EXCLUDE (patient_id)
                FROM asm a JOIN anchors x USING (patient_id)) a),
asm_c AS (SELECT patient_id, kind, code, {a_v} FROM asm_k GROUP BY patient_id, kind, code),
reads AS (SELECT patient_id, {a_aggs} FROM asm_c GROUP BY patient_id),
sp AS (SELECT patient_id, mode, fio2, CASE mode {ranks} ELSE -1 END AS rank,
         floor(epoch(start) / {DAY}) AS d0, floor(epoch("end") / {DAY}) AS d1
       FROM read_parquet('{f}/support.parquet')),
sdays AS ({s_days}),
stop AS (SELECT sp.patient_id, sdays.tp, sp.mode, sp.fio2 FROM sp JOIN sdays
           ON sp.patient_id = sdays.patient_id AND sp.d0 <= sdays.day
          AND (sp.d1 IS NULL OR sp.d1 >= sdays.day)
         QUALIFY row_number() OVER (PARTITION BY sp.patient_id, sdays.tp
                 ORDER BY rank DESC NULLS LAST, fio2 DESC NULLS LAST, mode ASC NULLS LAST) = 1),
support AS (SELECT patient_id, {s_aggs} FROM stop GROUP BY patient_id),
drugs AS (SELECT d.patient_id, {d_aggs}
          FROM (SELECT patient_id, drug, epoch(start::TIMESTAMP) AS ts
                FROM read_parquet('{f}/drugs.parquet') WHERE drug IN ({drug_names})) d
          JOIN anchors a USING (patient_id) GROUP BY d.patient_id),
grades AS (SELECT g.patient_id, {g_aggs}
           FROM (SELECT x.patient_id, x.kind, x.code, x.value,
                        (epoch(x.time) - a.{idx}) / {DAY} AS rel
                 FROM read_parquet('{f}/assessments.parquet') x JOIN anchors a USING (patient_id)
                 WHERE x.kind IN ({g_kinds})) g GROUP BY g.patient_id),
grp AS (SELECT patient_id, value AS "group" FROM read_parquet('{f}/assessments.parquet')
        WHERE kind = {group_kind}
        QUALIFY row_number() OVER (PARTITION BY patient_id
                ORDER BY time DESC NULLS LAST, value ASC NULLS LAST) = 1)
SELECT {", ".join(out_cols)}
FROM base
LEFT JOIN markers USING (patient_id)
LEFT JOIN reads USING (patient_id)
LEFT JOIN support USING (patient_id)
LEFT JOIN drugs USING (patient_id)
LEFT JOIN grades USING (patient_id)
LEFT JOIN grp USING (patient_id)
ORDER BY patient_id
"""


def floor_features(folder: str | Path, study: Study, threads: int | None = None) -> pd.DataFrame:
    """Run the floor query on a fresh in-process DuckDB and return the frame."""
    con = duckdb.connect()
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")
    return con.execute(floor_sql(folder, study)).df()


def conform(frame: pd.DataFrame, study: Study) -> pd.DataFrame:
    """The frame with the base feature columns in order and one dtype per Ibis type
    (float64, nullable boolean, nullable string), so three implementations compare exactly."""
    from ruxtrack.cohort._features import base_feature_types

    out = pd.DataFrame(index=range(len(frame)))
    plain = frame.reset_index(drop=True)
    for name, typ in base_feature_types(study).items():
        col = plain[name]
        if typ == "float64":
            out[name] = pd.to_numeric(col, errors="coerce").astype("float64")
        elif typ == "boolean":
            out[name] = col.astype("boolean")
        else:
            out[name] = col.astype("string")
    return out
