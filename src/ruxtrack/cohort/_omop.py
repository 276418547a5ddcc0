"""An OMOP CDM as the six cohort tables: Ibis views over the CDM, computed in its database.

:func:`open_omop` reads a CDM where it lives (a DuckDB file, a PostgreSQL database, or a folder
of CSV/Parquet tables read by the engine) and returns :class:`CohortTables` whose tables are
Ibis expressions over the CDM tables: the per-patient feature expression then runs in that
database, and only one row per patient comes back.

Concepts come from the study's ``omop`` section (markers, drugs, conditions and events by
concept id, with descendants through ``concept_ancestor``) and from the shipped mapping
(knowledge/omop.yaml), which reads back everything ruxtrack's own OMOP export writes. CDM 5.3
differences handled: ``discharge_to_concept_id`` (5.4: ``discharged_to_concept_id``), no
``measurement_event_id``/``meas_event_field_concept_id``, upper-case column names, empty tables
stored without their columns (as in the Eunomia DuckDB file), concept ids stored as DOUBLE.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from ruxtrack.cohort._inputs import TABLE_SCHEMAS, CohortTables, Engine, connect_engine
from ruxtrack.cohort._omop_spec import EVENT_TABLES, OmopConceptSet
from ruxtrack.cohort._study import Study
from ruxtrack.errors import AnalysisError

__all__ = ["open_omop"]

_NULL_S = ibis.null("string")

# Columns read per CDM table, with the Ibis type they are cast to (other columns are ignored).
_READ: dict[str, dict[str, str]] = {
    "person": {
        "person_id": "int64", "gender_concept_id": "int64", "year_of_birth": "int64",
        "month_of_birth": "int64", "day_of_birth": "int64", "birth_datetime": "timestamp",
        "person_source_value": "string",
    },
    "observation_period": {
        "person_id": "int64", "observation_period_start_date": "date",
        "observation_period_end_date": "date",
    },
    "visit_occurrence": {
        "person_id": "int64", "visit_concept_id": "int64", "visit_start_date": "date",
        "visit_start_datetime": "timestamp", "visit_end_date": "date",
        "visit_end_datetime": "timestamp", "visit_source_value": "string",
        "discharged_to_concept_id": "int64",
    },
    "condition_occurrence": {
        "person_id": "int64", "condition_concept_id": "int64", "condition_start_date": "date",
        "condition_start_datetime": "timestamp", "condition_source_value": "string",
    },
    "drug_exposure": {
        "person_id": "int64", "drug_concept_id": "int64", "drug_exposure_start_date": "date",
        "drug_exposure_start_datetime": "timestamp", "drug_exposure_end_date": "date",
        "drug_exposure_end_datetime": "timestamp", "quantity": "float64", "sig": "string",
        "drug_source_value": "string", "dose_unit_source_value": "string",
    },
    "measurement": {
        "person_id": "int64", "measurement_concept_id": "int64", "measurement_date": "date",
        "measurement_datetime": "timestamp", "value_as_number": "float64",
        "unit_concept_id": "int64", "measurement_source_value": "string",
        "measurement_event_id": "int64", "meas_event_field_concept_id": "int64",
    },
    "procedure_occurrence": {
        "person_id": "int64", "procedure_concept_id": "int64", "procedure_date": "date",
        "procedure_datetime": "timestamp", "procedure_source_value": "string",
    },
    "device_exposure": {
        "device_exposure_id": "int64", "person_id": "int64", "device_concept_id": "int64",
        "device_exposure_start_date": "date", "device_exposure_start_datetime": "timestamp",
        "device_exposure_end_date": "date", "device_exposure_end_datetime": "timestamp",
        "device_source_value": "string",
    },
    "observation": {
        "person_id": "int64", "observation_concept_id": "int64", "observation_date": "date",
        "observation_datetime": "timestamp", "value_as_number": "float64",
        "value_as_string": "string", "observation_source_value": "string",
        "qualifier_source_value": "string",
    },
    "death": {"person_id": "int64", "death_date": "date", "death_datetime": "timestamp"},
    "concept_ancestor": {"ancestor_concept_id": "int64", "descendant_concept_id": "int64"},
}  # fmt: skip

#: The 5.3 spelling of a 5.4 column.
_CDM53 = {"discharged_to_concept_id": "discharge_to_concept_id"}

_REQUIRED = {
    "person": ("person_id",),
    "concept_ancestor": ("ancestor_concept_id", "descendant_concept_id"),
}


class _Cdm:
    """The CDM tables on one backend, lower-case, typed; a missing table reads as empty."""

    def __init__(self, con: BaseBackend, raw: dict[str, ir.Table]) -> None:
        self.con = con
        self.tables: dict[str, ir.Table] = {}
        for name, cols in _READ.items():
            t = raw.get(name)
            if t is not None:
                t = t.rename({c.lower(): c for c in t.columns if c != c.lower()})
                for new, old in _CDM53.items():
                    if new in cols and new not in t.columns and old in t.columns:
                        t = t.rename({new: old})
                needed = _REQUIRED.get(name, ("person_id",))
                if not all(c in t.columns for c in needed):
                    t = None  # e.g. Eunomia's empty tables, stored as column0, column1, ...
            self.tables[name] = self._typed(name, t, cols)

    def _typed(self, name: str, t: ir.Table | None, cols: dict[str, str]) -> ir.Table:
        if t is None:
            empty = pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
            return ibis.memtable(empty, schema=ibis.schema(cols))
        out: dict[str, Any] = {}
        for c, typ in cols.items():
            if c not in t.columns:
                out[c] = ibis.null(typ)
            elif typ == "timestamp" and t[c].type().is_string():
                out[c] = t[c].nullif("").cast("timestamp")
            elif t[c].type() != ibis.dtype(typ):
                out[c] = t[c].cast(typ)
            else:
                out[c] = t[c]
        return t.select(**out)

    def __getitem__(self, name: str) -> ir.Table:
        return self.tables[name]


def _when(t: ir.Table, dt_col: str, d_col: str) -> ir.TimestampValue:
    return ibis.coalesce(t[dt_col], t[d_col].cast("timestamp"))


def _lookup(cdm: _Cdm, sets: dict[str, OmopConceptSet], extra: dict[int, str]) -> ir.Table:
    """(concept_id, name) rows: the study's concept sets (with descendants where asked) first,
    then the shipped mapping's concepts for names the study does not set."""
    rows = [(cid, name) for name, cs in sets.items() for cid in cs.concept_ids]
    taken = set(sets)
    rows += [(cid, name) for cid, name in extra.items() if name not in taken and cid != 0]
    frame = pd.DataFrame(rows, columns=["concept_id", "name"]).astype({"concept_id": "int64"})
    base = ibis.memtable(frame, schema=ibis.schema({"concept_id": "int64", "name": "string"}))
    desc = [name for name, cs in sets.items() if cs.descendants]
    if not desc:
        return base
    ca = cdm["concept_ancestor"]
    roots = base.filter(base.name.isin(desc))
    j = ca.join(roots, ca.ancestor_concept_id == roots.concept_id)
    below = j.select(concept_id=j.descendant_concept_id, name=j.name)
    return ibis.union(base, below, distinct=True)


