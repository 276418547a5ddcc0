"""Per-patient features, written once as Ibis expressions (DuckDB, PySpark, any Ibis backend).

Time distances are epoch-second arithmetic (trap G3), so no backend needs interval types.
Column names of the feature table:

* ``patient_id``, ``sex``, ``blood_group``, ``age`` (years at the index), ``has_index``;
* ``day_<event>``: days from the index to the event (``day_hsct_2`` for ``hsct#2``);
* ``<marker>__<time point>``: the marker value nearest the time point within its window;
* ``support__<tp>`` / ``fio2__<tp>``: the most intensive respiratory support running at the time
  point and its FiO2;
* each ``extract.assessments`` name, ``extract.drugs_before_index`` flag, ``extract.worst_grade``
  name and ``comorb_<name>``;
* ``group`` and every derived variable; ``included`` after the population rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd

from ruxtrack.cohort._inputs import CohortTables
from ruxtrack.cohort._study import Condition, DerivedVar, Study
from ruxtrack.errors import AnalysisError
from ruxtrack.timeline import SupportMode

__all__ = [
    "FeatureTable",
    "apply_derived",
    "compute_features",
    "event_column",
    "extract_base",
    "feature_expr",
]

DAY = 86_400.0
YEAR_DAYS = 365.25  # Julian year: the convention the timeline model uses for ages


def event_column(ref: str) -> str:
    """Column name of an event reference: ``admission`` → ``admission``, ``hsct#2`` → ``hsct_2``."""
    return ref.replace("#", "_")


def _split_ref(ref: str) -> tuple[str, int]:
    name, _, occ = ref.partition("#")
    return name, int(occ) if occ else 1


def _epoch(col: ir.TimestampValue) -> ir.FloatingValue:
    return col.epoch_seconds().cast("float64")


def _event_refs(study: Study) -> list[str]:
    refs: list[str] = [study.index]
    refs += [tp.anchor for tp in study.time_points if tp.anchor != "index"]
    refs += list(study.extract.events)
    for d in study.derived:
        if d.kind == "days_between":
            refs += [str(d.start), str(d.end)]
    refs += [f.anchor for f in study.figures]
    out: list[str] = []
    for r in refs:
        if r != "index" and r not in out:
            out.append(r)
    return out


def _anchor_col(anchor: str, study: Study) -> str:
    return "ts_" + event_column(study.index if anchor == "index" else anchor)


def _nearest(
    long: ir.Table,
    targets: ir.Table,
    key_cols: Sequence[str],
    value_col: str,
    tie: Mapping[str, str],
) -> ir.Table:
    """Per (patient, time point, key) the value nearest the target inside its window.

    ``long`` has ``patient_id``, ``ts`` (epoch seconds), the key columns and ``value_col``;
    ``targets`` has ``patient_id``, ``tp``, ``target``, ``lo``, ``hi``. Ties on distance go to the
    earlier (or later, per time point) value; remaining ties (two values at the same instant) to
    the smaller value, so every engine picks the same row.
    """
    j = long.join(
        targets,
        [
            long.patient_id == targets.patient_id,
            long.ts >= targets.lo,
            long.ts <= targets.hi,
        ],
    ).select(
        long.patient_id,
        targets.tp,
        *[long[k] for k in key_cols],
        long[value_col],
        d=long.ts - targets.target,
    )
    later = (
        j.tp.isin([tp for tp, rule in tie.items() if rule == "later"])
        if any(r == "later" for r in tie.values())
        else ibis.literal(False)
    )
    signed = ibis.ifelse(later, -j.d, j.d)
    w = ibis.window(
        group_by=[j.patient_id, j.tp, *[j[k] for k in key_cols]],
        order_by=[j.d.abs(), signed, j[value_col]],
    )
    ranked = j.mutate(rn=ibis.row_number().over(w))
    return ranked.filter(ranked.rn == 0).drop("rn", "d")


