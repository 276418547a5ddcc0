"""Per-patient features, written once as Ibis expressions (DuckDB, PySpark, any Ibis backend).

Time distances are epoch-second arithmetic (trap G3), so no backend needs interval types.
Column names of the feature table:

* ``patient_id``, ``sex``, ``blood_group``, ``age`` (years at the index), ``has_index``;
* ``day_<event>``: days from the index to the event (``day_hsct_2`` for ``hsct#2``);
* ``<marker>__<time point>``: the marker value nearest the time point within its window;
* ``support__<tp>`` / ``fio2__<tp>``: the most intensive respiratory support running on the
  calendar day of the time point (robust to date-only records) and its FiO2;
* each ``extract.assessments`` name, ``extract.drugs_before_index`` flag, ``extract.worst_grade``
  name and ``comorb_<name>``;
* ``group`` and every derived variable; ``included`` after the population rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from ruxtrack.cohort._inputs import CohortTables
from ruxtrack.cohort._study import Condition, DerivedVar, Study, TimePoint
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


# Nearest-in-window ranking key: distances in whole microseconds (exact for any timestamp with
# microsecond resolution: the epoch-second difference is off by far less than half a microsecond),
# doubled, plus one on the losing side of a distance tie.
_MICROS = 1_000_000.0


def _nearest_key(ts: ir.FloatingValue, target: ir.FloatingValue, tp: TimePoint) -> ir.IntegerValue:
    """Ranking key of a value for a time point, missing outside the window.

    Smaller is nearer; at equal distance the earlier value (``tie: earlier``) or the later one
    (``tie: later``) gets the smaller key. Values at the same instant have the same key and are
    collapsed to the smallest value beforehand.
    """
    d = ((ts - target) * _MICROS).round().cast("int64")
    lo = round(tp.window_days[0] * DAY * _MICROS)
    hi = round(tp.window_days[1] * DAY * _MICROS)
    losing_side = d > 0 if tp.tie == "earlier" else d < 0
    key = d.abs() * 2 + losing_side.ifelse(1, 0)
    return ibis.ifelse((d >= lo) & (d <= hi), key, ibis.null(dt.int64))


@ibis.udf.agg.builtin(name="arg_min")  # type: ignore[untyped-decorator]
def _duckdb_arg_min_float(arg: float, key: int) -> float:  # type: ignore[empty-body]
    """DuckDB's ``arg_min``: Ibis' portable ``argmin`` compiles to an ordered ``first`` there,
    which runs through generic sort keys and is several times slower."""


@ibis.udf.agg.builtin(name="arg_min")  # type: ignore[untyped-decorator]
def _duckdb_arg_min_str(arg: str, key: int) -> str:  # type: ignore[empty-body]
    """DuckDB's ``arg_min`` for string values."""


def _arg_min(
    con_name: str, value: ir.Column, key: ir.IntegerColumn, where: ir.BooleanValue
) -> ir.Scalar:
    """The value at the smallest key among the rows where ``where`` holds (keys are unique).

    DuckDB gets its native ``arg_min``; every other backend Ibis' portable ``argmin`` (``min_by``
    on Spark).
    """
    if con_name == "duckdb":
        fn = _duckdb_arg_min_str if value.type().is_string() else _duckdb_arg_min_float
        out: ir.Scalar = fn(value, key, where=where)
        return out
    return value.argmin(key, where=where)


def _target(anchors: ir.Table, tp: TimePoint, study: Study) -> ir.FloatingValue:
    target: ir.FloatingValue = anchors[_anchor_col(tp.anchor, study)] + tp.offset_days * DAY
    return target


def _patient_anchors(tables: CohortTables, study: Study, refs: Sequence[str]) -> ir.Table:
    """Patients with the epoch second of every referenced event: one pass over the events.

    The age anchor (``age_at``, default the first admission, else the earliest event) is read in
    the same aggregation.
    """
    p = tables.patients
    ev = tables.events
    pa = p.select(
        "patient_id",
        age_name=p.age_at.re_extract(r"^([a-z][a-z0-9_]*)", 1),
        age_occ=p.age_at.re_extract(r"#([0-9]+)$", 1).nullif("").cast("int64").fill_null(1),
    )
    j = ev.join(pa, "patient_id")
    ts = _epoch(j.t)
    aggs: dict[str, Any] = {}
    for ref in refs:
        name, occ = _split_ref(ref)
        aggs["ts_" + event_column(ref)] = ts.min(where=(j.event == name) & (j.occurrence == occ))
    aggs["ts_first_admission"] = ts.min(where=(j.event == "admission") & (j.occurrence == 1))
    aggs["ts_earliest"] = ts.min()
    aggs["ts_age"] = ts.min(where=(j.event == j.age_name) & (j.occurrence == j.age_occ))
    ev_wide = j.group_by("patient_id").aggregate(**aggs)
    return _left(p, ev_wide)