def _occurrence(t: ir.Table) -> ir.Table:
    """Occurrence: as written (``name#k``) or the rank in time per patient and event."""
    w = ibis.window(group_by=[t.patient_id, t.event], order_by=[t.t, t.explicit])
    ranked = t.mutate(rank=(ibis.row_number().over(w) + 1).cast("int64"))
    return ranked.select(
        "patient_id",
        "event",
        occurrence=ibis.coalesce(ranked.explicit, ranked["rank"]),
        t="t",
    )


_EVENT_SV = r"^([a-z][a-z0-9_]*)(#([1-9][0-9]*))?$"


def _ev(t: ir.Table, pid: ir.Value, name: ir.Value, when: ir.Value, explicit: ir.Value) -> ir.Table:
    return t.select(
        patient_id=pid, event=name.cast("string"), t=when, explicit=explicit.cast("int64")
    )


class _View:
    def __init__(self, cdm: _Cdm, study: Study) -> None:
        from ruxtrack.sources._omop_map import load_omop_mapping

        self.cdm = cdm
        self.study = study
        self.spec = study.omop
        self.m = load_omop_mapping()
        p = cdm["person"]
        self.persons = p.select(
            person_id=p.person_id,
            patient_id=ibis.coalesce(p.person_source_value.nullif(""), p.person_id.cast("string")),
        )

    def pid(self, t: ir.Table) -> ir.Table:
        return t.join(self.persons, "person_id")

    # -- patients ---------------------------------------------------------------------------
    def patients(self) -> ir.Table:
        p = self.cdm["person"]
        ob = self.cdm["observation"]
        sv = ob.observation_source_value
        attrs = (
            ob.filter(sv.startswith("patient:"))
            .group_by("person_id")
            .aggregate(
                age_years=ob.value_as_number.max(where=sv == "patient:age_years"),
                blood_group=ob.value_as_string.max(where=sv == "patient:blood_group"),
                synthetic_text=ob.value_as_string.max(where=sv == "patient:synthetic"),
            )
        )
        co = self.cdm["condition_occurrence"]
        names = _lookup(
            self.cdm,
            dict(self.spec.conditions) if self.spec else {},
            {c.concept_id: c.name for c in self.m.conditions},
        )
        cj = co.left_join(names, co.condition_concept_id == names.concept_id)
        ident = cj.condition_source_value.re_extract(r"^([a-z][a-z0-9_]*)", 1).nullif("")
        conds = (
            cj.select(person_id=cj.person_id, cname=ibis.coalesce(cj["name"], ident))
            .filter(ibis._.cname.notnull())
            .distinct()
        )
        comorb = conds.group_by("person_id").aggregate(comorbidities=conds.cname.group_concat("; "))
        j = p.left_join(attrs, "person_id").drop("person_id_right")
        j = j.left_join(comorb, "person_id").drop("person_id_right")
        # A recorded age (ruxtrack's own export) is used as recorded, at its instant; otherwise
        # the birth date (month and day default to 1 when the CDM gives only the year).
        has_age = j.age_years.notnull()
        born = ibis.date(
            j.year_of_birth, j.month_of_birth.fill_null(1), j.day_of_birth.fill_null(1)
        )
        birth = ibis.coalesce(j.birth_datetime.cast("date"), born).cast("timestamp")
        sex = j.gender_concept_id.cases(
            *[(g.concept_id, g.value) for g in self.m.gender if g.concept_id != 0],
            else_="unknown",
        )
        return j.select(
            patient_id=ibis.coalesce(j.person_source_value.nullif(""), j.person_id.cast("string")),
            sex=sex,
            birth_date=ibis.ifelse(has_age, ibis.null("timestamp"), birth),
            age_years=j.age_years,
            age_at=ibis.ifelse(has_age, ibis.literal("age_recorded"), _NULL_S),
            blood_group=j.blood_group,
            comorbidities=j.comorbidities,
            synthetic=(j.synthetic_text == "true"),
        )

    # -- events -----------------------------------------------------------------------------
    def events(self) -> ir.Table:
        parts: list[ir.Table] = []
        v = self.pid(self.cdm["visit_occurrence"])
        occ = v.visit_source_value.re_extract(r"^admission#([0-9]+)$", 1).nullif("").cast("int64")
        start = _when(v, "visit_start_datetime", "visit_start_date")
        parts.append(_ev(v, v.patient_id, ibis.literal("admission"), start, occ))
        # A visit's end is a discharge when the CDM says where the patient went.
        dis = v.mutate(occ=occ).filter(
            v.discharged_to_concept_id.notnull() & (v.discharged_to_concept_id != 0)
        )
        end = _when(dis, "visit_end_datetime", "visit_end_date")
        parts.append(_ev(dis, dis.patient_id, ibis.literal("discharge"), end, dis.occ))
        d = self.pid(self.cdm["death"])
        parts.append(_ev(d, d.patient_id, ibis.literal("death"),
                         _when(d, "death_datetime", "death_date"), ibis.null("int64")))  # fmt: skip
        op = self.pid(self.cdm["observation_period"])
        for name, col in (("observation_period_start", "observation_period_start_date"),
                          ("observation_period_end", "observation_period_end_date")):  # fmt: skip
            parts.append(_ev(op, op.patient_id, ibis.literal(name), op[col].cast("timestamp"),
                             ibis.null("int64")))  # fmt: skip
        pr = self.pid(self.cdm["procedure_occurrence"])
        proc_map = {e.concept_id: e.event for e in self.m.events
                    if e.table == "procedure_occurrence" and e.concept_id}  # fmt: skip
        sv_name = pr.procedure_source_value.re_extract(_EVENT_SV, 1).nullif("")
        sv_occ = pr.procedure_source_value.re_extract(_EVENT_SV, 3).nullif("").cast("int64")
        mapped = (
            pr.procedure_concept_id.cases(*proc_map.items(), else_=_NULL_S) if proc_map else _NULL_S
        )
        pname = ibis.coalesce(sv_name, mapped)
        prs = pr.mutate(pname=pname, pocc=sv_occ).filter(ibis._.pname.notnull())
        parts.append(_ev(prs, prs.patient_id, prs.pname,
                         _when(prs, "procedure_datetime", "procedure_date"), prs.pocc))  # fmt: skip
        ob = self.pid(self.cdm["observation"])
        evs = ob.filter(ob.observation_source_value.startswith("event:"))
        ref = evs.observation_source_value.substr(6)
        parts.append(_ev(evs, evs.patient_id, ref.re_extract(_EVENT_SV, 1),
                         _when(evs, "observation_datetime", "observation_date"),
                         ref.re_extract(_EVENT_SV, 3).nullif("").cast("int64")))  # fmt: skip
        ages = ob.filter(ob.observation_source_value == "patient:age_years")
        parts.append(_ev(ages, ages.patient_id, ibis.literal("age_recorded"),
                         _when(ages, "observation_datetime", "observation_date"),
                         ibis.null("int64")))  # fmt: skip
        if self.spec is not None:
            for name, es in self.spec.events.items():
                src = self.cdm[es.table]
                concept = next(c for c in src.columns if c.endswith("_concept_id"))
                ids = _lookup(self.cdm, {name: es}, {})
                j = self.pid(src).join(ids, ibis._[concept] == ids.concept_id)
                dt_col, d_col = EVENT_TABLES[es.table]
                parts.append(_ev(j, j.patient_id, ibis.literal(name), _when(j, dt_col, d_col),
                                 ibis.null("int64")))  # fmt: skip
        allev = ibis.union(*parts, distinct=False).filter(
            ibis._.t.notnull() & ibis._.event.notnull()
        )
        return _occurrence(allev)

    # -- observations (labs) ----------------------------------------------------------------
    def observations(self) -> ir.Table:
        from ruxtrack.units import load_catalogue

        cat = load_catalogue()
        me = self.pid(self.cdm["measurement"])
        field = self.m.support_values["event_field"].concept_id
        me = me.filter(
            ~me.measurement_source_value.fill_null("").startswith("support:")
            & (me.meas_event_field_concept_id.isnull() | (me.meas_event_field_concept_id != field))
            & me.value_as_number.notnull()
        )
        names = _lookup(
            self.cdm,
            dict(self.spec.markers) if self.spec else {},
            {
                e.concept_id: self.m.code_of_measurement(e.concept_id) or e.code
                for e in self.m.measurements
            },
        )
        names = names.group_by("concept_id").aggregate(name=names["name"].min())
        j = me.left_join(names, me.measurement_concept_id == names.concept_id)
        codes = list(cat.codes)
        by_source = ibis.ifelse(
            j.measurement_source_value.isin(codes), j.measurement_source_value, _NULL_S
        )
        code = ibis.coalesce(by_source, j["name"])
        units = pd.DataFrame(
            [
                (c, cat.get(c).canonical_unit, self.m.unit_concept(cat.get(c).canonical_unit))
                for c in codes
            ],
            columns=["ucode", "ucum", "unit_cid"],
        )
        ut = ibis.memtable(
            units, schema=ibis.schema({"ucode": "string", "ucum": "string", "unit_cid": "int64"})
        )
        jj = j.mutate(code=code).filter(ibis._.code.notnull())
        jj = jj.join(ut, jj.code == ut.ucode)
        ok = (jj.unit_concept_id == jj.unit_cid) & (jj.unit_cid != 0)
        return jj.filter(ok).select(
            patient_id=jj.patient_id,
            t=_when(jj, "measurement_datetime", "measurement_date"),
            code=jj.code,
            value=jj.value_as_number,
            unit=jj.ucum,
        )  # fmt: skip

    # -- drugs ------------------------------------------------------------------------------
    def drugs(self) -> ir.Table:
        dr = self.pid(self.cdm["drug_exposure"])
        names = _lookup(
            self.cdm,
            dict(self.spec.drugs) if self.spec else {},
            {d.concept_id: d.drug for d in self.m.drugs},
        )
        j = dr.left_join(names, dr.drug_concept_id == names.concept_id)
        ident = j.drug_source_value.re_extract(r"^([a-z][a-z0-9_]*)$", 1).nullif("")
        name = ibis.coalesce(j["name"], ident)
        return (
            j.mutate(drug=name)
            .filter(ibis._.drug.notnull())
            .select(
                patient_id=ibis._.patient_id,
                drug=ibis._.drug,
                dose=ibis._.quantity,
                unit=ibis._.dose_unit_source_value,
                frequency=ibis._.sig.re_extract(r"(\S+)\s*$", 1).nullif(""),
                t_start=_when(j, "drug_exposure_start_datetime", "drug_exposure_start_date"),
                t_end=_when(j, "drug_exposure_end_datetime", "drug_exposure_end_date"),
            )
        )

    # -- support ----------------------------------------------------------------------------
    def support(self) -> ir.Table:
        dv = self.pid(self.cdm["device_exposure"])
        modes = [(m.concept_id, m.mode) for m in self.m.support_modes if m.concept_id]
        by_concept = dv.device_concept_id.cases(*modes, else_=_NULL_S) if modes else _NULL_S
        known = [m.mode for m in self.m.support_modes]
        mode = ibis.coalesce(
            ibis.ifelse(dv.device_source_value.isin(known), dv.device_source_value, _NULL_S),
            by_concept,
        )
        me = self.cdm["measurement"]
        fio2 = (
            me.filter(me.measurement_source_value == "support:fio2")
            .group_by(["person_id", "measurement_event_id"])
            .aggregate(fio2=me.value_as_number.max())
        )
        d = dv.mutate(mode=mode).filter(ibis._.mode.notnull())
        j = d.left_join(
            fio2,
            (d.person_id == fio2.person_id) & (d.device_exposure_id == fio2.measurement_event_id),
        )
        return j.select(
            patient_id=j.patient_id,
            mode=j.mode,
            t_start=_when(j, "device_exposure_start_datetime", "device_exposure_start_date"),
            t_end=_when(j, "device_exposure_end_datetime", "device_exposure_end_date"),
            fio2=j.fio2,
        )

    # -- assessments ------------------------------------------------------------------------
    def assessments(self) -> ir.Table:
        ob = self.pid(self.cdm["observation"])
        a = ob.filter(ob.observation_source_value.startswith("assessment:"))
        return a.select(
            patient_id=a.patient_id,
            t=_when(a, "observation_datetime", "observation_date"),
            kind=a.observation_source_value.substr(11),
            value=ibis.coalesce(a.value_as_string, a.value_as_number.cast("string")),
            code=a.qualifier_source_value,
        )


