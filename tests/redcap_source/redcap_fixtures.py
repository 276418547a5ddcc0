# ruff: noqa: E501  (fixture data: one dictionary row and one mapping block per line)
"""The small longitudinal REDCap project the REDCap tests edit (dictionary, records, mapping)."""

from __future__ import annotations

import csv
from pathlib import Path

DESIGNER = (
    "Variable / Field Name,Form Name,Section Header,Field Type,Field Label,"
    '"Choices, Calculations, OR Slider Labels",Field Note,'
    "Text Validation Type OR Show Slider Number,Text Validation Min,Text Validation Max,"
    "Identifier?,Branching Logic (Show field only if...),Required Field?,Custom Alignment,"
    "Question Number (surveys only),Matrix Group Name,Matrix Ranking?,Field Annotation"
)

# A site's own project: longitudinal (baseline and day 8 events), a repeating "dose" instrument,
# a checkbox, dates without times and coded sex 1/2.
LONG_DICTIONARY = [
    ["study_id", "enrolment", "", "text", "Study id", "", "", "", "", "", "y", "", "", "", "", "", "", ""],
    ["gender", "enrolment", "", "radio", "Sex", "1, Female | 2, Male", "", "", "", "", "", "", "", "", "", "", "", ""],
    ["age", "enrolment", "", "text", "Age", "", "", "integer", "18", "110", "", "", "", "", "", "", "", ""],
    ["adm_date", "enrolment", "", "text", "Admission", "", "", "date_ymd", "", "", "", "", "", "", "", "", "", ""],
    ["rux_date", "enrolment", "", "text", "Ruxolitinib start", "", "", "datetime_ymd", "", "", "", "", "", "", "", "", "", ""],
    ["comorb", "enrolment", "", "checkbox", "Comorbidities", "1, hypertension | 2, diabetes_mellitus", "", "", "", "", "", "", "", "", "", "", "", ""],
    ["visit_date", "labs", "", "text", "Visit date", "", "", "date_ymd", "", "", "", "", "", "", "", "", "", ""],
    ["ferritin", "labs", "", "text", "Ferritin (ng/mL)", "", "", "number", "0", "", "", "", "", "", "", "", "", ""],
    ["crp_mgdl", "labs", "", "text", "CRP (mg/dL)", "", "", "number_1dp", "", "", "", "", "", "", "", "", "", ""],
    ["dose_mg", "dose", "", "text", "Dose (mg)", "", "", "number", "0", "50", "", "", "", "", "", "", "", ""],
    ["dose_freq", "dose", "", "dropdown", "Frequency", "1, QD | 2, BID", "", "", "", "", "", "", "", "", "", "", "", ""],
    ["dose_start", "dose", "", "text", "From", "", "", "date_ymd", "", "", "", "", "", "", "", "", "", ""],
    ["dose_end", "dose", "", "text", "To", "", "", "date_ymd", "", "", "", "", "", "", "", "", "", ""],
]  # fmt: skip

LONG_RECORDS = [
    ["study_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance",
     "gender", "age", "adm_date", "rux_date", "comorb___1", "comorb___2", "enrolment_complete",
     "visit_date", "ferritin", "crp_mgdl", "labs_complete", "dose_mg", "dose_freq", "dose_start",
     "dose_end", "dose_complete"],
    ["101", "baseline_arm_1", "", "", "2", "64", "2020-04-01", "2020-04-05 09:30", "1", "0", "2",
     "2020-04-05", "1850", "12.4", "2", "", "", "", "", ""],
    ["101", "baseline_arm_1", "dose", "1", "", "", "", "", "", "", "", "", "", "", "", "10", "2",
     "2020-04-05", "2020-04-11", "2"],
    ["101", "baseline_arm_1", "dose", "2", "", "", "", "", "", "", "", "", "", "", "", "5", "2",
     "2020-04-12", "2020-04-19", "2"],
    ["101", "day_8_arm_1", "", "", "", "", "", "", "", "", "", "2020-04-13", "920", "4.1", "2",
     "", "", "", "", ""],
    ["102", "baseline_arm_1", "", "", "1", "71", "2020-05-02", "2020-05-03 08:00", "1", "1", "2",
     "2020-05-03", "2400", "", "2", "", "", "", "", ""],
]  # fmt: skip

LONG_MAPPING = """
record_id: study_id
patients:
  event: baseline_arm_1
  columns:
    sex: {field: gender, choices: {"1": female, "2": male}}
    age_years: {field: age}
    age_at: {value: admission}
events:
  - event: baseline_arm_1
    columns: {event: {value: admission}, time: {field: adm_date}}
  - event: baseline_arm_1
    columns: {event: {value: rux_start}, time: {field: rux_date}}
observations:
  - event: baseline_arm_1
    columns: {code: {value: ferritin}, time: {field: visit_date}, value: {field: ferritin}, unit: {value: ng/mL}}
  - event: baseline_arm_1
    columns: {code: {value: crp}, time: {field: visit_date}, value: {field: crp_mgdl}, unit: {value: mg/dL}}
  - event: day_8_arm_1
    columns: {code: {value: ferritin}, time: {field: visit_date}, value: {field: ferritin}, unit: {value: ng/mL}}
  - event: day_8_arm_1
    columns: {code: {value: crp}, time: {field: visit_date}, value: {field: crp_mgdl}, unit: {value: mg/dL}}
drugs:
  - instrument: dose
    columns:
      drug: {value: ruxolitinib}
      dose: {field: dose_mg}
      unit: {value: mg}
      frequency: {field: dose_freq, choices: {"1": QD, "2": BID}}
      start: {field: dose_start}
      end: {field: dose_end}
assessments:
  - event: baseline_arm_1
    columns: {kind: {value: comorbidity_hypertension}, time: {field: adm_date}, value: {field: comorb___1}}
"""


def write_project(folder: Path, dictionary: list[list[str]], records: list[list[str]],
                  mapping: str | None) -> Path:  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "dictionary.csv").open("w", encoding="utf-8", newline="") as fh:
        fh.write(DESIGNER + "\n")
        csv.writer(fh, lineterminator="\n").writerows(dictionary)
    with (folder / "records.csv").open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(records)
    if mapping is not None:
        (folder / "mapping.yaml").write_text(mapping, encoding="utf-8")
    return folder
