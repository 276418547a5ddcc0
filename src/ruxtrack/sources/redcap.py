"""REDCap in and out: a project's data dictionary + records export -> timelines, and back.

Reading (:func:`read_redcap_source`): a folder holding the data dictionary (``dictionary.csv``,
Designer or API form), the records export (``records.csv``: flat CSV, raw values; classic or
longitudinal with ``redcap_event_name``; repeating instruments with ``redcap_repeat_instrument``
and ``redcap_repeat_instance``) and optionally ``mapping.yaml`` (REDCap field -> timeline
column; default: the ruxtrack registry's mapping). Every value is checked against the
dictionary (field type, validation type, min/max, choices), then through the one validation
layer; problems name the record, event, instance and field.

Writing (:func:`write_redcap`): the registry project's data dictionary, its repeating
instruments, one instrument ZIP per form, the mapping and a records import file from timelines.
The PyCap API client is an optional path (:func:`fetch_redcap`, extra ``[redcap]``).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ruxtrack.errors import ImportProblem
from ruxtrack.knowledge import knowledge_path, load_yaml, validate_knowledge
from ruxtrack.sources._canon import Canon, Origin, blank, finish
from ruxtrack.sources._load import _read_csv
from ruxtrack.sources._problems import Problems
from ruxtrack.sources._redcap_model import (
    API_HEADER,
    DICTIONARY_HEADER,
    Block,
    FieldDef,
    RedcapMapping,
    RegistryProject,
    check_value,
    read_dictionary,
)
from ruxtrack.sources._result import SourceResult
from ruxtrack.sources._rows import format_comorbidities, format_number
from ruxtrack.timeline import Timeline

__all__ = [
    "API_HEADER",
    "DICTIONARY_HEADER",
    "fetch_redcap",
    "load_registry_project",
    "read_redcap",
    "read_redcap_source",
    "write_redcap",
]

DICTIONARY = "dictionary.csv"
RECORDS = "records.csv"
MAPPING = "mapping.yaml"
_SYSTEM = (
    "redcap_event_name",
    "redcap_repeat_instrument",
    "redcap_repeat_instance",
    "redcap_data_access_group",
    "redcap_survey_identifier",
)


@cache
def load_registry_project() -> RegistryProject:
    """The shipped registry project (knowledge/redcap/registry.yaml)."""
    path = knowledge_path("redcap/registry.yaml")
    return validate_knowledge(RegistryProject, load_yaml(path), path)


def _load_mapping(path: Path, problems: Problems) -> RedcapMapping | None:
    if not path.exists():
        return load_registry_project().mapping
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problems.add(path.name, None, None, None, f"not valid YAML: {exc}")
        return None
    try:
        return RedcapMapping.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = ".".join(str(x) for x in err["loc"])
            problems.add(path.name, None, loc or None, None, err["msg"])
        return None


def _find_dictionary(folder: Path) -> Path | None:
    for name in (DICTIONARY, "metadata.csv"):
        if (folder / name).exists():
            return folder / name
    hits = sorted(folder.glob("*DataDictionary*.csv"))
    return hits[0] if hits else None


class _Records:
    """The records export: header, rows (text) and spreadsheet row numbers."""

    def __init__(self, header: list[str], rows: list[list[str]], numbers: list[int]) -> None:
        self.header = header
        self.rows = rows
        self.numbers = numbers
        self.col = {h: i for i, h in enumerate(header)}

    def get(self, i: int, name: str) -> str:
        j = self.col.get(name)
        return self.rows[i][j] if j is not None else ""

    def where(self, i: int, rid: str) -> tuple[tuple[str, str], ...]:
        loc = [("record", rid)]
        if ev := self.get(i, "redcap_event_name"):
            loc.append(("event", ev))
        if inst := self.get(i, "redcap_repeat_instrument"):
            loc.append(("instrument", inst))
            loc.append(("instance", self.get(i, "redcap_repeat_instance") or "1"))
        return tuple(loc)


def _base_field(column: str) -> str:
    return column.split("___", 1)[0]


def _check_records(
    recs: _Records, fields: dict[str, FieldDef], rid_field: str, found: list[ImportProblem]
) -> None:
    for col in recs.header:
        base = _base_field(col)
        if col in _SYSTEM or col.endswith(("_complete", "_timestamp")) or base in fields:
            continue
        found.append(
            ImportProblem(RECORDS, 1, col, None, "column is not a field of the data dictionary")
        )
    if rid_field not in recs.col:
        found.append(ImportProblem(RECORDS, 1, rid_field, None, "record id column is missing"))
        return
    for i in range(len(recs.rows)):
        rid = recs.get(i, rid_field)
        if not rid:
            found.append(
                ImportProblem(RECORDS, recs.numbers[i], rid_field, None, "record id is empty")
            )
            continue
        inst = recs.get(i, "redcap_repeat_instance")
        if inst and not inst.isdigit():
            found.append(
                ImportProblem.at(
                    RECORDS,
                    "repeat instance is not a whole number",
                    value=inst,
                    field="redcap_repeat_instance",
                    row=recs.numbers[i],
                    record=rid,
                )
            )
        for j, col in enumerate(recs.header):
            f = fields.get(_base_field(col))
            value = recs.rows[i][j]
            if f is None or not value or col == rid_field:
                continue
            if "___" in col and f.type == "checkbox" and col.split("___", 1)[1] not in f.choices:
                reason: str | None = "checkbox column of a choice the dictionary does not have"
            else:
                reason = check_value(f, value, col)
            if reason is not None:
                found.append(
                    ImportProblem(RECORDS, recs.numbers[i], col, value, reason, recs.where(i, rid))
                )


def _matches(recs: _Records, i: int, block: Block, kind: str) -> bool:
    repeating = (
        block.repeating
        if block.repeating is not None
        else (block.instrument is not None and kind != "patients")
    )
    inst = recs.get(i, "redcap_repeat_instrument")
    if repeating:
        if inst != (block.instrument or ""):
            return False
    elif inst:
        return False
    return block.event is None or recs.get(i, "redcap_event_name") == block.event


_TIME_COLUMNS = frozenset({"time", "start", "end"})


def _cells(
    recs: _Records, i: int, block: Block, kind: str
) -> tuple[dict[str, str], dict[str, str], bool]:
    """The canonical cells of one record row, their REDCap fields, and whether the row holds
    this block's data: a value in a mapped field other than the times (a visit date alone
    is not a lab value); for a block that maps only times, in one of them."""
    cells = blank(kind)
    columns: dict[str, str] = {}
    filled: dict[str, bool] = {}
    for col, src in block.columns.items():
        if src.field is not None:
            value = recs.get(i, src.field)
            columns[col] = src.field
            filled[col] = bool(value)
            if value and src.choices is not None:
                value = src.choices.get(value, value)
        else:
            value = src.value or ""
        cells[col] = value
    data = [v for c, v in filled.items() if c not in _TIME_COLUMNS] or list(filled.values())
    return cells, columns, any(data)


def _apply(recs: _Records, mapping: RedcapMapping, canon: Canon) -> None:
    rid_field = mapping.record_id
    seen: set[str] = set()
    for i in range(len(recs.rows)):
        rid = recs.get(i, rid_field)
        if not rid:
            continue
        where = recs.where(i, rid)
        if rid not in seen and _matches(recs, i, mapping.patients, "patients"):
            seen.add(rid)
            cells, cols, _ = _cells(recs, i, mapping.patients, "patients")
            cells["patient_id"] = rid
            cols["patient_id"] = rid_field
            canon.add("patients", cells, Origin(RECORDS, recs.numbers[i], where, cols))
        for kind, block in mapping.blocks()[1:]:
            if not _matches(recs, i, block, kind):
                continue
            cells, cols, any_field = _cells(recs, i, block, kind)
            if not any_field:
                continue
            cells["patient_id"] = rid
            cols["patient_id"] = rid_field
            canon.add(kind, cells, Origin(RECORDS, recs.numbers[i], where, cols))
    for i in range(len(recs.rows)):  # records with repeating rows only still are patients
        rid = recs.get(i, rid_field)
        if rid and rid not in seen:
            seen.add(rid)
            cells = blank("patients") | {"patient_id": rid, "sex": "unknown"}
            canon.add(
                "patients",
                cells,
                Origin(RECORDS, recs.numbers[i], recs.where(i, rid), {"patient_id": rid_field}),
            )


def read_redcap_source(path: str | Path) -> SourceResult:
    """Read a REDCap project export folder through the source interface (see module doc)."""
    folder = Path(path)
    problems = Problems()
    if not folder.is_dir():
        problems.add(
            str(folder),
            None,
            None,
            None,
            f"not a folder: give the folder holding {DICTIONARY} and {RECORDS}",
        )
        return SourceResult([], problems.sorted(), str(folder))
    dict_path = _find_dictionary(folder)
    if dict_path is None:
        problems.add(DICTIONARY, None, None, None, f"the data dictionary is missing from {folder}")
    if not (folder / RECORDS).exists():
        problems.add(RECORDS, None, None, None, f"the records export is missing from {folder}")
    mapping = _load_mapping(folder / MAPPING, problems)
    if problems or dict_path is None or mapping is None:
        return SourceResult([], problems.sorted(), str(folder))
    fields = read_dictionary(dict_path, problems)
    loaded = _read_csv(folder / RECORDS, problems)
    if problems or loaded is None:
        return SourceResult([], problems.sorted(), str(folder))
    found: list[ImportProblem] = []
    for where, name in mapping.fields():
        if _base_field(name) not in fields:
            found.append(
                ImportProblem(
                    MAPPING,
                    None,
                    where,
                    name,
                    "the mapping names a field the data dictionary does not have",
                )
            )
    recs = _Records(*loaded)
    _check_records(recs, fields, mapping.record_id, found)
    if found:
        return SourceResult([], found, str(folder))
    canon = Canon()
    _apply(recs, mapping, canon)
    return finish(str(folder), canon, [], fallback=RECORDS)


def read_redcap(path: str | Path) -> list[Timeline]:
    """Timelines of a REDCap export folder; :class:`ImportValidationError` on any problem."""
    return read_redcap_source(path).raise_for_problems()


# -- writing -----------------------------------------------------------------------------------


def _dictionary_rows(project: RegistryProject) -> list[list[str]]:
    from ruxtrack.units import load_catalogue

    cat = load_catalogue()
    out = []
    for f in project.dictionary:
        if f.choices_from == "lab_catalogue":
            choices = " | ".join(f"{c}, {cat.get(c).name}" for c in cat.codes)
        else:
            choices = " | ".join(f"{c['code']}, {c['label']}" for c in f.choices)
        out.append(
            [
                f.field,
                f.form,
                "",
                f.type,
                f.label,
                choices,
                "",
                f.validation or "",
                f.min or "",
                f.max or "",
                "y" if f.field == "record_id" else "",
                "",
                "y" if f.required else "",
                "",
                "",
                "",
                "",
                "",
            ]
        )
    return out


def _forms(project: RegistryProject) -> list[str]:
    return list(dict.fromkeys(f.form for f in project.dictionary))


def _record_columns(project: RegistryProject) -> list[str]:
    cols = [project.mapping.record_id, "redcap_repeat_instrument", "redcap_repeat_instance"]
    for form in _forms(project):
        cols += [f.field for f in project.dictionary if f.form == form and f.field not in cols]
        cols.append(f"{form}_complete")
    return cols


def _reverse(block: Block) -> dict[str, tuple[str, dict[str, str]]]:
    """canonical column -> (REDCap field, ruxtrack value -> raw code)."""
    out = {}
    for col, src in block.columns.items():
        if src.field is not None:
            out[col] = (src.field, {v: k for k, v in (src.choices or {}).items()})
    return out


def _t(tl: Timeline, ref: Any) -> str:
    return "" if ref is None else tl.at(ref).strftime("%Y-%m-%d %H:%M:%S")


def _num(v: float | None) -> str:
    return "" if v is None else format_number(v)


def _timeline_rows(tl: Timeline, project: RegistryProject) -> list[dict[str, str]]:
    m = project.mapping
    p = tl.patient
    rid = p.patient_id
    canon: dict[str, list[dict[str, str]]] = {
        "patients": [
            {
                "sex": p.sex.value,
                "birth_date": p.birth_date.isoformat() if p.birth_date else "",
                "age_years": _num(p.age_years),
                "age_at": p.age_at or "",
                "blood_group": p.blood_group or "",
                "comorbidities": format_comorbidities(p.comorbidities) or "",
                "synthetic": "true" if p.synthetic else "false",
            }
        ],
        "events": [
            {"event": e.event, "occurrence": str(e.occurrence), "time": _t(tl, e.time)}
            for e in tl.events
        ],
        "observations": [
            {
                "code": o.code,
                "time": _t(tl, o.time),
                "value": _num(o.source_value if o.source_value is not None else o.value),
                "unit": o.source_unit or o.unit,
                "comparator": o.comparator.value if o.comparator else "",
            }
            for o in tl.observations
        ],
        "drugs": [
            {
                "drug": d.drug,
                "dose": _num(d.dose),
                "unit": d.unit.value,
                "frequency": d.frequency.value,
                "route": d.route.value,
                "start": _t(tl, d.start),
                "end": _t(tl, d.end),
                "reason": d.reason or "",
            }
            for d in tl.drugs
        ],
        "support": [
            {
                "mode": s.mode.value,
                "start": _t(tl, s.start),
                "end": _t(tl, s.end),
                "fio2": _num(s.fio2),
                "flow_l_min": _num(s.flow_l_min),
            }
            for s in tl.support
        ],
        "assessments": [
            {"kind": a.kind, "time": _t(tl, a.time), "value": a.value, "code": a.code or ""}
            for a in tl.assessments
        ],
    }
    rows: list[dict[str, str]] = []
    for kind, block in m.blocks():
        rev = _reverse(block)
        form = block.instrument or "patient"
        for k, cells in enumerate(canon[kind], start=1):
            row = {m.record_id: rid, f"{form}_complete": "2"}
            if kind != "patients":
                row |= {"redcap_repeat_instrument": form, "redcap_repeat_instance": str(k)}
            for col, value in cells.items():
                if col in rev and value:
                    fld, codes = rev[col]
                    row[fld] = codes.get(value, value)
            rows.append(row)
    return rows


def write_redcap(timelines: Iterable[Timeline], path: str | Path) -> dict[str, Path]:
    """Write the registry project (data dictionary, repeating instruments, instrument ZIPs,
    mapping) and a records import file of ``timelines`` into the folder ``path``.

    Times are written as resolved local date-times (a patient recorded in relative days is
    placed from 2000-01-01, the timeline's nominal epoch); observations as received.
    """
    from ruxtrack.sources.canonical import ExportError

    folder = Path(path)
    project = load_registry_project()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        written: dict[str, Path] = {}
        dict_rows = _dictionary_rows(project)
        written["dictionary"] = _csv(folder / DICTIONARY, list(DICTIONARY_HEADER), dict_rows)
        repeating = [[f, f.replace("_", " ").capitalize()] for f in _forms(project)[1:]]
        written["repeating"] = _csv(
            folder / "repeating_instruments.csv", ["form_name", "custom_form_label"], repeating
        )
        columns = _record_columns(project)
        rows = [r for tl in timelines for r in _timeline_rows(tl, project)]
        written["records"] = _csv(
            folder / RECORDS, columns, [[r.get(c, "") for c in columns] for r in rows]
        )
        (folder / MAPPING).write_text(
            yaml.safe_dump(project.mapping.model_dump(exclude_defaults=True), sort_keys=False),
            encoding="utf-8",
        )
        written["mapping"] = folder / MAPPING
        for form in _forms(project):
            target = folder / "instruments" / f"{form}.zip"
            target.parent.mkdir(exist_ok=True)
            body = [r for r in dict_rows if r[1] == form]
            with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
                z.writestr("instrument.csv", _csv_text(list(DICTIONARY_HEADER), body))
                z.writestr("OriginID.txt", "ruxtrack")
            written[f"instrument:{form}"] = target
    except OSError as exc:
        raise ExportError(f"cannot write the REDCap project into {folder}: {exc}") from exc
    return written


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _csv(target: Path, header: list[str], rows: list[list[str]]) -> Path:
    target.write_text(_csv_text(header, rows), encoding="utf-8")
    return target


# -- the API (PyCap) ---------------------------------------------------------------------------


def fetch_redcap(url: str, token: str, folder: str | Path) -> dict[str, Path]:
    """Download a project's data dictionary and records (raw, flat CSV) through the REDCap
    API with PyCap into ``folder``; read it then with :func:`read_redcap_source`.

    Needs the ``[redcap]`` extra (PyCap). The token is never written to disk or shown.
    """
    from ruxtrack.sources.canonical import ExportError

    try:
        from redcap.project import Project
    except ImportError as exc:
        raise ExportError(
            "the REDCap API needs the [redcap] extra: pip install 'ruxtrack[redcap]'"
        ) from exc
    target = Path(folder)
    try:
        project = Project(url, token)
        metadata = project.export_metadata(format_type="csv")
        records = project.export_records(format_type="csv", raw_or_label="raw")
    except AssertionError as exc:  # PyCap checks the URL and token format with assert
        raise ExportError(
            "REDCap API: the URL must end in /api/ and the token have 32 characters"
        ) from exc
    except Exception as exc:
        raise ExportError(f"REDCap API request to {url} failed: {type(exc).__name__}") from exc
    target.mkdir(parents=True, exist_ok=True)
    (target / DICTIONARY).write_text(str(metadata), encoding="utf-8")
    (target / RECORDS).write_text(str(records), encoding="utf-8")
    return {"dictionary": target / DICTIONARY, "records": target / RECORDS}