def extract_base(tables: CohortTables, study: Study) -> ir.Table:
    """The base features (everything read from the long tables), one row per patient."""
    p = tables.patients
    ev = tables.events
    refs = _event_refs(study)
    ev_ts = _epoch(ev.t)
    aggs: dict[str, Any] = {}
    for ref in refs:
        name, occ = _split_ref(ref)
        aggs["ts_" + event_column(ref)] = ev_ts.min(
            where=(ev.event == name) & (ev.occurrence == occ)
        )
    aggs["ts_first_admission"] = ev_ts.min(where=(ev.event == "admission") & (ev.occurrence == 1))
    aggs["ts_earliest"] = ev_ts.min()
    ev_wide = ev.group_by(ev.patient_id).aggregate(**aggs)

    base = p.left_join(ev_wide, p.patient_id == ev_wide.patient_id).drop("patient_id_right")
    idx = base["ts_" + event_column(study.index)]

    # Age at the index: from the birth date, or age_years at its anchor (default first admission,
    # else the earliest event) moved to the index.
    age_ref_name = base.age_at.re_extract(r"^([a-z][a-z0-9_]*)", 1)
    age_ref_occ = base.age_at.re_extract(r"#([0-9]+)$", 1).nullif("").cast("int64").fill_null(1)
    ev_age = ev.select(ev.patient_id, ev.event, ev.occurrence, ts_age=ev_ts)
    base = base.left_join(
        ev_age,
        [
            base.patient_id == ev_age.patient_id,
            age_ref_name == ev_age.event,
            age_ref_occ == ev_age.occurrence,
        ],
    ).drop("patient_id_right", "event", "occurrence")
    idx = base["ts_" + event_column(study.index)]
    age_ref = ibis.coalesce(base.ts_age, base.ts_first_admission, base.ts_earliest)
    from_birth = (idx - _epoch(base.birth_date.cast("timestamp"))) / (YEAR_DAYS * DAY)
    from_years = base.age_years + ibis.coalesce((idx - age_ref) / (YEAR_DAYS * DAY), 0.0)
    base = base.mutate(
        age=ibis.ifelse(base.birth_date.notnull(), from_birth, from_years).cast("float64"),
        has_index=idx.notnull(),
    )

    cols: dict[str, Any] = {
        "patient_id": base.patient_id,
        "sex": base.sex,
        "blood_group": base.blood_group,
        "age": base.age,
        "has_index": base.has_index,
        "synthetic": base.synthetic,
    }
    idx = base["ts_" + event_column(study.index)]
    for ref in refs:
        ts = base["ts_" + event_column(ref)]
        cols["day_" + event_column(ref)] = ((ts - idx) / DAY).cast("float64")
        cols["cday_" + event_column(ref)] = ((ts / DAY).floor() - (idx / DAY).floor()).cast(
            "float64"
        )
    for name in study.extract.comorbidities:
        pattern = rf"(^|;)\s*{name}\s*(=|;|$)"
        cols[f"comorb_{name}"] = base.comorbidities.fill_null("").re_search(pattern)
    for ref in refs:
        cols["ts_" + event_column(ref)] = base["ts_" + event_column(ref)]
    feats = base.select(**cols)

    # Targets: one row per patient and time point.
    parts = []
    for tp in study.time_points:
        anchor = feats[_anchor_col(tp.anchor, study)]
        target = anchor + tp.offset_days * DAY
        parts.append(
            feats.select(
                patient_id=feats.patient_id,
                tp=ibis.literal(tp.name),
                target=target,
                lo=target + tp.window_days[0] * DAY,
                hi=target + tp.window_days[1] * DAY,
            ).filter(target.notnull())
        )
    targets = ibis.union(*parts) if len(parts) > 1 else parts[0]
    tie = {tp.name: tp.tie for tp in study.time_points}

    # Markers at time points.
    ob = tables.observations
    codes = [m.code for m in study.markers]
    obs = ob.filter(ob.code.isin(codes) & ob.value.notnull()).select(
        ob.patient_id, ob.code, ob.value, ts=_epoch(ob.t)
    )
    near = _nearest(obs, targets, ["code"], "value", tie)
    mk_aggs = {
        f"{m.code}__{tp.name}": near.value.max(where=(near.code == m.code) & (near.tp == tp.name))
        for m in study.markers
        for tp in study.time_points
    }
    marker_wide = near.group_by(near.patient_id).aggregate(**mk_aggs)
    feats = _left(feats, marker_wide)

    # Assessments at time points.
    asm = tables.assessments
    if study.extract.assessments:
        a_aggs: dict[str, Any] = {}
        kinds = sorted({a.kind for a in study.extract.assessments})
        a_long = asm.filter(asm.kind.isin(kinds)).select(
            asm.patient_id, asm.kind, code=asm.code.fill_null(""), value=asm.value, ts=_epoch(asm.t)
        )
        a_near = _nearest(a_long, targets, ["kind", "code"], "value", tie)
        for a in study.extract.assessments:
            cond = (a_near.kind == a.kind) & (a_near.tp == a.at)
            if a.code is not None:
                cond = cond & (a_near.code == a.code)
            a_aggs[a.name] = a_near.value.max(where=cond)
        feats = _left(feats, a_near.group_by(a_near.patient_id).aggregate(**a_aggs))

    # Respiratory support at time points: the most intensive episode running that calendar day.
    if study.extract.support_at:
        sp = tables.support
        rank = sp.mode.cases(*[(m.value, m.rank) for m in SupportMode], else_=-1)
        sp_l = sp.select(
            sp.patient_id,
            sp.mode,
            fio2=sp.fio2,
            rank=rank,
            d0=(_epoch(sp.t_start) / DAY).floor(),
            d1=(_epoch(sp.t_end) / DAY).floor(),
        )
        tg = targets.filter(targets.tp.isin(list(study.extract.support_at)))
        tg = tg.mutate(day=(tg.target / DAY).floor())
        js = sp_l.join(
            tg,
            [
                sp_l.patient_id == tg.patient_id,
                sp_l.d0 <= tg.day,
                sp_l.d1.isnull() | (sp_l.d1 >= tg.day),
            ],
        ).select(sp_l.patient_id, tg.tp, sp_l.mode, sp_l.fio2, sp_l.rank)
        w = ibis.window(
            group_by=[js.patient_id, js.tp],
            order_by=[ibis.desc(js["rank"]), ibis.desc(js.fio2), js.mode],
        )
        top = js.mutate(rn=ibis.row_number().over(w))
        top = top.filter(top.rn == 0)
        s_aggs: dict[str, Any] = {}
        for tp_name in study.extract.support_at:
            s_aggs[f"support__{tp_name}"] = top.mode.max(where=top.tp == tp_name)
            s_aggs[f"fio2__{tp_name}"] = top.fio2.max(where=top.tp == tp_name)
        feats = _left(feats, top.group_by(top.patient_id).aggregate(**s_aggs))

    # Drugs started before the index.
    if study.extract.drugs_before_index:
        dr = tables.drugs
        jd = dr.join(
            feats.select("patient_id", idx_ts=feats[_anchor_col("index", study)]), "patient_id"
        )
        before = _epoch(jd.t_start) < jd.idx_ts
        d_aggs = {
            flag: (jd.drug.isin(list(names)) & before).any()
            for flag, names in study.extract.drugs_before_index.items()
        }
        feats = _left(feats, jd.group_by(jd.patient_id).aggregate(**d_aggs))
        feats = feats.mutate(
            **{flag: feats[flag].fill_null(False) for flag in study.extract.drugs_before_index}
        )

    # Worst grade over a window from the index.
    if study.extract.worst_grade:
        jg = asm.join(
            feats.select("patient_id", idx_ts=feats[_anchor_col("index", study)]), "patient_id"
        )
        rel = (_epoch(jg.t) - jg.idx_ts) / DAY
        grade = jg.value.try_cast("float64")
        g_aggs: dict[str, Any] = {}
        for wg in study.extract.worst_grade:
            cond = (jg.kind == wg.kind) & (rel >= wg.from_days) & (rel <= wg.to_days)
            if wg.code is not None:
                cond = cond & (jg.code == wg.code)
            g_aggs[wg.name] = grade.max(where=cond)
        feats = _left(feats, jg.group_by(jg.patient_id).aggregate(**g_aggs))

    # Groups given in the data: the latest assessment of the group kind.
    if study.groups is not None and study.groups.source == "assessment":
        ga = asm.filter(asm.kind == study.groups.kind)
        w = ibis.window(group_by=ga.patient_id, order_by=[ibis.desc(ga.t), ga.value])
        ga = ga.mutate(rn=ibis.row_number().over(w))
        ga = ga.filter(ga.rn == 0).select("patient_id", group=ga.value)
        feats = _left(feats, ga)
    return feats.drop(*[c for c in feats.columns if c.startswith("ts_")])


