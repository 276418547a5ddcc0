"""OMOP CDM v5.4 in and out: a CDM folder (CSV/Parquet) or database -> timelines, and back.

The reader turns the CDM rows into the canonical cells and validates them through the one
validation layer of :mod:`ruxtrack.sources` (units, times, anchors); every problem is then named
in the CDM's own terms: table, row (CSV: the spreadsheet row, header = 1; database and Parquet:
the record number from 1) and CDM column. Rows whose concept the mapping does not cover
(knowledge/omop.yaml) are skipped: a CDM holds far more than a ruxtrack course.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ruxtrack.errors import ImportProblem
from ruxtrack.sources._canon import Canon, Origin, finish
from ruxtrack.sources._load import _read_csv, _read_parquet
from ruxtrack.sources._omop_map import OmopMapping, load_omop_mapping
from ruxtrack.sources._omop_spec import CDM_TABLES, REQUIRED
from ruxtrack.sources._omop_write import omop_rows, write_omop
from ruxtrack.sources._problems import Problems
from ruxtrack.sources._result import SourceResult
from ruxtrack.sources._rows import format_number
from ruxtrack.sources._spec import FILES
from ruxtrack.sources._units import lab_codes
from ruxtrack.timeline import Frequency, SupportMode, Timeline

__all__ = ["CdmTables", "load_cdm", "omop_rows", "read_omop", "read_omop_source", "write_omop"]

_PATIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_EVENT = re.compile(r"^([a-z][a-z0-9_]*)(?:#([1-9][0-9]{0,5}))?$")
_IDENT = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_INT = re.compile(r"^-?[0-9]+$")
_MODES = {m.value for m in SupportMode}
_FREQ = {f.value.lower(): f.value for f in Frequency}


@dataclass
class CdmTables:
    """CDM tables as text cells (lower-case column names), with row numbers and labels."""

    cells: dict[str, pd.DataFrame] = field(default_factory=dict)
    rows: dict[str, list[int]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    origin: str = ""


def _text(v: Any) -> str:
    if v is None or v is pd.NaT:
        return ""
    if isinstance(v, float):
        return "" if v != v else format_number(v)
    if isinstance(v, pd.Timestamp):
        v = v.to_pydatetime()
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, date):
        return v.isoformat()
    try:
        if pd.isna(v):
            return ""
    except (TypeError, ValueError):
        pass
    return str(v).strip()


def _is_url(source: str) -> bool:
    return "://" in source


def load_cdm(source: str | Path, problems: Problems) -> CdmTables:
    """Read the CDM tables ruxtrack maps from a folder or a database URL (duckdb:///PATH,
    postgresql://...). Missing optional tables are empty; problems are recorded, not raised."""
    text = str(source)
    out = CdmTables(origin=text)
    if _is_url(text):
        _load_db(text, out, problems)
    else:
        _load_folder(Path(text), out, problems)
    for name in list(out.cells):
        frame = out.cells[name]
        missing = [c for c in REQUIRED[name] if c not in frame.columns]
        for c in missing:
            problems.add(
                out.labels[name],
                1 if out.labels[name].endswith(".csv") else None,
                c,
                None,
                "required CDM column is missing",
            )
        if missing:
            del out.cells[name]
    if "person" not in out.cells and not problems:
        problems.add(text, None, None, None, "no person table: not an OMOP CDM")
    return out


def _load_folder(folder: Path, out: CdmTables, problems: Problems) -> None:
    if not folder.is_dir():
        problems.add(str(folder), None, None, None, "no such folder (or not a folder)")
        return
    for name in CDM_TABLES:
        found = [p for p in (folder / f"{name}.csv", folder / f"{name}.parquet") if p.exists()]
        if len(found) == 2:
            problems.add(
                found[1].name,
                None,
                None,
                None,
                f"{found[0].name} is there too: keep one format per table",
            )
            continue
        if not found:
            continue
        path = found[0]
        loaded = (
            _read_csv(path, problems) if path.suffix == ".csv" else _read_parquet(path, problems)
        )
        if loaded is None:
            continue
        header, records, rows = loaded
        header = [h.lower() for h in header]
        if len(set(header)) != len(header):
            problems.add(path.name, 1, None, None, "a column appears twice in the header")
            continue
        out.cells[name] = pd.DataFrame(records, columns=header, dtype=object)
        out.rows[name] = rows
        out.labels[name] = path.name


def _load_db(url: str, out: CdmTables, problems: Problems) -> None:
    import ibis

    try:
        if url.startswith("duckdb://"):
            path = url.removeprefix("duckdb://")
            path = path[1:] if path.startswith("/") else path  # duckdb:///rel or duckdb:////abs
            if not Path(path).exists():
                problems.add(url, None, None, None, "no such DuckDB file")
                return
            con = ibis.duckdb.connect(path, read_only=True)
        elif url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            con = ibis.connect(url.replace("postgresql+psycopg://", "postgres://"))
        else:
            problems.add(
                url,
                None,
                None,
                None,
                "unsupported database URL: use duckdb:///PATH or postgresql://...",
            )
            return
    except Exception as exc:
        problems.add(
            url, None, None, None, f"cannot open the database: {type(exc).__name__}: {exc}"
        )
        return
    try:
        present = {t.lower(): t for t in con.list_tables()}
        for name in CDM_TABLES:
            if name not in present:
                continue
            frame = con.table(present[name]).to_pandas()
            frame.columns = [str(c).lower() for c in frame.columns]
            out.cells[name] = frame.map(_text).astype(object)
            out.rows[name] = list(range(1, len(frame) + 1))
            out.labels[name] = name
    except Exception as exc:
        problems.add(
            url, None, None, None, f"cannot read the CDM tables: {type(exc).__name__}: {exc}"
        )
    finally:
        con.disconnect()


# -- CDM rows -> canonical cells ---------------------------------------------------------------


def _get(frame: pd.DataFrame, col: str) -> list[str]:
    return frame[col].tolist() if col in frame.columns else [""] * len(frame)


def _time(dt_cells: list[str], d_cells: list[str], i: int) -> str:
    return dt_cells[i] or d_cells[i]


def _int(text: str) -> int | None:
    return int(text) if _INT.match(text) else None


class _Reader:
    def __init__(self, cdm: CdmTables, problems: Problems, mapping: OmopMapping) -> None:
        self.cdm = cdm
        self.problems = problems
        self.m = mapping
        self.canon = Canon()
        self.pid: dict[str, str] = {}
        self.patient_rows: dict[str, dict[str, str]] = {}

    def add(
        self, kind: str, cells: dict[str, str], where: tuple[str, int], cols: dict[str, str]
    ) -> None:
        self.canon.add(kind, cells, Origin(where[0], where[1], (), cols))

    def where(self, table: str, i: int) -> tuple[str, int]:
        return self.cdm.labels[table], self.cdm.rows[table][i]

    def bad(self, table: str, i: int, column: str, value: str, reason: str) -> None:
        label, row = self.where(table, i)
        self.problems.add(label, row, column, value, reason)

    def patient_of(self, table: str, i: int, person_id: str) -> str:
        pid = self.pid.get(person_id)
        if pid is None:
            self.bad(table, i, "person_id", person_id, "unknown person: not in the person table")
            return ""
        return pid

    def table(self, name: str) -> pd.DataFrame | None:
        return self.cdm.cells.get(name)

    # person, with patient attributes from observation and comorbidities from conditions
    def persons(self) -> None:
        p = self.cdm.cells["person"]
        ids, gender = _get(p, "person_id"), _get(p, "gender_concept_id")
        src, births = _get(p, "person_source_value"), _get(p, "birth_datetime")
        seen: set[str] = set()
        for i, person_id in enumerate(ids):
            if _int(person_id) is None:
                self.bad("person", i, "person_id", person_id, "person_id is not an integer")
                continue
            if person_id in seen:
                self.bad("person", i, "person_id", person_id, "person_id appears twice")
                continue
            seen.add(person_id)
            g = _int(gender[i])
            if g is None:
                self.bad("person", i, "gender_concept_id", gender[i], "not an integer concept id")
                continue
            pid = src[i] if _PATIENT_ID.match(src[i]) else f"P{person_id}"
            self.pid[person_id] = pid
            cells = {c.name: "" for c in FILES["patients"].columns}
            cells.update(patient_id=pid, sex=self.m.sex_of(g), birth_date=births[i][:10])
            self.patient_rows[person_id] = cells
            self.add(
                "patients",
                cells,
                self.where("person", i),
                {
                    "patient_id": "person_source_value",
                    "sex": "gender_concept_id",
                    "birth_date": "birth_datetime",
                },
            )
        cond = self.table("condition_occurrence")
        if cond is not None:
            names: dict[str, list[str]] = defaultdict(list)
            for i, (person_id, concept, sv) in enumerate(
                zip(
                    _get(cond, "person_id"),
                    _get(cond, "condition_concept_id"),
                    _get(cond, "condition_source_value"),
                    strict=True,
                )
            ):
                if person_id not in self.pid:
                    self.patient_of("condition_occurrence", i, person_id)
                    continue
                name = sv if sv and _IDENT.match(sv.split("=")[0]) else None
                c = _int(concept)
                if name is None and c is not None:
                    name = self.m.condition_of(c)
                if name is None and c is not None and c != 0:
                    name = f"condition_{c}"
                if name:
                    names[person_id].append(name)
            for person_id, items in names.items():
                self.patient_rows[person_id]["comorbidities"] = "; ".join(dict.fromkeys(items))

    def observations_table(self) -> None:
        ob = self.table("observation")
        if ob is None:
            return
        cols = {
            c: _get(ob, c)
            for c in (
                "person_id",
                "observation_source_value",
                "value_as_number",
                "value_as_string",
                "qualifier_source_value",
                "observation_datetime",
                "observation_date",
            )
        }
        for i, sv in enumerate(cols["observation_source_value"]):
            kind, _, rest = sv.partition(":")
            if kind not in ("patient", "event", "assessment") or not rest:
                continue
            pid = self.patient_of("observation", i, cols["person_id"][i])
            if not pid:
                continue
            t = _time(cols["observation_datetime"], cols["observation_date"], i)
            text = cols["value_as_string"][i] or cols["value_as_number"][i]
            where = self.where("observation", i)
            if kind == "patient":
                row = self.patient_rows[cols["person_id"][i]]
                if rest == "age_years":
                    row["age_years"] = cols["value_as_number"][i]
                    row["age_at"] = cols["qualifier_source_value"][i]
                elif rest in ("blood_group", "synthetic"):
                    row[rest] = text
            elif kind == "event":
                self._event(
                    pid,
                    rest,
                    t,
                    where,
                    {"time": "observation_datetime", "event": "observation_source_value"},
                )
            else:
                self.add(
                    "assessments",
                    {
                        "patient_id": pid,
                        "time": t,
                        "kind": rest,
                        "value": text,
                        "code": cols["qualifier_source_value"][i],
                        "provenance": "",
                    },
                    where,
                    {
                        "time": "observation_datetime",
                        "kind": "observation_source_value",
                        "value": "value_as_string",
                        "code": "qualifier_source_value",
                    },
                )

    def _event(
        self, pid: str, ref: str, t: str, where: tuple[str, int], cols: dict[str, str]
    ) -> None:
        m = _EVENT.match(ref)
        name, occ = (m.group(1), m.group(2) or "") if m else (ref, "")
        cells = {c.name: "" for c in FILES["events"].columns}
        cells.update(patient_id=pid, event=name, occurrence=occ, time=t)
        self.add("events", cells, where, cols)

    def visits(self) -> None:
        v = self.table("visit_occurrence")
        if v is None:
            return
        pids, src = _get(v, "person_id"), _get(v, "visit_source_value")
        s_dt, s_d = _get(v, "visit_start_datetime"), _get(v, "visit_start_date")
        e_dt, e_d = _get(v, "visit_end_datetime"), _get(v, "visit_end_date")
        dis = (
            _get(v, "discharged_to_concept_id")
            if "discharged_to_concept_id" in v.columns
            else _get(v, "discharge_to_concept_id")
        )  # CDM 5.3 name
        for i, person_id in enumerate(pids):
            pid = self.patient_of("visit_occurrence", i, person_id)
            if not pid:
                continue
            m = _EVENT.match(src[i])
            occ = m.group(2) if m and m.group(1) == "admission" and m.group(2) else ""
            where = self.where("visit_occurrence", i)
            self._event(
                pid,
                f"admission#{occ}" if occ else "admission",
                _time(s_dt, s_d, i),
                where,
                {"time": "visit_start_datetime"},
            )
            if dis[i] not in ("", "0"):
                self._event(
                    pid,
                    f"discharge#{occ}" if occ else "discharge",
                    _time(e_dt, e_d, i),
                    where,
                    {"time": "visit_end_datetime"},
                )

    def deaths(self) -> None:
        d = self.table("death")
        if d is None:
            return
        dt, dd = _get(d, "death_datetime"), _get(d, "death_date")
        for i, person_id in enumerate(_get(d, "person_id")):
            pid = self.patient_of("death", i, person_id)
            if pid:
                self._event(
                    pid,
                    "death",
                    _time(dt, dd, i),
                    self.where("death", i),
                    {"time": "death_datetime"},
                )

    def procedures(self) -> None:
        pr = self.table("procedure_occurrence")
        if pr is None:
            return
        concept, src = _get(pr, "procedure_concept_id"), _get(pr, "procedure_source_value")
        dt, dd = _get(pr, "procedure_datetime"), _get(pr, "procedure_date")
        for i, person_id in enumerate(_get(pr, "person_id")):
            m = _EVENT.match(src[i])
            ref = src[i] if m else None
            c = _int(concept[i])
            if ref is None and c is not None:
                ref = self.m.procedure_event_of(c)
            if ref is None:
                continue  # a procedure the mapping does not cover
            pid = self.patient_of("procedure_occurrence", i, person_id)
            if pid:
                self._event(
                    pid,
                    ref,
                    _time(dt, dd, i),
                    self.where("procedure_occurrence", i),
                    {"time": "procedure_datetime", "event": "procedure_source_value"},
                )

    def measurements(self, support_values: dict[tuple[str, str], dict[str, str]]) -> None:
        me = self.table("measurement")
        if me is None:
            return
        c = {
            k: _get(me, k)
            for k in (
                "person_id",
                "measurement_concept_id",
                "measurement_source_value",
                "value_as_number",
                "unit_concept_id",
                "unit_source_value",
                "value_source_value",
                "operator_concept_id",
                "measurement_datetime",
                "measurement_date",
                "measurement_event_id",
            )
        }
        known, _ = lab_codes(set(c["measurement_source_value"]))
        for i, person_id in enumerate(c["person_id"]):
            sv = c["measurement_source_value"][i]
            if sv.startswith("support:"):
                key = (person_id, c["measurement_event_id"][i])
                support_values.setdefault(key, {})[sv.removeprefix("support:")] = c[
                    "value_as_number"
                ][i]
                continue
            code = known.get(sv)
            concept = _int(c["measurement_concept_id"][i])
            if code is None and concept is not None:
                code = self.m.code_of_measurement(concept)
            if code is None:
                continue
            pid = self.patient_of("measurement", i, person_id)
            if not pid:
                continue
            if c["value_source_value"][i] and c["unit_source_value"][i]:
                value, unit = c["value_source_value"][i], c["unit_source_value"][i]
                vcol, ucol = "value_source_value", "unit_source_value"
            else:
                uc = _int(c["unit_concept_id"][i])
                value = c["value_as_number"][i]
                unit = (
                    c["unit_source_value"][i]
                    or (self.m.ucum_of(uc) if uc is not None else "")
                    or ""
                )
                vcol, ucol = "value_as_number", "unit_source_value"
            op = _int(c["operator_concept_id"][i])
            comparator = (self.m.comparator_of(op) or "") if op is not None else ""
            if c["operator_concept_id"][i] and op is None:
                self.bad(
                    "measurement",
                    i,
                    "operator_concept_id",
                    c["operator_concept_id"][i],
                    "not an integer concept id",
                )
            self.add(
                "observations",
                {
                    "patient_id": pid,
                    "time": _time(c["measurement_datetime"], c["measurement_date"], i),
                    "code": code,
                    "value": value,
                    "unit": unit,
                    "comparator": comparator,
                    "provenance": "",
                },
                self.where("measurement", i),
                {
                    "time": "measurement_datetime",
                    "code": "measurement_concept_id",
                    "value": vcol,
                    "unit": ucol,
                    "comparator": "operator_concept_id",
                },
            )

    def drugs(self) -> None:
        dr = self.table("drug_exposure")
        if dr is None:
            return
        c = {
            k: _get(dr, k)
            for k in (
                "person_id",
                "drug_concept_id",
                "drug_source_value",
                "quantity",
                "sig",
                "route_concept_id",
                "route_source_value",
                "dose_unit_source_value",
                "drug_exposure_start_datetime",
                "drug_exposure_start_date",
                "drug_exposure_end_datetime",
                "drug_exposure_end_date",
            )
        }
        for i, person_id in enumerate(c["person_id"]):
            sv = c["drug_source_value"][i]
            concept = _int(c["drug_concept_id"][i])
            drug = (
                sv
                if _IDENT.match(sv)
                else (self.m.drug_of(concept) if concept is not None else None)
            )
            if drug is None:
                continue
            pid = self.patient_of("drug_exposure", i, person_id)
            if not pid:
                continue
            rc = _int(c["route_concept_id"][i])
            route = (
                c["route_source_value"][i]
                or (self.m.route_of(rc) if rc is not None else None)
                or "other"
            )
            sig = c["sig"][i].split()
            freq = _FREQ.get(sig[-1].lower(), sig[-1]) if sig else ""
            self.add(
                "drugs",
                {
                    "patient_id": pid,
                    "drug": drug,
                    "rxnorm": "",
                    "dose": c["quantity"][i],
                    "unit": c["dose_unit_source_value"][i],
                    "frequency": freq,
                    "route": route,
                    "start": _time(
                        c["drug_exposure_start_datetime"], c["drug_exposure_start_date"], i
                    ),
                    "end": _time(c["drug_exposure_end_datetime"], c["drug_exposure_end_date"], i),
                    "reason": "",
                    "provenance": "",
                },
                self.where("drug_exposure", i),
                {
                    "drug": "drug_source_value",
                    "dose": "quantity",
                    "unit": "dose_unit_source_value",
                    "frequency": "sig",
                    "route": "route_source_value",
                    "start": "drug_exposure_start_datetime",
                    "end": "drug_exposure_end_datetime",
                },
            )

    def devices(self, support_values: dict[tuple[str, str], dict[str, str]]) -> None:
        dv = self.table("device_exposure")
        if dv is None:
            return
        c = {
            k: _get(dv, k)
            for k in (
                "device_exposure_id",
                "person_id",
                "device_concept_id",
                "device_source_value",
                "device_exposure_start_datetime",
                "device_exposure_start_date",
                "device_exposure_end_datetime",
                "device_exposure_end_date",
            )
        }
        for i, person_id in enumerate(c["person_id"]):
            sv = c["device_source_value"][i]
            concept = _int(c["device_concept_id"][i])
            mode = (
                sv if sv in _MODES else (self.m.mode_of(concept) if concept is not None else None)
            )
            if mode is None:
                continue
            pid = self.patient_of("device_exposure", i, person_id)
            if not pid:
                continue
            vals = support_values.get((person_id, c["device_exposure_id"][i]), {})
            self.add(
                "support",
                {
                    "patient_id": pid,
                    "mode": mode,
                    "start": _time(
                        c["device_exposure_start_datetime"], c["device_exposure_start_date"], i
                    ),
                    "end": _time(
                        c["device_exposure_end_datetime"], c["device_exposure_end_date"], i
                    ),
                    "fio2": vals.get("fio2", ""),
                    "flow_l_min": vals.get("flow_l_min", ""),
                    "provenance": "",
                },
                self.where("device_exposure", i),
                {
                    "mode": "device_source_value",
                    "start": "device_exposure_start_datetime",
                    "end": "device_exposure_end_datetime",
                    "fio2": "measurement.value_as_number",
                    "flow_l_min": "measurement.value_as_number",
                },
            )


def read_omop_source(source: str | Path, mapping: OmopMapping | None = None) -> SourceResult:
    """Read an OMOP CDM through the source interface (docs/sources.md).

    Every problem, including those of the shared checks, names the CDM table (``measurement.csv``
    in a folder, ``measurement`` in a database), the row and the CDM column.
    """
    m = mapping or load_omop_mapping()
    problems = Problems()
    cdm = load_cdm(source, problems)
    if problems:
        return SourceResult([], _order(problems), str(source))
    reader = _Reader(cdm, problems, m)
    reader.persons()
    reader.visits()
    reader.deaths()
    reader.procedures()
    reader.observations_table()
    support_values: dict[tuple[str, str], dict[str, str]] = {}
    reader.measurements(support_values)
    reader.drugs()
    reader.devices(support_values)
    return finish(str(source), reader.canon, _order(problems), fallback=cdm.origin)


def read_omop(source: str | Path, mapping: OmopMapping | None = None) -> list[Timeline]:
    """Read an OMOP CDM (folder of CSV/Parquet tables, or a DuckDB/PostgreSQL URL) as timelines.

    Parameters
    ----------
    source
        A folder holding ``person.csv`` (or ``.parquet``) and the other CDM tables, or a
        database URL: ``duckdb:///path/cdm.duckdb``, ``postgresql://user@host/db``.
    mapping
        The concept mapping (default: the shipped knowledge/omop.yaml).

    Raises
    ------
    ImportValidationError
        Listing every problem by CDM table, row and column; nothing is returned.

    Examples
    --------
    >>> from ruxtrack.sources import read_omop
    >>> timelines = read_omop("cdm/")  # doctest: +SKIP
    """
    return read_omop_source(source, mapping).raise_for_problems()


def _order(problems: Problems) -> list[ImportProblem]:
    tables = {name: i for i, name in enumerate(CDM_TABLES)}

    def key(p: ImportProblem) -> tuple[int, str, int, str]:
        stem = p.file.split(".")[0]
        return (tables.get(stem, -1), p.file, -1 if p.row is None else p.row, p.field or "")

    return sorted(problems.sorted(), key=key)