def _cast(t: ir.Table, name: str) -> ir.Table:
    schema = TABLE_SCHEMAS[name]
    cols: dict[str, Any] = {}
    for c, typ in schema.items():
        target = "timestamp" if typ == "date" else typ
        cols[c] = t[c].cast(target) if c in t.columns else ibis.null(target)
    return t.select(**cols)


def _raw_tables(
    source: str, engine: Engine, con: BaseBackend | None
) -> tuple[BaseBackend, dict[str, ir.Table]]:
    if "://" in source:
        if source.startswith("duckdb://"):
            db = source.removeprefix("duckdb://")
            db = db[1:] if db.startswith("/") else db  # duckdb:///rel, duckdb:////abs
            if not Path(db).exists():
                raise AnalysisError(f"{source}: no such DuckDB file")
            backend = ibis.duckdb.connect(db, read_only=True)
        elif source.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            backend = ibis.connect(source.replace("postgresql+psycopg://", "postgres://"))
        else:
            raise AnalysisError(
                f"unsupported OMOP URL {source!r}: duckdb:///PATH or postgresql://..."
            )
        names = {n.lower(): n for n in backend.list_tables()}
        return backend, {n: backend.table(names[n]) for n in _READ if n in names}
    folder = Path(source)
    if not folder.is_dir():
        raise AnalysisError(f"{folder}: not a folder of OMOP CDM tables or a database URL")
    backend = con if con is not None else connect_engine(engine)
    raw: dict[str, ir.Table] = {}
    for name in _READ:
        for ext in ("parquet", "csv"):
            path = folder / f"{name}.{ext}"
            if path.exists():
                if ext == "parquet":
                    raw[name] = backend.read_parquet(str(path), table_name=f"omop_{name}")
                else:
                    raw[name] = backend.read_csv(str(path), table_name=f"omop_{name}")
                break
    if "person" not in raw:
        raise AnalysisError(f"{folder}: no person.csv or person.parquet (not an OMOP CDM folder)")
    return backend, raw


