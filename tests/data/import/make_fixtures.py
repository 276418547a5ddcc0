"""Generate the malformed-import fixtures: one folder per defect, each with ``expected.json``.

Run from the repository root to refresh them (never edit a fixture by hand):

    python tests/data/import/make_fixtures.py

Each folder is a copy of a small valid dataset with one defect; ``expected.json`` lists every
problem the import must report: file, row (spreadsheet row: header = 1), field and a fragment of
the reason. The test asserts exactly these problems and zero rows in the store afterwards.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).parent

Rows = dict[str, list[dict[str, str]]]

COLUMNS = {
    "patients": [
        "patient_id",
        "sex",
        "birth_date",
        "age_years",
        "age_at",
        "blood_group",
        "comorbidities",
        "synthetic",
    ],
    "events": [
        "patient_id",
        "event",
        "occurrence",
        "time",
        "donor_type",
        "hla_match",
        "cell_source",
        "conditioning",
        "conditioning_intensity",
        "gvhd_prophylaxis",
        "provenance",
    ],
    "observations": ["patient_id", "time", "code", "value", "unit", "comparator", "provenance"],
    "drugs": [
        "patient_id",
        "drug",
        "rxnorm",
        "dose",
        "unit",
        "frequency",
        "route",
        "start",
        "end",
        "reason",
        "provenance",
    ],
    "support": ["patient_id", "mode", "start", "end", "fio2", "flow_l_min", "provenance"],
    "assessments": ["patient_id", "time", "kind", "value", "code", "provenance"],
}


def _rows(name: str, *records: tuple[str, ...]) -> list[dict[str, str]]:
    cols = COLUMNS[name]
    return [dict(zip(cols, rec + ("",) * (len(cols) - len(rec)), strict=True)) for rec in records]


BASE: Rows = {
    "patients": _rows(
        "patients",
        ("P01", "female", "1960-05-01", "", "", "A+", "hypertension=ICD10:I10", "false"),  # row 2
        ("P02", "male", "", "11", "hsct#2", "", "", "false"),  # row 3
    ),
    "events": _rows(
        "events",
        ("P01", "admission", "", "2020-04-06"),  # row 2
        ("P01", "rux_start", "", "admission+8d"),  # row 3
        ("P02", "hsct", "1", "hsct#2-65d"),  # row 4
        ("P02", "hsct", "2", "origin", "haplo_related", "5/8", "pb", "Flu 150 mg/m2; TBI 2 Gy",
         "ric", "PTCy; tacrolimus"),  # row 5
        ("P02", "rux_start", "", "hsct#2+74d"),  # row 6
    ),
    "observations": _rows(
        "observations",
        ("P01", "admission", "crp", "14.2", "mg/dL"),  # row 2
        ("P01", "rux_start", "plt", "184", "10*9/L"),  # row 3
        ("P01", "rux_start+8d", "ferritin", "610", "ng/mL"),  # row 4
        ("P02", "hsct#2+70d", "ferritin", "17509", "ng/mL"),  # row 5
        ("P01", "admission", "ddimer_ddu", "450", "ug/L"),  # row 6
    ),
    "drugs": _rows(
        "drugs",
        ("P01", "ruxolitinib", "", "5", "mg", "BID", "oral", "rux_start", "rux_start+6d",
         "start"),  # row 2
        ("P02", "ruxolitinib", "", "2.5", "mg", "BID", "", "hsct#2+74d", "", "start"),  # row 3
    ),
    "support": _rows(
        "support",
        ("P01", "hfnc", "admission", "rux_start+2d", "60", "50"),  # row 2
        ("P02", "nasal_cannula", "hsct#2+57d", "hsct#2+89d", "", "2"),  # row 3
    ),
    "assessments": _rows(
        "assessments",
        ("P01", "admission", "fever", "true"),  # row 2
        ("P02", "hsct#2+74d", "finding", "pancytopenia"),  # row 3
    ),
}  # fmt: skip


def _csv(columns: list[str], rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="raise")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


class Case:
    """A copy of BASE with edits; ``raw`` replaces a file's bytes."""

    def __init__(self) -> None:
        self.rows: Rows = copy.deepcopy(BASE)
        self.columns = copy.deepcopy(COLUMNS)
        self.raw: dict[str, bytes] = {}
        self.absent: set[str] = set()

    def set(self, file: str, row: int, column: str, value: str) -> Case:
        self.rows[file][row - 2][column] = value
        return self

    def add(self, file: str, *values: str) -> Case:
        self.rows[file].extend(_rows(file, values))
        return self

    def drop_column(self, file: str, column: str) -> Case:
        self.columns[file].remove(column)
        for r in self.rows[file]:
            del r[column]
        return self

    def rename_column(self, file: str, old: str, new: str) -> Case:
        self.columns[file] = [new if c == old else c for c in self.columns[file]]
        for r in self.rows[file]:
            r[new] = r.pop(old)
        return self

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True)
        for name in COLUMNS:
            if name in self.absent:
                continue
            path = folder / f"{name}.csv"
            if name in self.raw:
                path.write_bytes(self.raw[name])
            else:
                path.write_text(_csv(self.columns[name], self.rows[name]), encoding="utf-8")