def extract_base(tables: CohortTables, study: Study) -> ir.Table:
    """The base features (everything read from the long tables), one row per patient.

    Each long table is read in one pass: filtered to what the study reads, joined once to the
    per-patient anchor times and aggregated per patient (nearest-in-window values with
    ``argmin`` over a ranking key, no self-joins or window functions over the observations).
    """
    refs = _event_refs(study)
    anchors = _patient_anchors(tables, study, refs)
    idx = anchors["ts_" + event_column(study.index)]

    # Age at the index: from the birth date, or age_years at its anchor moved to the index.
    age_ref = ibis.coalesce(anchors.ts_age, anchors.ts_first_admission, anchors.ts_earliest)
    from_birth = (idx - _epoch(anchors.birth_date.cast("timestamp"))) / (YEAR_DAYS * DAY)
    from_years = anchors.age_years + ibis.coalesce((idx - age_ref) / (YEAR_DAYS * DAY), 0.0)
    cols: dict[str, Any] = {
        "patient_id": anchors.patient_id,
        "sex": anchors.sex,
        "blood_group": anchors.blood_group,
        "age": ibis.ifelse(anchors.birth_date.notnull(), from_birth, from_years).cast("float64"),
        "has_index": idx.notnull(),
        "synthetic": anchors.synthetic,
    }
    for ref in refs:
        ts = anchors["ts_" + event_column(ref)]
        cols["day_" + event_column(ref)] = ((ts - idx) / DAY).cast("float64")
        cols["cday_" + event_column(ref)] = ((ts / DAY).floor() - (idx / DAY).floor()).cast(
            "float64"
        )
    for name in study.extract.comorbidities:
        pattern = rf"(^|;)\s*{name}\s*(=|;|$)"
        cols[f"comorb_{name}"] = anchors.comorbidities.fill_null("").re_search(pattern)
    feats = anchors.select(**cols)

    for part in (
        _markers(tables, study, anchors),
        _assessments_at(tables, study, anchors),
        _support_at(tables, study, anchors),
        _drugs_before_index(tables, study, anchors),
        _worst_grades(tables, study, anchors),
        _given_group(tables, study),
    ):
        if part is not None:
            feats = _left(feats, part)
    if study.extract.drugs_before_index:
        feats = feats.mutate(
            **{flag: feats[flag].fill_null(False) for flag in study.extract.drugs_before_index}
        )
    return feats


def _anchor_times(anchors: ir.Table, study: Study, tps: Sequence[TimePoint]) -> ir.Table:
    cols = sorted({_anchor_col(tp.anchor, study) for tp in tps} | {_anchor_col("index", study)})
    return anchors.select("patient_id", *cols)


def _markers(tables: CohortTables, study: Study, anchors: ir.Table) -> ir.Table | None:
    """``<marker>__<tp>``: the value nearest each time point inside its window."""
    if not study.markers or not study.time_points:
        return None
    engine = tables.con.name
    ob = tables.observations
    codes = [m.code for m in study.markers]
    obs = ob.filter(ob.code.isin(codes) & ob.value.notnull())
    # Two values of one marker at the same instant: the smaller one (a deterministic tie rule).
    obs = obs.group_by(["patient_id", "code", "t"]).aggregate(value=obs.value.min())
    j = obs.join(_anchor_times(anchors, study, study.time_points), "patient_id")
    ts = _epoch(j.t)
    keyed = j.select(
        "patient_id",
        "code",
        "value",
        **{f"k_{tp.name}": _nearest_key(ts, _target(j, tp, study), tp) for tp in study.time_points},
    )
    aggs = {
        f"{m.code}__{tp.name}": _arg_min(
            engine,
            keyed.value,
            keyed[f"k_{tp.name}"],
            (keyed.code == m.code) & keyed[f"k_{tp.name}"].notnull(),
        )
        for m in study.markers
        for tp in study.time_points
    }
    return keyed.group_by("patient_id").aggregate(**aggs)


