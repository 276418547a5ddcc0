"""REDCap data dictionaries and mapping files: typed shapes and the dictionary reader."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ruxtrack.errors import ImportProblem
from ruxtrack.knowledge import SourceRef
from ruxtrack.sources._load import _read_csv
from ruxtrack.sources._problems import Problems
from ruxtrack.sources._spec import FILES

__all__ = [
    "API_HEADER",
    "DICTIONARY_HEADER",
    "Block",
    "ColumnSource",
    "FieldDef",
    "RedcapMapping",
    "RegistryField",
    "RegistryProject",
    "check_value",
    "read_dictionary",
]

_F = ConfigDict(frozen=True, extra="forbid")

#: The data dictionary CSV header as REDCap's Designer downloads it.
DICTIONARY_HEADER: tuple[str, ...] = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)

#: The same columns as the API's metadata export names them.
API_HEADER: tuple[str, ...] = (
    "field_name",
    "form_name",
    "section_header",
    "field_type",
    "field_label",
    "select_choices_or_calculations",
    "field_note",
    "text_validation_type_or_show_slider_number",
    "text_validation_min",
    "text_validation_max",
    "identifier",
    "branching_logic",
    "required_field",
    "custom_alignment",
    "question_number",
    "matrix_group_name",
    "matrix_ranking",
    "field_annotation",
)

_FIELD_TYPES = {
    "text",
    "notes",
    "dropdown",
    "radio",
    "checkbox",
    "yesno",
    "truefalse",
    "calc",
    "slider",
    "file",
    "descriptive",
    "sql",
}


@dataclass(frozen=True)
class FieldDef:
    """One field of a data dictionary."""

    name: str
    form: str
    type: str
    validation: str = ""
    min: str = ""
    max: str = ""
    choices: dict[str, str] = field(default_factory=dict)
    row: int = 0


def _choices(text: str) -> dict[str, str] | None:
    """``1, Female | 2, Male`` -> {"1": "Female", "2": "Male"}; None when malformed."""
    out: dict[str, str] = {}
    for part in text.split("|"):
        code, sep, label = part.strip().partition(",")
        if not sep or not code.strip():
            return None
        out[code.strip()] = label.strip()
    return out


def read_dictionary(path: Path, problems: Problems) -> dict[str, FieldDef]:
    """A REDCap data dictionary (Designer CSV or API metadata CSV) by field name."""
    loaded = _read_csv(path, problems)
    if loaded is None:
        return {}
    header, records, rows = loaded
    if tuple(header[:5]) == DICTIONARY_HEADER[:5]:
        names = DICTIONARY_HEADER
    elif tuple(header[:5]) == API_HEADER[:5]:
        names = API_HEADER
    else:
        problems.add(
            path.name,
            1,
            None,
            ",".join(header[:3]),
            "not a REDCap data dictionary: the header must start with "
            f'"{DICTIONARY_HEADER[0]}" (Designer) or "{API_HEADER[0]}" (API)',
        )
        return {}
    col = {n: header.index(n) for n in names if n in header}
    out: dict[str, FieldDef] = {}
    for rec, row in zip(records, rows, strict=True):

        def get(i: int, rec: list[str] = rec) -> str:
            j = col.get(names[i])
            return rec[j] if j is not None else ""

        name, ftype = get(0), get(3)
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            problems.add(
                path.name,
                row,
                names[0],
                name,
                "not a REDCap field name (lower-case letters, digits, underscores)",
            )
            continue
        if name in out:
            problems.add(path.name, row, names[0], name, "field appears twice in the dictionary")
            continue
        if ftype not in _FIELD_TYPES:
            problems.add(
                path.name,
                row,
                names[3],
                ftype,
                "unknown field type; expected one of " + ", ".join(sorted(_FIELD_TYPES)),
            )
            continue
        choices: dict[str, str] = {}
        if ftype in ("dropdown", "radio", "checkbox"):
            parsed = _choices(get(5))
            if parsed is None:
                problems.add(
                    path.name,
                    row,
                    names[5],
                    get(5),
                    "choices must read 'code, label | code, label'",
                )
                continue
            choices = parsed
        out[name] = FieldDef(name, get(1), ftype, get(7), get(8), get(9), choices, row)
    return out


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")
_DATETIME_S = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
_INTEGER = re.compile(r"^-?\d+$")
_NUMBER = re.compile(r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_TIME = re.compile(r"^\d{2}:\d{2}$")


def _date_ok(value: str, kind: str) -> bool:
    try:
        if kind == "date":
            date.fromisoformat(value)
        else:
            datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def check_value(f: FieldDef, value: str, column: str) -> str | None:
    """Why ``value`` breaks the dictionary's rules for field ``f``, or None."""
    if f.type in ("dropdown", "radio"):
        if value not in f.choices:
            return "not one of the field's choices: " + ", ".join(f.choices)
        return None
    if f.type == "checkbox":
        return None if value in ("0", "1") else "a checkbox column holds 0 or 1"
    if f.type in ("yesno", "truefalse"):
        return None if value in ("0", "1") else f"a {f.type} field holds 0 or 1"
    if f.type in ("calc", "slider"):
        return None if _NUMBER.match(value) else "not a number"
    v = f.validation
    if not v:
        return None
    kind = (
        "datetime_seconds"
        if v.startswith("datetime_seconds")
        else ("datetime" if v.startswith("datetime") else ("date" if v.startswith("date") else v))
    )
    if kind == "date" and not (_DATE.match(value) and _date_ok(value, "date")):
        return f"not a date (YYYY-MM-DD) as {v} requires"
    if kind == "datetime" and not (_DATETIME.match(value) and _date_ok(value, "datetime")):
        return f"not a date-time (YYYY-MM-DD HH:MM) as {v} requires"
    if kind == "datetime_seconds" and not (_DATETIME_S.match(value) and _date_ok(value, "dt")):
        return f"not a date-time with seconds (YYYY-MM-DD HH:MM:SS) as {v} requires"
    if v == "integer" and not _INTEGER.match(value):
        return "not an integer"
    if v.startswith("number"):
        text = value.replace(",", ".") if "comma" in v else value
        if not _NUMBER.match(text):
            return "not a number" + (" (use a decimal point)" if "," in value else "")
        m = re.match(r"number_(\d)dp", v)
        if m and not re.fullmatch(rf"-?\d+\.\d{{{m.group(1)}}}", text):
            return f"{v} needs exactly {m.group(1)} decimal place(s)"
    if v == "time" and not _TIME.match(value):
        return "not a time (HH:MM)"
    return _range(f, value, kind)


