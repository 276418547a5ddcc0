"""The pandas baseline: a straightforward, vectorised pandas version of a study's base features.

What an analyst would write without a query engine: read the Parquet files into frames, filter,
merge the per-patient anchor times, sort and keep the first row per group (``drop_duplicates``),
pivot. Same semantics as ``ruxtrack.cohort.extract_base`` and ``benchmarks.cohort_floor``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ruxtrack.cohort import Study, event_column
from ruxtrack.timeline import SupportMode

from .cohort_floor import _event_refs, _ref

DAY = 86_400.0
MICROS = 1_000_000.0


def _epoch(col: pd.Series) -> pd.Series:
    """Epoch seconds as float, from whole microseconds (as DuckDB's ``epoch``)."""
    us = pd.to_datetime(col).astype("datetime64[us]")
    out = us.astype("int64").astype("float64") / MICROS
    return out.where(us.notna())


def _key(ts: pd.Series, target: pd.Series, before: float, after: float, tie: str) -> pd.Series:
    d = ((ts - target) * MICROS).round()
    lo, hi = round(before * DAY * MICROS), round(after * DAY * MICROS)
    losing = (d > 0) if tie == "earlier" else (d < 0)
    key = d.abs() * 2 + losing.astype("float64")
    return key.where((d >= lo) & (d <= hi))


def pandas_features(folder: str | Path, study: Study) -> pd.DataFrame:
    """The base feature table, one row per patient, ordered by patient id."""
    f = Path(folder)
    refs = _event_refs(study)
    idx = "ts_" + event_column(study.index)

    def anchor(a: str) -> str:
        return "ts_" + event_column(study.index if a == "index" else a)

    pat = pd.read_parquet(f / "patients.parquet")
    ev = pd.read_parquet(
        f / "events.parquet", columns=["patient_id", "event", "occurrence", "time"]
    )
    ev["occurrence"] = ev["occurrence"].fillna(1).astype("int64")
    ev["ts"] = _epoch(ev["time"])
    age_at = pat[["patient_id", "age_at"]].copy()
    age_at["age_name"] = age_at["age_at"].str.extract(r"^([a-z][a-z0-9_]*)", expand=False)
    occ = age_at["age_at"].str.extract(r"#([0-9]+)$", expand=False)
    age_at["age_occ"] = pd.to_numeric(occ, errors="coerce").fillna(1).astype("int64")

    anchors = pat.set_index("patient_id")
    for r in refs:
        name, o = _ref(r)
        sel = ev[(ev["event"] == name) & (ev["occurrence"] == o)]
        anchors["ts_" + event_column(r)] = sel.groupby("patient_id")["ts"].min()
    adm = ev[(ev["event"] == "admission") & (ev["occurrence"] == 1)]
    anchors["ts_first_admission"] = adm.groupby("patient_id")["ts"].min()
    anchors["ts_earliest"] = ev.groupby("patient_id")["ts"].min()
    ea = ev.merge(age_at, on="patient_id")
    ea = ea[(ea["event"] == ea["age_name"]) & (ea["occurrence"] == ea["age_occ"])]
    anchors["ts_age"] = ea.groupby("patient_id")["ts"].min()
    anchors = anchors.reset_index()
    a_idx = anchors[idx]

    out = pd.DataFrame({"patient_id": anchors["patient_id"]})
    out["sex"] = anchors["sex"]
    out["blood_group"] = anchors["blood_group"]
    year = 365.25 * DAY
    age_ref = anchors["ts_age"].fillna(anchors["ts_first_admission"]).fillna(anchors["ts_earliest"])
    from_birth = (a_idx - _epoch(anchors["birth_date"])) / year
    from_years = anchors["age_years"] + ((a_idx - age_ref) / year).fillna(0.0)
    out["age"] = np.where(anchors["birth_date"].notna(), from_birth, from_years)
    out["has_index"] = a_idx.notna()
    out["synthetic"] = anchors["synthetic"]
    for r in refs:
        ts = anchors["ts_" + event_column(r)]
        out["day_" + event_column(r)] = (ts - a_idx) / DAY
        out["cday_" + event_column(r)] = np.floor(ts / DAY) - np.floor(a_idx / DAY)
    comorb = anchors["comorbidities"].fillna("")
    for name in study.extract.comorbidities:
        out[f"comorb_{name}"] = comorb.str.contains(rf"(?:^|;)\s*{name}\s*(?:=|;|$)", regex=True)
    out = out.set_index("patient_id")
    anchor_cols = ["patient_id", *[c for c in anchors.columns if c.startswith("ts_")]]
    times = anchors[anchor_cols]

    # Markers: the nearest value per time point, the smaller of two at one instant.
    ob = pd.read_parquet(
        f / "observations.parquet", columns=["patient_id", "time", "code", "value"]
    )
    ob = ob[ob["code"].isin([m.code for m in study.markers]) & ob["value"].notna()]
    ob = ob.groupby(["patient_id", "code", "time"], as_index=False).agg(value=("value", "min"))
    ob["ts"] = _epoch(ob["time"])
    ob = ob.merge(times, on="patient_id")
    for tp in study.time_points:
        target = ob[anchor(tp.anchor)] + tp.offset_days * DAY
        ob["k"] = _key(ob["ts"], target, tp.window_days[0], tp.window_days[1], tp.tie)
        near = ob[ob["k"].notna()].sort_values("k").drop_duplicates(["patient_id", "code"])
        wide = near.pivot(index="patient_id", columns="code", values="value")
        for m in study.markers:
            col = wide[m.code] if m.code in wide.columns else None
            out[f"{m.code}__{tp.name}"] = col if col is not None else np.nan

    # Assessments at time points: per code the nearest value, the largest over codes.
    reads = study.extract.assessments
    asm_all = pd.read_parquet(
        f / "assessments.parquet", columns=["patient_id", "time", "kind", "value", "code"]
    )
    if reads:
        a = asm_all[asm_all["kind"].isin({r.kind for r in reads}) & asm_all["value"].notna()]
        a = a.assign(code=a["code"].fillna(""))
        a = a.groupby(["patient_id", "kind", "code", "time"], as_index=False).agg(
            value=("value", "min")
        )
        a["ts"] = _epoch(a["time"])
        a = a.merge(times, on="patient_id")
        for rd in reads:
            tp = study.time_point(rd.at)
            sel = a[a["kind"] == rd.kind]
            if rd.code is not None:
                sel = sel[sel["code"] == rd.code]
            target = sel[anchor(tp.anchor)] + tp.offset_days * DAY
            k = _key(sel["ts"], target, tp.window_days[0], tp.window_days[1], tp.tie)
            near = sel.assign(k=k)[k.notna()].sort_values("k")
            near = near.drop_duplicates(["patient_id", "code"])
            out[rd.name] = near.groupby("patient_id")["value"].max()

    # Support: the most intensive episode running on the time point's calendar day.
    if study.extract.support_at:
        sp = pd.read_parquet(
            f / "support.parquet", columns=["patient_id", "mode", "start", "end", "fio2"]
        )
        ranks = {m.value: m.rank for m in SupportMode}
        sp["rank"] = sp["mode"].map(ranks).fillna(-1)
        sp["d0"] = np.floor(_epoch(sp["start"]) / DAY)
        sp["d1"] = np.floor(_epoch(sp["end"]) / DAY)
        sp = sp.merge(times, on="patient_id")
        for name in study.extract.support_at:
            tp = study.time_point(name)
            day = np.floor((sp[anchor(tp.anchor)] + tp.offset_days * DAY) / DAY)
            run = sp[(sp["d0"] <= day) & (sp["d1"].isna() | (sp["d1"] >= day))]
            top = run.sort_values(
                ["rank", "fio2", "mode"], ascending=[False, False, True], na_position="last"
            ).drop_duplicates("patient_id")
            top = top.set_index("patient_id")
            out[f"support__{name}"] = top["mode"]
            out[f"fio2__{name}"] = top["fio2"]

    # Drugs started before the index.
    flags = study.extract.drugs_before_index
    if flags:
        dr = pd.read_parquet(f / "drugs.parquet", columns=["patient_id", "drug", "start"])
        dr = dr[dr["drug"].isin({n for g in flags.values() for n in g})]
        dr = dr.merge(times[["patient_id", idx]], on="patient_id")
        before = _epoch(dr["start"]) < dr[idx]
        for flag, names in flags.items():
            hit = dr[dr["drug"].isin(list(names)) & before]
            out[flag] = out.index.isin(hit["patient_id"].unique())

    # Worst numeric grade over days from the index.
    if study.extract.worst_grade:
        g = asm_all[asm_all["kind"].isin({w.kind for w in study.extract.worst_grade})]
        g = g.merge(times[["patient_id", idx]], on="patient_id")
        rel = (_epoch(g["time"]) - g[idx]) / DAY
        grade = pd.to_numeric(g["value"], errors="coerce")
        for w in study.extract.worst_grade:
            mask = (g["kind"] == w.kind) & (rel >= w.from_days) & (rel <= w.to_days)
            if w.code is not None:
                mask &= g["code"] == w.code
            out[w.name] = grade[mask].groupby(g.loc[mask, "patient_id"]).max()

    # Group given in the data: the latest assessment of the group kind.
    if study.groups is not None and study.groups.source == "assessment":
        ga = asm_all[asm_all["kind"] == study.groups.kind]
        ga = ga.sort_values(["time", "value"], ascending=[False, True], na_position="last")
        out["group"] = ga.drop_duplicates("patient_id").set_index("patient_id")["value"]
    return out.sort_index().reset_index()