def _raw(file: str, data: bytes) -> Callable[[Case], Case]:
    def edit(c: Case) -> Case:
        c.raw[file] = data
        return c

    return edit


def _absent(file: str) -> Callable[[Case], Case]:
    def edit(c: Case) -> Case:
        c.absent.add(file)
        return c

    return edit


def _extra_file(c: Case) -> Case:
    c.raw["labs"] = b"patient_id,time\n"
    return c


# (name, edit, expected problems: (file, row, field, reason fragment))
Expected = list[tuple[str, int | None, str | None, str]]
CASES: list[tuple[str, Callable[[Case], Case], Expected]] = [
    ("missing_column", lambda c: c.drop_column("patients", "sex"),
     [("patients.csv", 1, "sex", "required column is missing")]),
    ("unknown_column", lambda c: c.rename_column("observations", "provenance", "note"),
     [("observations.csv", 1, "note", "unknown column")]),
    ("misspelt_column", lambda c: c.rename_column("observations", "value", "valeu"),
     [("observations.csv", 1, "valeu", 'did you mean "value"'),
      ("observations.csv", 1, "value", "required column is missing")]),
    ("duplicate_column", lambda c: c.rename_column("assessments", "provenance", "code"),
     [("assessments.csv", 1, "code", "column appears twice")]),
    ("bad_date", lambda c: c.set("observations", 4, "time", "2020-13-45"),
     [("observations.csv", 4, "time", "not a valid ISO 8601")]),
    ("utc_offset", lambda c: c.set("events", 2, "time", "2020-04-06T10:00+02:00"),
     [("events.csv", 2, "time", "UTC offset")]),
    ("unknown_code", lambda c: c.set("observations", 2, "code", "ferritine"),
     [("observations.csv", 2, "code", "neither a lab catalogue code nor a LOINC code")]),
    ("unknown_unit", lambda c: c.set("observations", 2, "unit", "bananas"),
     [("observations.csv", 2, "unit", "")]),
    ("unit_not_accepted", lambda c: c.set("observations", 2, "unit", "mmol/L"),
     [("observations.csv", 2, "unit", "")]),
    ("implausible_platelets", lambda c: c.set("observations", 3, "unit", "/uL"),
     [("observations.csv", 3, "value", "10*3/uL")]),
    ("feu_where_ddu_expected", lambda c: c.set("observations", 6, "unit", "ug/L{FEU}"),
     [("observations.csv", 6, "unit", "FEU")]),
    ("duplicate_patient_id", lambda c: c.set("patients", 3, "patient_id", "P01"),
     [("patients.csv", 3, "patient_id", "duplicate patient id (first in row 2)")]
     + [(f, r, "patient_id", "unknown patient") for f, r in (
         ("events.csv", 4), ("events.csv", 5), ("events.csv", 6), ("observations.csv", 5),
         ("drugs.csv", 3), ("support.csv", 3), ("assessments.csv", 3))]),
    ("duplicate_event_key", lambda c: c.add("events", "P01", "admission", "1", "2020-04-07"),
     [("events.csv", 7, "event", "duplicate event admission for patient P01 (first in row 2)")]),
    ("unknown_patient_in_events", lambda c: c.set("events", 3, "patient_id", "P99"),
     [("events.csv", 3, "patient_id", "unknown patient"),
      ("drugs.csv", 2, "start", "patient P01 has no event rux_start"),
      ("observations.csv", 3, "time", "patient P01 has no event rux_start"),
      ("observations.csv", 4, "time", "patient P01 has no event rux_start"),
      ("support.csv", 2, "end", "patient P01 has no event rux_start")]),
    ("unknown_patient_in_observations", lambda c: c.set("observations", 5, "patient_id", "P03"),
     [("observations.csv", 5, "patient_id", "unknown patient: not in patients file")]),
    ("anchor_to_missing_event", lambda c: c.set("events", 3, "time", "icu_admission+2d"),
     [("events.csv", 3, "time", "rux_start is relative to icu_admission, which this patient "
                                "does not have")]),
    ("anchor_cycle", lambda c: c.set("events", 2, "time", "rux_start-8d"),
     [("events.csv", 2, "time", "anchor cycle: admission -> rux_start -> admission")]),
    ("two_origins", lambda c: c.set("events", 4, "time", "origin"),
     [("events.csv", 5, "time", "more than one event is the origin")]),
    ("origin_mixed_with_absolute_date", lambda c: c.set("events", 6, "time", "2019-08-14"),
     [("events.csv", 5, "time", "cannot also have absolute dates")]),
    ("absolute_date_in_relative_patient",
     lambda c: c.set("observations", 5, "time", "2019-08-10"),
     [("observations.csv", 5, "time", "absolute dates cannot be mixed in")]),
    ("origin_in_absolute_patient", lambda c: c.set("assessments", 2, "time", "origin"),
     [("assessments.csv", 2, "time", "has no event at origin")]),
    ("negative_dose", lambda c: c.set("drugs", 2, "dose", "-5"),
     [("drugs.csv", 2, "dose", "greater than or equal to 0")]),
    ("unknown_frequency", lambda c: c.set("drugs", 2, "frequency", "twice daily"),
     [("drugs.csv", 2, "frequency", "unknown frequency")]),
    ("unknown_dose_unit", lambda c: c.set("drugs", 3, "unit", "mg/day"),
     [("drugs.csv", 3, "unit", "unknown dose unit")]),
    ("unknown_route", lambda c: c.set("drugs", 2, "route", "by mouth"),
     [("drugs.csv", 2, "route", "unknown route")]),
    ("capitalised_drug_name", lambda c: c.set("drugs", 2, "drug", "Ruxolitinib"),
     [("drugs.csv", 2, "drug", "lower-case name")]),
    ("drug_end_before_start", lambda c: c.set("drugs", 2, "end", "admission+2d"),
     [("drugs.csv", 2, "end", "is before start")]),
    ("support_end_before_start", lambda c: c.set("support", 3, "end", "hsct#2+50d"),
     [("support.csv", 3, "end", "is before start")]),
    ("fio2_out_of_range", lambda c: c.set("support", 2, "fio2", "150"),
     [("support.csv", 2, "fio2", "")]),
    ("fio2_between_fraction_and_percent", lambda c: c.set("support", 2, "fio2", "8"),
     [("support.csv", 2, "fio2", "")]),
    ("unknown_support_mode", lambda c: c.set("support", 2, "mode", "cpap"),
     [("support.csv", 2, "mode", "unknown support mode")]),
    ("empty_value", lambda c: c.set("observations", 4, "value", ""),
     [("observations.csv", 4, "value", "required value is missing")]),
    ("non_numeric_value", lambda c: c.set("observations", 4, "value", "high"),
     [("observations.csv", 4, "value", "qualitative findings go to the assessments file")]),
    ("decimal_comma", lambda c: c.set("observations", 2, "value", "14,2"),
     [("observations.csv", 2, "value", "use a decimal point")]),
    ("bad_comparator", lambda c: c.set("observations", 2, "comparator", "~"),
     [("observations.csv", 2, "comparator", "unknown comparator")]),
    ("comparator_clash", lambda c: c.set("observations", 2, "value", "<14.2").set(
        "observations", 2, "comparator", ">"),
     [("observations.csv", 2, "comparator", "differs from the comparator written in the value")]),
    ("bad_sex", lambda c: c.set("patients", 2, "sex", "woman"),
     [("patients.csv", 2, "sex", "unknown sex")]),
    ("both_birth_date_and_age", lambda c: c.set("patients", 2, "age_years", "60"),
     [("patients.csv", 2, "age_years", "give birth_date or age_years, not both")]),
    ("age_out_of_range", lambda c: c.set("patients", 3, "age_years", "150"),
     [("patients.csv", 3, "age_years", "less than or equal to 130")]),
    ("birth_date_in_relative_patient",
     lambda c: c.set("patients", 3, "age_years", "").set("patients", 3, "age_at", "").set(
         "patients", 3, "birth_date", "2008-01-01"),
     [("patients.csv", 3, "birth_date", "a birth date cannot be placed")]),
    ("age_at_unknown_event", lambda c: c.set("patients", 3, "age_at", "admission"),
     [("patients.csv", 3, "age_at", "has no event admission")]),
    ("bad_patient_id", lambda c: c.set("patients", 2, "patient_id", "P 01"),
     [("patients.csv", 2, "patient_id", "patient id must be"),
      ("events.csv", 2, "patient_id", "unknown patient"),
      ("events.csv", 3, "patient_id", "unknown patient"),
      ("observations.csv", 2, "patient_id", "unknown patient"),
      ("observations.csv", 3, "patient_id", "unknown patient"),
      ("observations.csv", 4, "patient_id", "unknown patient"),
      ("observations.csv", 6, "patient_id", "unknown patient"),
      ("drugs.csv", 2, "patient_id", "unknown patient"),
      ("support.csv", 2, "patient_id", "unknown patient"),
      ("assessments.csv", 2, "patient_id", "unknown patient")]),
    ("malformed_comorbidity", lambda c: c.set("patients", 2, "comorbidities", "Hypertension=I10"),
     [("patients.csv", 2, "comorbidities", "is not name or name=SYSTEM:CODE")]),
    ("bad_occurrence", lambda c: c.set("events", 4, "occurrence", "first"),
     [("events.csv", 4, "occurrence", "occurrence must be a whole number")]),
    ("bad_hla_match", lambda c: c.set("events", 5, "hla_match", "5 of 8"),
     [("events.csv", 5, "hla_match", "should match pattern")]),
    ("transplant_details_on_other_event", lambda c: c.set("events", 2, "cell_source", "pb"),
     [("events.csv", 2, "cell_source", "transplant details belong on hsct events only")]),
    ("bad_event_name", lambda c: c.set("events", 6, "event", "Rux Start"),
     [("events.csv", 6, "event", "event name must be lower-case")]),
    ("empty_assessment_value", lambda c: c.set("assessments", 3, "value", ""),
     [("assessments.csv", 3, "value", "required value is missing")]),
    ("wrong_cell_count", _raw("assessments", b"patient_id,time,kind,value,code,provenance\n"
                             b"P01,admission,fever,true,,\nP02,hsct#2+74d,finding,a,b,c,d\n"),
     [("assessments.csv", 3, None, "row has 7 cells but the header has 6")]),
    ("empty_required_file", _raw("patients", b""),
     [("patients.csv", None, None, "file is empty")]),
    ("header_only_patients", _raw("patients", b"patient_id,sex\n"),
     [("patients.csv", None, None, "no patients: the file has no data rows"),
      ("events.csv", 2, "patient_id", "unknown patient"),
      ("events.csv", 3, "patient_id", "unknown patient"),
      ("events.csv", 4, "patient_id", "unknown patient"),
      ("events.csv", 5, "patient_id", "unknown patient"),
      ("events.csv", 6, "patient_id", "unknown patient"),
      ("observations.csv", 2, "patient_id", "unknown patient"),
      ("observations.csv", 3, "patient_id", "unknown patient"),
      ("observations.csv", 4, "patient_id", "unknown patient"),
      ("observations.csv", 5, "patient_id", "unknown patient"),
      ("observations.csv", 6, "patient_id", "unknown patient"),
      ("drugs.csv", 2, "patient_id", "unknown patient"),
      ("drugs.csv", 3, "patient_id", "unknown patient"),
      ("support.csv", 2, "patient_id", "unknown patient"),
      ("support.csv", 3, "patient_id", "unknown patient"),
      ("assessments.csv", 2, "patient_id", "unknown patient"),
      ("assessments.csv", 3, "patient_id", "unknown patient")]),
    ("missing_patients_file", _absent("patients"),
     [("patients.csv", None, None, "required file is missing")]),
    ("non_utf8_file", _raw("assessments", "patient_id,time,kind,value,code,provenance\n"
                           "P01,admission,fever,true,,\nP02,hsct#2+74d,finding,pancytopénie,,\n"
                           .encode("latin-1")),
     [("assessments.csv", 3, None, "not UTF-8 text")]),
    ("unknown_file", _extra_file,
     [("labs.csv", None, None, "unknown file")]),
]  # fmt: skip


def main() -> None:
    for old in HERE.iterdir():
        if old.is_dir() and not old.name.startswith(("_", ".")):
            shutil.rmtree(old)
    for name, edit, expected in CASES:
        folder = HERE / name
        case = edit(Case())
        case.write(folder)
        if "labs" in case.raw:
            (folder / "labs.csv").write_bytes(case.raw["labs"])
        spec = [
            {"file": f, "row": r, "field": fld, "reason": reason} for f, r, fld, reason in expected
        ]
        (folder / "expected.json").write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
    print(f"{len(CASES)} fixtures written to {HERE}")


if __name__ == "__main__":
    main()