def _assessments_at(tables: CohortTables, study: Study, anchors: ir.Table) -> ir.Table | None:
    """Each ``extract.assessments`` read: the nearest value of its kind (and code) at its time
    point; without a code, the largest of the per-code nearest values."""
    reads = study.extract.assessments
    if not reads:
        return None
    tps = [study.time_point(name) for name in dict.fromkeys(a.at for a in reads)]
    engine = tables.con.name
    asm = tables.assessments
    kinds = sorted({a.kind for a in reads})
    a = asm.filter(asm.kind.isin(kinds) & asm.value.notnull()).mutate(code=asm.code.fill_null(""))
    a = a.group_by(["patient_id", "kind", "code", "t"]).aggregate(value=a.value.min())
    j = a.join(_anchor_times(anchors, study, tps), "patient_id")
    ts = _epoch(j.t)
    keyed = j.select(
        "patient_id",
        "kind",
        "code",
        "value",
        **{f"k_{tp.name}": _nearest_key(ts, _target(j, tp, study), tp) for tp in tps},
    )
    per_code = keyed.group_by(["patient_id", "kind", "code"]).aggregate(
        **{
            f"v_{tp.name}": _arg_min(
                engine, keyed.value, keyed[f"k_{tp.name}"], keyed[f"k_{tp.name}"].notnull()
            )
            for tp in tps
        }
    )
    aggs: dict[str, Any] = {}
    for r in reads:
        cond = per_code.kind == r.kind
        if r.code is not None:
            cond = cond & (per_code.code == r.code)
        aggs[r.name] = per_code[f"v_{r.at}"].max(where=cond)
    return per_code.group_by("patient_id").aggregate(**aggs)


def _support_at(tables: CohortTables, study: Study, anchors: ir.Table) -> ir.Table | None:
    """``support__<tp>`` / ``fio2__<tp>``: the most intensive episode running that calendar day
    (highest rank, then highest FiO2, then mode name)."""
    if not study.extract.support_at:
        return None
    tps = [study.time_point(name) for name in study.extract.support_at]
    sp = tables.support
    rank = sp.mode.cases(*[(m.value, m.rank) for m in SupportMode], else_=-1)
    sp_l = sp.select(
        "patient_id",
        "mode",
        "fio2",
        rank=rank,
        d0=(_epoch(sp.t_start) / DAY).floor(),
        d1=(_epoch(sp.t_end) / DAY).floor(),
    )
    at = _anchor_times(anchors, study, tps)
    days = [
        at.select(
            "patient_id", tp=ibis.literal(tp.name), day=(_target(at, tp, study) / DAY).floor()
        )
        for tp in tps
    ]
    tg = ibis.union(*days) if len(days) > 1 else days[0]
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
    for tp in tps:
        s_aggs[f"support__{tp.name}"] = top.mode.max(where=top.tp == tp.name)
        s_aggs[f"fio2__{tp.name}"] = top.fio2.max(where=top.tp == tp.name)
    return top.group_by("patient_id").aggregate(**s_aggs)


def _drugs_before_index(tables: CohortTables, study: Study, anchors: ir.Table) -> ir.Table | None:
    """Each ``extract.drugs_before_index`` flag: one of its drugs started before the index."""
    flags = study.extract.drugs_before_index
    if not flags:
        return None
    dr = tables.drugs
    names = sorted({n for group in flags.values() for n in group})
    dr = dr.filter(dr.drug.isin(names))
    idx = anchors.select("patient_id", idx_ts=anchors[_anchor_col("index", study)])
    jd = dr.join(idx, "patient_id")
    before = _epoch(jd.t_start) < jd.idx_ts
    if study.extract.drugs_lookback_days is not None:
        lookback = study.extract.drugs_lookback_days * DAY
        before = before & (_epoch(jd.t_start) >= jd.idx_ts - lookback)
    return jd.group_by("patient_id").aggregate(
        **{flag: (jd.drug.isin(list(group)) & before).any() for flag, group in flags.items()}
    )