def _left(left: ir.Table, right: ir.Table) -> ir.Table:
    joined = left.left_join(right, left.patient_id == right.patient_id)
    return joined.drop("patient_id_right")


# -- derived variables ---------------------------------------------------------------------------


def _literal(value: Any) -> Any:
    return value


def condition_expr(t: ir.Table, cond: Condition) -> ir.BooleanValue:
    """Compile a study condition to an Ibis boolean with three-valued logic."""
    if cond.all is not None:
        out = condition_expr(t, cond.all[0])
        for sub in cond.all[1:]:
            out = out & condition_expr(t, sub)
        return out
    if cond.any is not None:
        out = condition_expr(t, cond.any[0])
        for sub in cond.any[1:]:
            out = out | condition_expr(t, sub)
        return out
    if cond.not_ is not None:
        return ~condition_expr(t, cond.not_)
    assert cond.var is not None and cond.op is not None
    if cond.var not in t.columns:
        raise AnalysisError(f"condition reads {cond.var!r}, which is not a feature")
    col = t[cond.var]
    v = cond.value
    match cond.op:
        case "is_null":
            return col.isnull()
        case "not_null":
            return col.notnull()
        case "in":
            assert isinstance(v, tuple)
            return col.isin(list(v))
        case "not_in":
            assert isinstance(v, tuple)
            return col.notin(list(v))
        case "eq":
            return col == v
        case "ne":
            return col != v
        case "lt":
            return col < v
        case "le":
            return col <= v
        case "gt":
            return col > v
        case "ge":
            return col >= v
    raise AnalysisError(f"unknown op {cond.op}")  # pragma: no cover - Literal-checked


