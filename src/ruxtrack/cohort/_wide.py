"""Wide spreadsheets: one row per patient, a column per marker per time point.

Small studies keep their data this way (``ferritin_start``, ``ferritin_d8``, ...). The study's
``wide`` block maps columns to features: marker cells follow ``pattern`` (default
``{marker}_{time_point}``), any other feature is looked up under its own name or under the column
``columns`` names for it. A derived variable given as a column is taken as recorded; one whose
inputs are absent stays missing (and the report says so through the n of each cell).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import ibis
import pandas as pd

from ruxtrack.cohort._features import (
    FeatureTable,
    _to_pandas,
    apply_derived,
    base_feature_types,
    finish_features,
)
from ruxtrack.cohort._study import Study
from ruxtrack.errors import RuxtrackError
from ruxtrack.sources.wide import SPREADSHEET_SUFFIXES, WideColumn, read_wide_sheet
from ruxtrack.units import load_catalogue

__all__ = ["is_spreadsheet", "read_wide"]


def is_spreadsheet(path: str | Path) -> bool:
    """True for a ``.csv``/``.xlsx`` path (read by the wide reader, which refuses what is not
    a readable file); a folder is canonical data."""
    p = Path(str(path))
    return p.suffix.lower() in SPREADSHEET_SUFFIXES and not p.is_dir()


#: Plausible ranges of features that are not lab markers (days since an event, grades, ...).
_DAYS = (-36525.0, 36525.0)
_ANY = (-1e9, 1e9)


def _number_range(study: Study, feature: str) -> tuple[float | None, float | None, str]:
    if feature == "age":
        return 0.0, 130.0, "age in years"
    if feature.startswith(("day_", "cday_")):
        return *_DAYS, "days"
    if feature.startswith("fio2__"):
        return 21.0, 100.0, "FiO2 (%)"
    if feature in {wg.name for wg in study.extract.worst_grade}:
        return 0.0, 5.0, "a grade"
    code, sep, _ = feature.partition("__")
    if sep and code in {m.code for m in study.markers}:
        try:
            entry = load_catalogue().get(code)
        except RuxtrackError:
            return *_ANY, code
        return entry.plausible.low, entry.plausible.high, f"{code} ({entry.canonical_unit})"
    return *_ANY, ""


def wide_columns(study: Study, names: Sequence[str] | None = None) -> list[WideColumn]:
    """The columns the study reads from a wide sheet, each with its kind and range."""
    types = base_feature_types(study)
    mapping: dict[str, str] = {}
    for m in study.markers:
        for tp in study.time_points:
            mapping[f"{m.code}__{tp.name}"] = study.wide.pattern.format(
                marker=m.code, time_point=tp.name
            )
    mapping.update(study.wide.columns)
    out: list[WideColumn] = []
    for name, typ in types.items():
        if name == "patient_id":
            continue
        col = mapping.get(name, name)
        if typ == "float64":
            lo, hi, what = _number_range(study, name)
            out.append(WideColumn(name, col, "number", lo, hi, what=what))
        elif typ == "boolean":
            out.append(WideColumn(name, col, "bool"))
        else:
            out.append(WideColumn(name, col, "text"))
    for d in study.derived:
        col = mapping.get(d.name, d.name)
        if d.kind in ("condition", "marker_altered", "marker_fall", "marker_response"):
            out.append(WideColumn(d.name, col, "bool"))
        elif d.kind == "days_between":
            out.append(WideColumn(d.name, col, "number", *_DAYS, what="days"))
        elif d.kind == "relative_change":
            out.append(WideColumn(d.name, col, "number", -1e6, 1e6))
        elif d.kind == "ratio":
            out.append(WideColumn(d.name, col, "number", 0.0, 1e6))
        else:
            out.append(WideColumn(d.name, col, "text"))
    if "group" not in types:
        levels = () if study.groups is None else tuple(lv.value for lv in study.groups.levels)
        out.append(WideColumn("group", mapping.get("group", "group"), "text", levels=levels))
    elif study.groups is not None:
        levels = tuple(lv.value for lv in study.groups.levels)
        out = [
            WideColumn(c.feature, c.column, "text", levels=levels) if c.feature == "group" else c
            for c in out
        ]
    return out


def wide_frame(path: Path, study: Study) -> pd.DataFrame:
    """Read a wide sheet into the base feature columns (typed; absent features missing).

    Raises :class:`ImportValidationError` listing every problem (file, row, column, value).
    """
    columns = wide_columns(study)
    sheet = read_wide_sheet(path, columns, id_column=study.wide.patient_id, sheet=study.wide.sheet)
    out = pd.DataFrame({"patient_id": pd.Series(sheet.patient_ids, dtype="string")})
    present = {c.feature for c in columns}
    dtype = {"number": "float64", "bool": "boolean", "text": "string"}
    for c in columns:
        out[c.feature] = pd.Series(sheet.values[c.feature], dtype=dtype[c.kind])
    if "has_index" in present and out["has_index"].isna().all():
        out["has_index"] = True  # a row in a study sheet is a treated patient
    derived = {d.name for d in study.derived}
    for d in derived:
        if out[d].isna().all():
            out = out.drop(columns=d)  # not given: computed from its inputs
    if "group" in out and out["group"].isna().all() and "group" not in base_feature_types(study):
        out = out.drop(columns="group")
    return out


def read_wide(path: Path, study: Study) -> FeatureTable:
    """Read a wide spreadsheet into the feature table (derived variables and groups applied).

    Raises
    ------
    ImportValidationError
        Listing every problem: a sheet that cannot be read, a row cut short, a repeated or
        misspelt column, a missing or repeated patient id, a value of the wrong kind or
        outside its plausible range, a group level the study does not declare.
    """
    base = wide_frame(path, study)
    con = ibis.duckdb.connect()
    tbl = con.create_table("rx_wide", base, overwrite=True)
    expr = apply_derived(tbl, study).order_by("patient_id")
    return finish_features(_to_pandas(expr), study)