def _worst_grades(tables: CohortTables, study: Study, anchors: ir.Table) -> ir.Table | None:
    """Each ``extract.worst_grade``: the highest numeric grade over days from the index."""
    if not study.extract.worst_grade:
        return None
    asm = tables.assessments
    asm = asm.filter(asm.kind.isin(sorted({wg.kind for wg in study.extract.worst_grade})))
    idx = anchors.select("patient_id", idx_ts=anchors[_anchor_col("index", study)])
    jg = asm.join(idx, "patient_id")
    rel = (_epoch(jg.t) - jg.idx_ts) / DAY
    grade = jg.value.try_cast("float64")
    g_aggs: dict[str, Any] = {}
    for wg in study.extract.worst_grade:
        cond = (jg.kind == wg.kind) & (rel >= wg.from_days) & (rel <= wg.to_days)
        if wg.code is not None:
            cond = cond & (jg.code == wg.code)
        g_aggs[wg.name] = grade.max(where=cond)
    return jg.group_by("patient_id").aggregate(**g_aggs)


def _given_group(tables: CohortTables, study: Study) -> ir.Table | None:
    """Groups given in the data: the latest assessment of the group kind (smallest on ties)."""
    if study.groups is None or study.groups.source != "assessment":
        return None
    asm = tables.assessments
    ga = asm.filter(asm.kind == study.groups.kind)
    w = ibis.window(group_by=ga.patient_id, order_by=[ibis.desc(ga.t), ga.value])
    ga = ga.mutate(rn=ibis.row_number().over(w))
    return ga.filter(ga.rn == 0).select("patient_id", group=ga.value)


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
    if d.kind == "ratio":
        num, den = t[f"{d.marker}__{d.at}"], t[f"{d.denominator}__{d.at}"]
        return ibis.ifelse(den == 0, ibis.null(dt.float64), num / den * d.factor)
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
    """One population rule, applied in order to the patients the rules before it kept.

    ``removed``: patients this rule removed (an include rule also removes a patient whose value
    is unknown); ``unknown``: patients whose value was unknown (removed by an include rule, kept
    by an exclude rule); ``remaining``: patients left after it.
    """

    label: str
    kind: str
    removed: int
    unknown: int
    remaining: int = 0


@dataclass(frozen=True)
class FeatureTable:
    """The per-patient features back in pandas, with the population flow.

    ``all_patients`` has every patient read; ``frame`` only those included.
    """

    all_patients: pd.DataFrame
    flow: tuple[FlowStep, ...] = field(default=())

    @cached_property
    def frame(self) -> pd.DataFrame:
        """Included patients only (computed once: statistics, figures and the report all read
        it, and each copy of a million rows costs a second)."""
        included = self.all_patients["included"]
        if bool(included.all()):  # nobody left out: no copy of the million rows
            return self.all_patients
        return self.all_patients[included].reset_index(drop=True)

    @property
    def n_read(self) -> int:
        return len(self.all_patients)

    @property
    def n_included(self) -> int:
        return int(self.all_patients["included"].sum())


def _to_pandas(expr: ir.Table) -> pd.DataFrame:
    # Through Arrow, with booleans and strings mapped to pandas' nullable types on the way:
    # Ibis' own to_pandas converts column by column in Python and cost ~20 s on 1M patients.
    nullable = {pa.bool_(): pd.BooleanDtype(), pa.string(): pd.StringDtype()}
    nullable[pa.large_string()] = pd.StringDtype()
    frame = expr.to_pyarrow().to_pandas(types_mapper=nullable.get)
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
    kept = pd.Series(True, index=frame.index)
    for i, c in enumerate(study.population.include):
        col = frame.pop(f"incl_{i}").astype("boolean")
        unknown = kept & col.isna()
        removed = kept & (col.isna() | (col == False))  # noqa: E712
        kept = kept & ~removed
        steps.append(
            FlowStep(c.label, "include", int(removed.sum()), int(unknown.sum()), int(kept.sum()))
        )
    for i, c in enumerate(study.population.exclude):
        col = frame.pop(f"excl_{i}").astype("boolean")
        unknown = kept & col.isna()
        removed = kept & col.fillna(False).astype(bool)
        kept = kept & ~removed
        steps.append(
            FlowStep(c.label, "exclude", int(removed.sum()), int(unknown.sum()), int(kept.sum()))
        )
    frame["included"] = frame["included"].astype(bool)
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.start != 0:
        frame = frame.reset_index(drop=True)
    return FeatureTable(all_patients=frame, flow=tuple(steps))


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
