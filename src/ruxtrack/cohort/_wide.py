"""Wide spreadsheets: one row per patient, a column per marker per time point.

Small studies keep their data this way (``ferritin_start``, ``ferritin_d8``, ...). The study's
``wide`` block maps columns to features: marker cells follow ``pattern`` (default
``{marker}_{time_point}``), any other feature is looked up under its own name or under the column
``columns`` names for it. A derived variable given as a column is taken as recorded; one whose
inputs are absent stays missing (and the report says so through the n of each cell).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd

from ruxtrack.cohort._features import (
    FeatureTable,
    _to_pandas,
    apply_derived,
    base_feature_types,
    finish_features,
)
from ruxtrack.cohort._study import Study
from ruxtrack.errors import AnalysisError

__all__ = ["is_spreadsheet", "read_wide"]

_SPREADSHEET = (".csv", ".xlsx", ".xlsm")
_TRUE = {"true", "yes", "1", "y", "si", "sí"}
_FALSE = {"false", "no", "0", "n"}


def is_spreadsheet(path: str | Path) -> bool:
    """True for a ``.csv``/``.xlsx`` file (a folder is canonical data, not a spreadsheet)."""
    p = Path(str(path))
    return p.is_file() and p.suffix.lower() in _SPREADSHEET


def _read_sheet(path: Path, study: Study) -> pd.DataFrame:
    try:
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=True)
        return pd.read_excel(path, sheet_name=study.wide.sheet, dtype=str, engine="openpyxl")
    except (OSError, ValueError) as exc:
        raise AnalysisError(f"{path}: cannot read the spreadsheet: {exc}") from exc


def _as_bool(v: object) -> bool | None:
    if v is None or (isinstance(v, float) and v != v) or v is pd.NA:
        return None
    s = str(v).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ValueError(f"not a yes/no value: {v!r}")


def _rows(mask: Any) -> str:
    """Spreadsheet row numbers of a mask over a sheet read with a header row (header = row 1)."""
    rows = [int(i) + 2 for i in np.flatnonzero(np.asarray(mask))]
    shown = ", ".join(str(r) for r in rows[:5]) + (
        f" (and {len(rows) - 5} more)" if len(rows) > 5 else ""
    )
    return f"row{'s' if len(rows) > 1 else ''} {shown}"


def wide_frame(sheet: pd.DataFrame, study: Study, origin: str) -> pd.DataFrame:
    """Map a wide sheet to the base feature columns (typed; absent features missing)."""
    sheet = sheet.rename(columns=lambda c: str(c).strip())
    types = base_feature_types(study)
    mapping: dict[str, str] = {"patient_id": study.wide.patient_id}
    for m in study.markers:
        for tp in study.time_points:
            mapping[f"{m.code}__{tp.name}"] = study.wide.pattern.format(
                marker=m.code, time_point=tp.name
            )
    mapping.update(study.wide.columns)
    if mapping["patient_id"] not in sheet.columns:
        raise AnalysisError(f"{origin}: no patient id column {mapping['patient_id']!r}")
    out = pd.DataFrame(index=sheet.index)
    derived = {d.name for d in study.derived}
    wanted = dict(types)
    for name in derived | {"group"}:
        col = mapping.get(name, name)
        if col in sheet.columns:
            wanted.setdefault(name, "string")
    for name, typ in wanted.items():
        col = mapping.get(name, name)
        raw = (
            sheet[col]
            if col in sheet.columns
            else pd.Series([None] * len(sheet), index=sheet.index)
        )
        if typ == "float64":
            blank = raw.isna() | (raw.astype("string").str.strip() == "")
            values = pd.to_numeric(raw.where(~blank), errors="coerce")
            bad = ~blank & values.isna()
            if bad.any():
                raise AnalysisError(
                    f"{origin}: {_rows(bad)}, column {col!r} ({name}): "
                    f"{raw[bad].iloc[0]!r} is not a number"
                )
            out[name] = values.astype("float64")
        elif typ == "boolean":
            parsed: list[bool | None] = []
            for i, v in zip(raw.index, raw, strict=True):
                try:
                    parsed.append(_as_bool(v))
                except ValueError as exc:
                    raise AnalysisError(
                        f"{origin}: {_rows(raw.index == i)}, column {col!r} ({name}): {exc}"
                    ) from exc
            out[name] = pd.Series(parsed, index=raw.index, dtype="boolean")
        else:
            out[name] = raw.astype("string").str.strip()
    missing_id = out["patient_id"].isna() | (out["patient_id"] == "")
    if missing_id.any():
        raise AnalysisError(f"{origin}: {_rows(missing_id)}: no patient id")
    dup = out["patient_id"].duplicated(keep=False)
    if dup.any():
        first = out.loc[dup, "patient_id"].iloc[0]
        raise AnalysisError(
            f"{origin}: {_rows(out['patient_id'] == first)}: patient {first} appears more than once"
        )
    if "has_index" in out and out["has_index"].isna().all():
        out["has_index"] = True  # a row in a study sheet is a treated patient
    # Derived variables given as columns are typed by what the study computes for them.
    for d in study.derived:
        if d.name in out.columns and d.kind in (
            "condition",
            "marker_altered",
            "marker_fall",
            "marker_response",
        ):
            out[d.name] = out[d.name].map(_as_bool).astype("boolean")
        elif d.name in out.columns and d.kind in ("days_between", "relative_change", "ratio"):
            out[d.name] = pd.to_numeric(out[d.name], errors="raise").astype("float64")
    return out.reset_index(drop=True)


def read_wide(path: Path, study: Study) -> FeatureTable:
    """Read a wide spreadsheet into the feature table (derived variables and groups applied).

    Raises
    ------
    AnalysisError
        When the sheet cannot be read, lacks the patient id, repeats a patient or holds a value
        of the wrong kind (the message names the column).
    """
    base = wide_frame(_read_sheet(path, study), study, str(path))
    con = ibis.duckdb.connect()
    tbl = con.create_table("rx_wide", base, overwrite=True)
    expr = apply_derived(tbl, study).order_by("patient_id")
    return finish_features(_to_pandas(expr), study)