def _derived_expr(t: ir.Table, d: DerivedVar, study: Study) -> ir.Value:
    null_bool = ibis.null(dt.boolean)
    if d.kind == "days_between":
        # Calendar days (date difference), as papers count "days from admission to start".
        start = "cday_" + event_column(str(d.start))
        end = "cday_" + event_column(str(d.end))
        s = t[start] if d.start != "index" else ibis.literal(0.0)
        e = t[end] if d.end != "index" else ibis.literal(0.0)
        return (e - s).cast("float64")
    if d.kind == "condition":
        assert d.when is not None
        return condition_expr(t, d.when)
    if d.kind == "bins":
        assert d.var is not None and d.edges is not None and d.labels is not None
        col = t[d.var]
        branches = [(col.isnull(), ibis.null(dt.string))]
        branches += [
            (col < e, ibis.literal(lab)) for e, lab in zip(d.edges, d.labels, strict=False)
        ]
        return ibis.cases(*branches, else_=ibis.literal(d.labels[-1]))
    if d.kind == "category_map":
        assert d.var is not None and d.mapping is not None
        col = t[d.var]
        return col.cases(*d.mapping.items(), else_=col)
    if d.kind == "cases":
        assert d.cases is not None
        fallback = t[d.var].cast("string") if d.var is not None else ibis.null(dt.string)
        return ibis.cases(
            *[(condition_expr(t, c.when).fill_null(False), ibis.literal(c.value)) for c in d.cases],
            else_=fallback,
        )
    assert d.marker is not None or d.markers is not None
    if d.kind == "marker_altered":
        assert d.marker is not None and d.at is not None
        high = _high(study, d.marker, d.name)
        return t[f"{d.marker}__{d.at}"] > high
    if d.kind == "relative_change":
        a, b = t[f"{d.marker}__{d.start}"], t[f"{d.marker}__{d.to}"]
        return ibis.ifelse(a == 0, ibis.null(dt.float64), (b - a) / a)
    if d.kind == "marker_fall":
        assert d.fraction is not None
        a, b = t[f"{d.marker}__{d.start}"], t[f"{d.marker}__{d.to}"]
        return ibis.ifelse(a <= 0, null_bool, b < a * (1 - d.fraction))
    if d.kind == "marker_response":
        assert d.markers is not None and d.fraction is not None
        considered: ir.IntegerValue = ibis.literal(0)
        ok: ir.IntegerValue = ibis.literal(0)
        for m in d.markers:
            high = _high(study, m, d.name)
            a, b = t[f"{m}__{d.start}"], t[f"{m}__{d.to}"]
            counted = ((a > high) & b.notnull()).fill_null(False)
            good = ((b < a * (1 - d.fraction)) | (b <= high)).fill_null(False)
            considered = considered + counted.ifelse(1, 0)
            ok = ok + (counted & good).ifelse(1, 0)
        return ibis.ifelse(considered == 0, null_bool, ok == considered)
    raise AnalysisError(f"derived {d.name}: unknown kind {d.kind}")  # pragma: no cover


