"""Timelines as rows: the canonical file rows, and the resolved rows the store keeps.

One function turns a :class:`Timeline` into the store's row dicts (the file's columns with
native types, plus ``seq`` and the resolved ``t`` / ``t_start`` / ``t_end``); the file rows
and :func:`resolved_frames` are derived from it, and :func:`timeline_from_rows` inverts it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd

from ruxtrack.sources._spec import FILES
from ruxtrack.timeline import (
    Assessment,
    Comorbidity,
    ConditioningAgent,
    DrugExposure,
    Event,
    Observation,
    Patient,
    SupportEpisode,
    Timeline,
    TimeRef,
    TransplantDetails,
    parse_time,
)

__all__ = [
    "RESOLVED_COLUMNS",
    "Row",
    "format_comorbidities",
    "format_conditioning",
    "format_number",
    "parse_comorbidities",
    "parse_conditioning",
    "resolved_frames",
    "resolved_rows",
    "split_list",
    "timeline_from_rows",
    "to_file_rows",
]

Row = dict[str, Any]

#: Columns of each resolved table (the store's tables), in order.
RESOLVED_COLUMNS: dict[str, tuple[str, ...]] = {
    "patients": (*FILES["patients"].column_names, "time_basis"),
    "events": (
        "patient_id", "seq", "event", "occurrence", "time", "t", "donor_type", "hla_match",
        "cell_source", "conditioning", "conditioning_intensity", "gvhd_prophylaxis", "provenance",
    ),
    "observations": (
        "patient_id", "seq", "time", "t", "code", "value", "unit", "comparator", "source_value",
        "source_unit", "provenance",
    ),
    "drugs": (
        "patient_id", "seq", "drug", "rxnorm", "dose", "unit", "frequency", "route", "start",
        "end", "t_start", "t_end", "reason", "provenance",
    ),
    "support": (
        "patient_id", "seq", "mode", "start", "end", "t_start", "t_end", "fio2", "flow_l_min",
        "provenance",
    ),
    "assessments": (
        "patient_id", "seq", "time", "t", "kind", "value", "code", "provenance",
    ),
}  # fmt: skip

_LIST_SEP = ";"
_COMORBIDITY = re.compile(
    r"^(?P<name>[a-z][a-z0-9_]*)(?:=(?:(?P<system>[A-Za-z][A-Za-z0-9_.-]*):)?(?P<code>[^\s:=;]+))?$"
)
_AGENT = re.compile(
    r"^(?P<agent>\S(?:.*?\S)?)(?:\s+(?P<dose>[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)"
    r"(?:\s+(?P<unit>\S+))?)?$"
)


# -- text forms of the list-valued cells ------------------------------------------------------
def format_number(value: float | int) -> str:
    """Shortest text that reads back as exactly the same float (``17509``, ``0.1``)."""
    f = float(value)
    if f.is_integer() and abs(f) < 1e15:
        return str(int(f))
    return repr(f)


def split_list(text: str) -> list[str]:
    """Items of a ``;``-separated cell, stripped; empty items are dropped."""
    return [item.strip() for item in text.split(_LIST_SEP) if item.strip()]


def parse_comorbidities(text: str) -> tuple[Comorbidity, ...]:
    """Parse ``hypertension=ICD10:I10; obesity`` (raises ValueError naming the bad item)."""
    out = []
    for item in split_list(text):
        m = _COMORBIDITY.match(item)
        if m is None:
            raise ValueError(
                f'comorbidity "{item}" is not name or name=SYSTEM:CODE '
                "(name in lower case with underscores, e.g. hypertension=ICD10:I10)"
            )
        out.append(Comorbidity(name=m["name"], code=m["code"], system=m["system"]))
    return tuple(out)


def format_comorbidities(items: Sequence[Comorbidity]) -> str | None:
    parts = []
    for c in items:
        if c.code is None:
            parts.append(c.name)
        elif c.system is None:
            parts.append(f"{c.name}={c.code}")
        else:
            parts.append(f"{c.name}={c.system}:{c.code}")
    return f"{_LIST_SEP} ".join(parts) or None


def parse_conditioning(text: str) -> tuple[ConditioningAgent, ...]:
    """Parse ``Flu 125 mg/m2; Mel 80 mg/m2; TBI 4 Gy; ATG`` (raises ValueError)."""
    out = []
    for item in split_list(text):
        m = _AGENT.match(item)
        if m is None:
            raise ValueError(f'conditioning agent "{item}" is not "agent [dose [unit]]"')
        dose = None if m["dose"] is None else float(m["dose"])
        out.append(ConditioningAgent(agent=m["agent"], dose=dose, unit=m["unit"]))
    return tuple(out)


def format_conditioning(items: Sequence[ConditioningAgent]) -> str | None:
    parts = []
    for a in items:
        text = a.agent
        if a.dose is not None:
            text += f" {format_number(a.dose)}"
            if a.unit:
                text += f" {a.unit}"
        parts.append(text)
    return f"{_LIST_SEP} ".join(parts) or None


# -- timeline -> resolved rows ----------------------------------------------------------------
def resolved_rows(timeline: Timeline) -> dict[str, list[Row]]:
    """The store's rows for one timeline: file columns with native types plus resolved times.

    ``seq`` numbers each patient's records in their order (0-based); ``t`` / ``t_start`` /
    ``t_end`` are the resolved local instants (for a patient recorded in relative days they
    are placed from :data:`ruxtrack.timeline.NOMINAL_EPOCH` and carry no calendar meaning).
    """
    p = timeline.patient
    pid = p.patient_id
    at = _resolver(timeline)
    out: dict[str, list[Row]] = {
        "patients": [
            {
                "patient_id": pid,
                "sex": p.sex.value,
                "birth_date": p.birth_date,
                "age_years": p.age_years,
                "age_at": p.age_at,
                "blood_group": p.blood_group,
                "comorbidities": format_comorbidities(p.comorbidities),
                "synthetic": p.synthetic,
                "time_basis": timeline.time_basis,
            }
        ]
    }
    out["events"] = [
        {
            "patient_id": pid,
            "seq": i,
            "event": e.event,
            "occurrence": e.occurrence,
            "time": str(e.time),
            "t": at(e.time),
            **_transplant_cells(e.transplant),
            "provenance": e.provenance,
        }
        for i, e in enumerate(timeline.events)
    ]
    out["observations"] = [
        {
            "patient_id": pid,
            "seq": i,
            "time": str(o.time),
            "t": at(o.time),
            "code": o.code,
            "value": o.value,
            "unit": o.unit,
            "comparator": None if o.comparator is None else o.comparator.value,
            "source_value": o.source_value,
            "source_unit": o.source_unit,
            "provenance": o.provenance,
        }
        for i, o in enumerate(timeline.observations)
    ]
    out["drugs"] = [
        {
            "patient_id": pid,
            "seq": i,
            "drug": d.drug,
            "rxnorm": d.rxnorm,
            "dose": d.dose,
            "unit": d.unit.value,
            "frequency": d.frequency.value,
            "route": d.route.value,
            "start": str(d.start),
            "end": None if d.end is None else str(d.end),
            "t_start": at(d.start),
            "t_end": None if d.end is None else at(d.end),
            "reason": d.reason,
            "provenance": d.provenance,
        }
        for i, d in enumerate(timeline.drugs)
    ]
    out["support"] = [
        {
            "patient_id": pid,
            "seq": i,
            "mode": s.mode.value,
            "start": str(s.start),
            "end": None if s.end is None else str(s.end),
            "t_start": at(s.start),
            "t_end": None if s.end is None else at(s.end),
            "fio2": s.fio2,
            "flow_l_min": s.flow_l_min,
            "provenance": s.provenance,
        }
        for i, s in enumerate(timeline.support)
    ]
    out["assessments"] = [
        {
            "patient_id": pid,
            "seq": i,
            "time": str(a.time),
            "t": at(a.time),
            "kind": a.kind,
            "value": a.value,
            "code": a.code,
            "provenance": a.provenance,
        }
        for i, a in enumerate(timeline.assessments)
    ]
    return out


def _resolver(timeline: Timeline) -> Any:
    cache: dict[TimeRef, datetime] = {}

    def at(ref: TimeRef) -> datetime:
        t = cache.get(ref)
        if t is None:
            t = cache[ref] = timeline.at(ref)
        return t

    return at


def _transplant_cells(tx: TransplantDetails | None) -> Row:
    if tx is None:
        return dict.fromkeys(
            ("donor_type", "hla_match", "cell_source", "conditioning", "conditioning_intensity",
             "gvhd_prophylaxis")
        )  # fmt: skip
    return {
        "donor_type": tx.donor_type,
        "hla_match": tx.hla_match,
        "cell_source": tx.cell_source,
        "conditioning": format_conditioning(tx.conditioning),
        "conditioning_intensity": tx.conditioning_intensity,
        "gvhd_prophylaxis": f"{_LIST_SEP} ".join(tx.gvhd_prophylaxis) or None,
    }


def resolved_frames(timelines: Iterable[Timeline]) -> dict[str, pd.DataFrame]:
    """The resolved long format of ``timelines``: one DataFrame per store table.

    Columns are those of the store's tables (docs/data-format.md, "The store's tables"):
    the file columns with native types, ``seq``, and the resolved ``t`` / ``t_start`` /
    ``t_end`` as ``datetime64[ns]``; patients carry ``time_basis``. Observation ``value`` /
    ``unit`` are canonical, with ``source_value`` / ``source_unit`` as received.

    Parameters
    ----------
    timelines
        Validated timelines (e.g. from :func:`read_folder` or ``Store.timelines()``).

    Returns
    -------
    dict[str, pandas.DataFrame]
        Keyed by table name: patients, events, observations, drugs, support, assessments.

    Examples
    --------
    >>> from ruxtrack.timeline import Patient, Timeline
    >>> frames = resolved_frames([Timeline(patient=Patient(patient_id="P1", sex="female"))])
    >>> frames["patients"][["patient_id", "sex", "time_basis"]].to_dict("records")
    [{'patient_id': 'P1', 'sex': 'female', 'time_basis': 'absolute'}]
    """
    rows: dict[str, list[Row]] = {name: [] for name in RESOLVED_COLUMNS}
    for tl in timelines:
        for name, table_rows in resolved_rows(tl).items():
            rows[name].extend(table_rows)
    return {name: _frame(name, table_rows) for name, table_rows in rows.items()}


_NUMBER_COLUMNS = {"age_years", "value", "source_value", "dose", "fio2", "flow_l_min"}
_INT_COLUMNS = {"seq", "occurrence"}
_TIME_COLUMNS = {"t", "t_start", "t_end"}


def _frame(name: str, rows: list[Row]) -> pd.DataFrame:
    columns = RESOLVED_COLUMNS[name]
    df = pd.DataFrame.from_records(rows, columns=list(columns))
    for col in columns:
        if col in _TIME_COLUMNS:
            df[col] = pd.to_datetime(df[col]).astype("datetime64[ns]")
        elif col in _INT_COLUMNS:
            df[col] = df[col].astype("int64")
        elif col in _NUMBER_COLUMNS and not (name == "assessments" and col == "value"):
            df[col] = df[col].astype("float64")
        elif col == "synthetic":
            df[col] = df[col].astype("bool")
        elif col == "birth_date":
            df[col] = df[col].astype("object")
        else:
            df[col] = df[col].astype("object")
    return df


# -- resolved rows -> file rows ---------------------------------------------------------------
def to_file_rows(name: str, rows: Iterable[Mapping[str, Any]]) -> Iterable[dict[str, str]]:
    """Resolved rows as the text cells of the canonical file ``name`` (empty string: missing).

    Observations are written as received (``source_value`` / ``source_unit`` when known), so
    that importing the export again reproduces the store exactly.
    """
    spec = FILES[name]
    for row in rows:
        cells: dict[str, str] = {}
        for col in spec.columns:
            v = row.get(col.name)
            if name == "observations" and col.name in ("value", "unit"):
                if row.get("source_value") is not None:
                    v = row["source_" + col.name]
            cells[col.name] = _cell(v)
        yield cells


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return format_number(v)
    if isinstance(v, datetime | date):
        return v.isoformat()
    return str(v)


# -- resolved rows -> timeline ----------------------------------------------------------------
def timeline_from_rows(
    patient: Mapping[str, Any],
    tables: Mapping[str, Sequence[Mapping[str, Any]]],
    times: dict[str, TimeRef] | None = None,
) -> Timeline:
    """Rebuild a validated :class:`Timeline` from resolved rows (the store's read path).

    ``times`` is an optional cache of parsed time texts shared across patients.
    """
    cache = {} if times is None else times

    def ref(text: str | None) -> TimeRef | None:
        if text is None:
            return None
        r = cache.get(text)
        if r is None:
            r = cache[text] = parse_time(text)
        return r

    pid = patient["patient_id"]
    birth = patient.get("birth_date")
    if isinstance(birth, datetime):
        birth = birth.date()
    pat = Patient(
        patient_id=pid,
        sex=patient["sex"],
        birth_date=birth,
        age_years=patient.get("age_years"),
        age_at=patient.get("age_at"),
        blood_group=patient.get("blood_group"),
        comorbidities=parse_comorbidities(patient.get("comorbidities") or ""),
        synthetic=bool(patient.get("synthetic")),
    )
    events = tuple(
        Event(
            patient_id=pid,
            event=r["event"],
            occurrence=r["occurrence"],
            time=ref(r["time"]),
            transplant=_transplant(r),
            provenance=r.get("provenance"),
        )
        for r in tables.get("events", ())
    )
    observations = tuple(
        Observation(
            patient_id=pid,
            time=ref(r["time"]),
            code=r["code"],
            value=r["value"],
            unit=r["unit"],
            comparator=r.get("comparator"),
            source_value=r.get("source_value"),
            source_unit=r.get("source_unit"),
            provenance=r.get("provenance"),
        )
        for r in tables.get("observations", ())
    )
    drugs = tuple(
        DrugExposure(
            patient_id=pid,
            drug=r["drug"],
            rxnorm=r.get("rxnorm"),
            dose=r["dose"],
            unit=r["unit"],
            frequency=r["frequency"],
            route=r["route"],
            start=ref(r["start"]),
            end=ref(r.get("end")),
            reason=r.get("reason"),
            provenance=r.get("provenance"),
        )
        for r in tables.get("drugs", ())
    )
    support = tuple(
        SupportEpisode(
            patient_id=pid,
            mode=r["mode"],
            start=ref(r["start"]),
            end=ref(r.get("end")),
            fio2=r.get("fio2"),
            flow_l_min=r.get("flow_l_min"),
            provenance=r.get("provenance"),
        )
        for r in tables.get("support", ())
    )
    assessments = tuple(
        Assessment(
            patient_id=pid,
            time=ref(r["time"]),
            kind=r["kind"],
            value=r["value"],
            code=r.get("code"),
            provenance=r.get("provenance"),
        )
        for r in tables.get("assessments", ())
    )
    return Timeline(
        patient=pat,
        events=events,
        observations=observations,
        drugs=drugs,
        support=support,
        assessments=assessments,
    )


def _transplant(r: Mapping[str, Any]) -> TransplantDetails | None:
    keys = ("donor_type", "hla_match", "cell_source", "conditioning", "conditioning_intensity",
            "gvhd_prophylaxis")  # fmt: skip
    if all(r.get(k) in (None, "") for k in keys):
        return None
    return TransplantDetails(
        donor_type=r.get("donor_type"),
        hla_match=r.get("hla_match"),
        cell_source=r.get("cell_source"),
        conditioning=parse_conditioning(r.get("conditioning") or ""),
        conditioning_intensity=r.get("conditioning_intensity"),
        gvhd_prophylaxis=tuple(split_list(r.get("gvhd_prophylaxis") or "")),
    )