def open_omop(
    source: str | Path,
    study: Study,
    *,
    engine: Engine = "duckdb",
    con: BaseBackend | None = None,
) -> CohortTables:
    """Open an OMOP CDM as the six cohort tables, computed where the CDM lives.

    Parameters
    ----------
    source
        ``duckdb:///PATH`` or ``postgresql://...`` (the features then run in that database),
        or a folder of CDM tables (CSV or Parquet) read by ``engine``.
    study
        The study: its ``omop`` section names concepts (markers, drugs, conditions, events).
    engine
        For a folder: ``duckdb`` (default) or ``pyspark``.
    con
        An engine connection to reuse (one Spark session per process).

    Raises
    ------
    AnalysisError
        When the source cannot be opened or holds no person table.
    """
    try:
        backend, raw = _raw_tables(str(source), engine, con)
    except AnalysisError:
        raise
    except Exception as exc:
        raise AnalysisError(
            f"cannot open the OMOP CDM {source}: {type(exc).__name__}: {exc}"
        ) from exc
    view = _View(_Cdm(backend, raw), study)
    tables = {
        "patients": view.patients(),
        "events": view.events(),
        "observations": view.observations(),
        "drugs": view.drugs(),
        "support": view.support(),
        "assessments": view.assessments(),
    }
    typed = {name: _cast(t, name) for name, t in tables.items()}
    return CohortTables(con=backend, origin=str(source), **typed)