def _high(study: Study, code: str, name: str) -> float:
    m = study.marker(code)
    if m.normal is None or m.normal.high is None:
        raise AnalysisError(f"derived {name}: marker {code} has no normal upper limit")
    return m.normal.high


def apply_derived(t: ir.Table, study: Study) -> ir.Table:
    """Add the derived variables, the rule-based groups and ``included`` to a base feature table."""
    for d in study.derived:
        if d.name in t.columns:  # given in the input (a wide spreadsheet): taken as recorded
            continue
        t = t.mutate(**{d.name: _derived_expr(t, d, study)})
    if study.groups is not None and study.groups.source == "rules":
        g = study.groups
        t = t.mutate(
            group=ibis.cases(
                *[
                    (condition_expr(t, r.when).fill_null(False), ibis.literal(r.level))
                    for r in g.rules
                ],
                else_=ibis.literal(g.otherwise) if g.otherwise else ibis.null(dt.string),
            )
        )
    elif "group" not in t.columns:
        t = t.mutate(group=ibis.null(dt.string))
    flags: dict[str, Any] = {}
    for i, c in enumerate(study.population.include):
        flags[f"incl_{i}"] = condition_expr(t, c.when)
    for i, c in enumerate(study.population.exclude):
        flags[f"excl_{i}"] = condition_expr(t, c.when)
    if flags:
        t = t.mutate(**flags)
    included: ir.BooleanValue = ibis.literal(True)
    for i in range(len(study.population.include)):
        included = included & t[f"incl_{i}"].fill_null(False)
    for i in range(len(study.population.exclude)):
        included = included & ~t[f"excl_{i}"].fill_null(False)
    return t.mutate(included=included)


def feature_expr(tables: CohortTables, study: Study) -> ir.Table:
    """The whole feature expression (base + derived + population flags), ordered by patient."""
    return apply_derived(extract_base(tables, study), study).order_by("patient_id")


