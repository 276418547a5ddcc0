"""Timelines -> OMOP CDM v5.4 tables (CSV or Parquet), with the concept mapping of omop.yaml.

What goes where (docs/omop.md): patients -> person (+ observation rows for age, blood group and
the synthetic flag), admission/discharge -> visit_occurrence, death -> death, procedure events
(hsct, intubation, extubation) -> procedure_occurrence, other events -> observation
(``event:NAME#N``), labs -> measurement, drugs -> drug_exposure, respiratory support ->
device_exposure (FiO2 and flow as linked measurements), assessments -> observation
(``assessment:KIND``), comorbidities -> condition_occurrence. Transplant details, drug reasons
and provenance text have no CDM home and are not written.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ruxtrack.sources._omop_map import OmopMapping, load_omop_mapping
from ruxtrack.sources._omop_spec import CDM_TABLES, CdmKind
from ruxtrack.sources._rows import format_comorbidities, format_number
from ruxtrack.timeline import Timeline

__all__ = ["omop_rows", "write_omop"]

Rows = dict[str, list[dict[str, Any]]]


class _Ids:
    """Running record ids per table (1, 2, ...)."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def __call__(self, table: str) -> int:
        n = self._next.get(table, 0) + 1
        self._next[table] = n
        return n


def _dt(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def _d(t: datetime) -> str:
    return t.strftime("%Y-%m-%d")


def _age_reference(tl: Timeline) -> datetime | None:
    # The instant at which age_years was recorded (the timeline's own rule).
    return tl._age_reference()


def _person(tl: Timeline, pid: int, m: OmopMapping, rows: Rows, ids: _Ids, t0: datetime) -> None:
    p = tl.patient
    birth: datetime | None = None
    if p.birth_date is not None:
        birth = datetime(p.birth_date.year, p.birth_date.month, p.birth_date.day)
    elif p.age_years is not None:
        ref = _age_reference(tl) or t0
        birth = ref - timedelta(days=p.age_years * 365.25)
    rows["person"].append(
        {
            "person_id": pid,
            "gender_concept_id": m.gender_concept(p.sex.value),
            "year_of_birth": birth.year if birth else None,
            "month_of_birth": p.birth_date.month if p.birth_date else None,
            "day_of_birth": p.birth_date.day if p.birth_date else None,
            "birth_datetime": _dt(birth) if p.birth_date and birth else None,
            "race_concept_id": 0,
            "ethnicity_concept_id": 0,
            "person_source_value": p.patient_id,
            "gender_source_value": p.sex.value,
        }
    )
    when = _age_reference(tl) or t0
    values: list[tuple[str, float | None, str | None, str | None]] = []
    if p.age_years is not None:
        values.append(("age_years", p.age_years, None, p.age_at))
    if p.blood_group is not None:
        values.append(("blood_group", None, p.blood_group, None))
    values.append(("synthetic", None, "true" if p.synthetic else "false", None))
    for name, num, text, qual in values:
        _observation(rows, ids, pid, m.patient_values[name].concept_id, when, m,
                     f"patient:{name}", num=num, text=text, qualifier=qual)  # fmt: skip
    for c in p.comorbidities:
        rows["condition_occurrence"].append(
            {
                "condition_occurrence_id": ids("condition_occurrence"),
                "person_id": pid,
                "condition_concept_id": m.condition_concept(c.name),
                "condition_start_date": _d(t0),
                "condition_start_datetime": _dt(t0),
                "condition_type_concept_id": m.type_concept.concept_id,
                "condition_source_value": format_comorbidities([c]),
            }
        )


def _observation(
    rows: Rows, ids: _Ids, pid: int, concept: int, t: datetime, m: OmopMapping, source: str,
    *, num: float | None = None, text: str | None = None, qualifier: str | None = None,
) -> None:  # fmt: skip
    rows["observation"].append(
        {
            "observation_id": ids("observation"),
            "person_id": pid,
            "observation_concept_id": concept,
            "observation_date": _d(t),
            "observation_datetime": _dt(t),
            "observation_type_concept_id": m.type_concept.concept_id,
            "value_as_number": num,
            "value_as_string": text,
            "observation_source_value": source,
            "qualifier_source_value": qualifier,
        }
    )


def _events(tl: Timeline, pid: int, m: OmopMapping, rows: Rows, ids: _Ids, t_end: datetime) -> None:
    anchors = tl.anchors
    death = anchors.get(("death", 1))
    for e in tl.events:
        t = anchors[e.key]
        table, concept = m.event_table(e.event)
        if e.event == "discharge" and ("admission", e.occurrence) in anchors:
            continue  # written as the end of its visit
        if table == "visit_occurrence" and e.event == "admission":
            dis = anchors.get(("discharge", e.occurrence))
            end = dis or (death if death is not None and death >= t else t_end)
            rows["visit_occurrence"].append(
                {
                    "visit_occurrence_id": ids("visit_occurrence"),
                    "person_id": pid,
                    "visit_concept_id": concept,
                    "visit_start_date": _d(t),
                    "visit_start_datetime": _dt(t),
                    "visit_end_date": _d(end),
                    "visit_end_datetime": _dt(end),
                    "visit_type_concept_id": m.type_concept.concept_id,
                    "visit_source_value": f"{e.event}#{e.occurrence}",
                    "discharged_to_concept_id": (
                        m.visit["discharged_home"].concept_id if dis is not None else 0
                    ),
                    "discharged_to_source_value": "discharge" if dis is not None else None,
                }
            )
        elif table == "death":
            rows["death"].append(
                {
                    "person_id": pid,
                    "death_date": _d(t),
                    "death_datetime": _dt(t),
                    "death_type_concept_id": m.type_concept.concept_id,
                    "cause_concept_id": 0,
                }
            )
        elif table == "procedure_occurrence":
            rows["procedure_occurrence"].append(
                {
                    "procedure_occurrence_id": ids("procedure_occurrence"),
                    "person_id": pid,
                    "procedure_concept_id": concept,
                    "procedure_date": _d(t),
                    "procedure_datetime": _dt(t),
                    "procedure_type_concept_id": m.type_concept.concept_id,
                    "procedure_source_value": f"{e.event}#{e.occurrence}",
                }
            )
        else:
            _observation(rows, ids, pid, concept, t, m, f"event:{e.event}#{e.occurrence}")


def _measurements(tl: Timeline, pid: int, m: OmopMapping, rows: Rows, ids: _Ids) -> None:
    for o in tl.observations:
        t = tl.at(o.time)
        rows["measurement"].append(
            {
                "measurement_id": ids("measurement"),
                "person_id": pid,
                "measurement_concept_id": m.measurement_concept(o.code),
                "measurement_date": _d(t),
                "measurement_datetime": _dt(t),
                "measurement_type_concept_id": m.type_concept.concept_id,
                "operator_concept_id": m.operator_concept(
                    None if o.comparator is None else o.comparator.value
                ),
                "value_as_number": o.value,
                "unit_concept_id": m.unit_concept(o.unit),
                "measurement_source_value": o.code,
                "unit_source_value": o.source_unit or o.unit,
                "value_source_value": (
                    format_number(o.source_value) if o.source_value is not None else None
                ),
            }
        )


def _drugs(tl: Timeline, pid: int, m: OmopMapping, rows: Rows, ids: _Ids, t_end: datetime) -> None:
    for d in tl.drugs:
        s, e = tl.interval(d.start, d.end)
        # CDM 5.4 requires an end date: an ongoing drug runs to the end of observation.
        end = e if e is not None else t_end
        rows["drug_exposure"].append(
            {
                "drug_exposure_id": ids("drug_exposure"),
                "person_id": pid,
                "drug_concept_id": m.drug_concept(d.drug),
                "drug_exposure_start_date": _d(s),
                "drug_exposure_start_datetime": _dt(s),
                "drug_exposure_end_date": _d(end),
                "drug_exposure_end_datetime": _dt(end),
                "verbatim_end_date": _d(end),
                "drug_type_concept_id": m.type_concept.concept_id,
                "quantity": d.dose,
                "sig": f"{format_number(d.dose)} {d.unit.value} {d.frequency.value}",
                "route_concept_id": m.route_concept(d.route.value),
                "drug_source_value": d.drug,
                "route_source_value": d.route.value,
                "dose_unit_source_value": d.unit.value,
            }
        )


def _support(tl: Timeline, pid: int, m: OmopMapping, rows: Rows, ids: _Ids) -> None:
    field = m.support_values["event_field"].concept_id
    for ep in tl.support:
        s, e = tl.interval(ep.start, ep.end)
        dev_id = ids("device_exposure")
        rows["device_exposure"].append(
            {
                "device_exposure_id": dev_id,
                "person_id": pid,
                "device_concept_id": m.mode_concept(ep.mode.value),
                "device_exposure_start_date": _d(s),
                "device_exposure_start_datetime": _dt(s),
                "device_exposure_end_date": _d(e) if e is not None else None,
                "device_exposure_end_datetime": _dt(e) if e is not None else None,
                "device_type_concept_id": m.type_concept.concept_id,
                "device_source_value": ep.mode.value,
            }
        )
        for name, value in (("fio2", ep.fio2), ("flow_l_min", ep.flow_l_min)):
            if value is None:
                continue
            spec = m.support_values[name]
            rows["measurement"].append(
                {
                    "measurement_id": ids("measurement"),
                    "person_id": pid,
                    "measurement_concept_id": spec.concept_id,
                    "measurement_date": _d(s),
                    "measurement_datetime": _dt(s),
                    "measurement_type_concept_id": m.type_concept.concept_id,
                    "value_as_number": value,
                    "unit_concept_id": m.unit_concept(spec.unit or ""),
                    "measurement_source_value": f"support:{name}",
                    "unit_source_value": spec.unit,
                    "measurement_event_id": dev_id,
                    "meas_event_field_concept_id": field,
                }
            )


def _assessments(tl: Timeline, pid: int, m: OmopMapping, rows: Rows, ids: _Ids) -> None:
    for a in tl.assessments:
        t = tl.at(a.time)
        _observation(rows, ids, pid, 0, t, m, f"assessment:{a.kind}", text=a.value,
                     qualifier=a.code)  # fmt: skip


def _span(tl: Timeline) -> tuple[datetime, datetime]:
    times = list(tl.anchors.values())
    times += [tl.at(o.time) for o in tl.observations]
    times += [tl.at(a.time) for a in tl.assessments]
    spans = [(d.start, d.end) for d in tl.drugs] + [(sp.start, sp.end) for sp in tl.support]
    for start, stop in spans:
        s, e = tl.interval(start, stop)
        times.append(s)
        if e is not None:
            times.append(e)
    if not times:
        raise ValueError(f"patient {tl.patient.patient_id} has no dated record")
    return min(times), max(times)


def omop_rows(timelines: Iterable[Timeline], mapping: OmopMapping | None = None) -> Rows:
    """Every CDM row of the timelines, by table (dicts keyed by CDM column)."""
    m = mapping or load_omop_mapping()
    rows: Rows = {name: [] for name in CDM_TABLES}
    ids = _Ids()
    for pid, tl in enumerate(timelines, start=1):
        t0, t1 = _span(tl)
        _person(tl, pid, m, rows, ids, t0)
        rows["observation_period"].append(
            {
                "observation_period_id": ids("observation_period"),
                "person_id": pid,
                "observation_period_start_date": _d(t0),
                "observation_period_end_date": _d(t1),
                "period_type_concept_id": m.type_concept.concept_id,
            }
        )
        end_day = datetime(t1.year, t1.month, t1.day)
        _events(tl, pid, m, rows, ids, end_day)
        _measurements(tl, pid, m, rows, ids)
        _drugs(tl, pid, m, rows, ids, end_day)
        _support(tl, pid, m, rows, ids)
        _assessments(tl, pid, m, rows, ids)
    return rows


def write_omop(
    timelines: Iterable[Timeline], path: str | Path, format: str = "csv"
) -> dict[str, Path]:
    """Write timelines as the ten OMOP CDM v5.4 tables (``<table>.csv`` or ``.parquet``).

    Returns the file written per table. Raises :class:`~ruxtrack.sources.ExportError` for an
    unknown format or an unwritable folder.
    """
    from ruxtrack.sources.canonical import ExportError

    if format not in ("csv", "parquet"):
        raise ExportError(f'unknown OMOP export format "{format}": use csv or parquet')
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create {folder}: {exc}") from exc
    try:
        rows = omop_rows(timelines)
    except ValueError as exc:
        raise ExportError(f"cannot export to OMOP: {exc}") from exc
    written: dict[str, Path] = {}
    for name, columns in CDM_TABLES.items():
        target = folder / f"{name}.{format}"
        try:
            other = folder / f"{name}.{'parquet' if format == 'csv' else 'csv'}"
            if other.exists():
                other.unlink()
            if format == "csv":
                _write_csv(target, columns, rows[name])
            else:
                _write_parquet(target, columns, rows[name])
        except OSError as exc:
            raise ExportError(f"cannot write {target}: {exc}") from exc
        written[name] = target
    return written


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return format_number(value)
    return str(value)


def _write_csv(
    target: Path, columns: tuple[tuple[str, CdmKind], ...], rows: list[dict[str, Any]]
) -> None:
    names = [c for c, _ in columns]
    with target.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(names)
        for r in rows:
            w.writerow([_cell(r.get(c)) for c in names])


_ARROW: dict[str, pa.DataType] = {
    "int": pa.int64(),
    "float": pa.float64(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us"),
    "text": pa.string(),
}


def _write_parquet(
    target: Path, columns: tuple[tuple[str, CdmKind], ...], rows: list[dict[str, Any]]
) -> None:
    arrays = {}
    for name, kind in columns:
        values = [r.get(name) for r in rows]
        if kind == "date":
            values = [
                None if v is None else datetime.strptime(v, "%Y-%m-%d").date() for v in values
            ]
        elif kind == "datetime":
            values = [
                None if v is None else datetime.strptime(v, "%Y-%m-%d %H:%M:%S") for v in values
            ]
        arrays[name] = pa.array(values, _ARROW[kind])
    pq.write_table(pa.table(arrays), target)