def _range(f: FieldDef, value: str, kind: str) -> str | None:
    numeric = kind in ("integer",) or kind.startswith("number")
    for bound, below in ((f.min, True), (f.max, False)):
        if not bound:
            continue
        try:
            a, b = (float(value.replace(",", ".")), float(bound)) if numeric else (value, bound)
        except ValueError:
            continue
        if (below and a < b) or (not below and a > b):  # type: ignore[operator]
            return f"{'below the minimum' if below else 'above the maximum'} {bound}"
    return None


# -- mapping files ---------------------------------------------------------------------------


class ColumnSource(BaseModel):
    """Where a canonical column's value comes from: a REDCap field or a constant."""

    model_config = _F
    field: str | None = None
    value: str | None = None
    choices: dict[str, str] | None = Field(
        default=None, description="REDCap raw code -> ruxtrack value"
    )

    @model_validator(mode="after")
    def _one(self) -> ColumnSource:
        if (self.field is None) == (self.value is None):
            raise ValueError("give field or value")
        return self


class Block(BaseModel):
    """Canonical rows of one kind read from the records: one per record row that matches the
    instrument (repeating) and event and has a value in at least one mapped field."""

    model_config = _F
    instrument: str | None = None
    repeating: bool | None = Field(
        default=None, description="default: true when an instrument is named"
    )
    event: str | None = Field(default=None, description="unique event name (longitudinal)")
    columns: dict[str, ColumnSource]


Kind = Literal["patients", "events", "observations", "drugs", "support", "assessments"]


class RedcapMapping(BaseModel):
    """A mapping file: REDCap fields -> timeline columns (docs/redcap.md)."""

    model_config = _F
    record_id: str = "record_id"
    patients: Block = Block(columns={})
    events: tuple[Block, ...] = ()
    observations: tuple[Block, ...] = ()
    drugs: tuple[Block, ...] = ()
    support: tuple[Block, ...] = ()
    assessments: tuple[Block, ...] = ()

    @model_validator(mode="after")
    def _columns(self) -> RedcapMapping:
        for kind, block in self.blocks():
            known = set(FILES[kind].column_names) - {"patient_id"}
            bad = sorted(set(block.columns) - known)
            if bad:
                raise ValueError(
                    f"{kind}: unknown column(s) {', '.join(bad)}; "
                    f"expected {', '.join(sorted(known))}"
                )
        return self

    def blocks(self) -> list[tuple[Kind, Block]]:
        out: list[tuple[Kind, Block]] = [("patients", self.patients)]
        for kind in ("events", "observations", "drugs", "support", "assessments"):
            out += [(kind, b) for b in getattr(self, kind)]
        return out

    def fields(self) -> list[tuple[str, str]]:
        """(mapping path, REDCap field) of every field the mapping reads."""
        out = [("record_id", self.record_id)]
        for kind, b in self.blocks():
            out += [(f"{kind}.{col}", src.field) for col, src in b.columns.items() if src.field]
        return out


class RegistryField(BaseModel):
    """One field of the shipped registry project."""

    model_config = _F
    field: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    form: str
    type: str
    label: str
    validation: str | None = None
    min: str | None = None
    max: str | None = None
    required: bool = False
    choices: tuple[dict[str, str], ...] = ()
    choices_from: Literal["lab_catalogue"] | None = None


class RegistryProject(BaseModel):
    """knowledge/redcap/registry.yaml: the registry's dictionary and its mapping."""

    model_config = _F
    schema_version: int
    source: SourceRef
    dictionary: tuple[RegistryField, ...]
    mapping: RedcapMapping


def mapping_problem(file: str, exc_text: str) -> ImportProblem:
    return ImportProblem(file, None, None, None, f"not a valid mapping file: {exc_text}")