@dataclass(frozen=True)
class FlowStep:
    """One population rule and how many patients it kept, removed or could not decide."""

    label: str
    kind: str
    removed: int
    unknown: int


@dataclass(frozen=True)
class FeatureTable:
    """The per-patient features back in pandas, with the population flow.

    ``all_patients`` has every patient read; ``frame`` only those included.
    """

    all_patients: pd.DataFrame
    flow: tuple[FlowStep, ...] = field(default=())

    @property
    def frame(self) -> pd.DataFrame:
        """Included patients only."""
        return self.all_patients[self.all_patients["included"]].reset_index(drop=True)

    @property
    def n_read(self) -> int:
        return len(self.all_patients)

    @property
    def n_included(self) -> int:
        return int(self.all_patients["included"].sum())


def _to_pandas(expr: ir.Table) -> pd.DataFrame:
    frame = expr.to_pandas()
    out = pd.DataFrame(index=frame.index)
    schema = expr.schema()
    for name in frame.columns:
        typ = schema[name]
        col = frame[name]
        if typ.is_boolean():
            out[name] = col.astype("boolean")
        elif typ.is_numeric():
            out[name] = pd.to_numeric(col, errors="coerce").astype("float64")
        elif typ.is_string():
            out[name] = col.astype("string")
        else:
            out[name] = col
    return out


def compute_features(tables: CohortTables, study: Study) -> FeatureTable:
    """Run the feature expression on the engine and bring one row per patient back to pandas.

    Raises
    ------
    AnalysisError
        When a rule reads a feature that does not exist or the engine fails.
    """
    expr = feature_expr(tables, study)
    try:
        frame = _to_pandas(expr)
    except AnalysisError:
        raise
    except Exception as exc:
        raise AnalysisError(f"feature extraction failed on {tables.origin}: {exc}") from exc
    return finish_features(frame, study)


def finish_features(frame: pd.DataFrame, study: Study) -> FeatureTable:
    """Turn the population flag columns into the flow and return the feature table."""
    steps: list[FlowStep] = []
    for i, c in enumerate(study.population.include):
        col = frame.pop(f"incl_{i}")
        steps.append(
            FlowStep(
                c.label,
                "include",
                int((col == False).sum()),  # noqa: E712
                int(col.isna().sum()),
            )
        )
    for i, c in enumerate(study.population.exclude):
        col = frame.pop(f"excl_{i}")
        steps.append(
            FlowStep(
                c.label,
                "exclude",
                int((col == True).sum()),  # noqa: E712
                int(col.isna().sum()),
            )
        )
    frame["included"] = frame["included"].astype(bool)
    return FeatureTable(all_patients=frame.reset_index(drop=True), flow=tuple(steps))


def base_feature_types(study: Study) -> dict[str, str]:
    """Every base feature the long-table extraction produces, with its Ibis type."""
    out: dict[str, str] = {
        "patient_id": "string",
        "sex": "string",
        "blood_group": "string",
        "age": "float64",
        "has_index": "boolean",
        "synthetic": "boolean",
    }
    for ref in _event_refs(study):
        out["day_" + event_column(ref)] = "float64"
        out["cday_" + event_column(ref)] = "float64"
    for name in study.extract.comorbidities:
        out[f"comorb_{name}"] = "boolean"
    for m in study.markers:
        for tp in study.time_points:
            out[f"{m.code}__{tp.name}"] = "float64"
    for a in study.extract.assessments:
        out[a.name] = "string"
    for tp_name in study.extract.support_at:
        out[f"support__{tp_name}"] = "string"
        out[f"fio2__{tp_name}"] = "float64"
    for flag in study.extract.drugs_before_index:
        out[flag] = "boolean"
    for wg in study.extract.worst_grade:
        out[wg.name] = "float64"
    if study.groups is not None and study.groups.source == "assessment":
        out["group"] = "string"
    return out
