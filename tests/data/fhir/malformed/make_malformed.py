"""Generate one malformed FHIR input per defect.

Run: python tests/data/fhir/malformed/make_malformed.py

Each file is the covid-day3 Bundle (../make_covid_day3.py) with one defect, named for it;
tests/fhir/test_fhir_malformed.py states the problem each must raise. Generated, never hand-edited.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
from make_covid_day3 import build  # noqa: E402

Bundle = dict[str, Any]


def res(b: Bundle, rid: str) -> dict[str, Any]:
    return next(e["resource"] for e in b["entry"] if e["resource"].get("id") == rid)


def plt(b: Bundle) -> dict[str, Any]:
    return res(b, "plt-d3")


def _set(path: str, value: Any, rid: str = "plt-d3") -> Callable[[Bundle], None]:
    def f(b: Bundle) -> None:
        obj = res(b, rid)
        keys = path.split(".")
        for k in keys[:-1]:
            obj = obj[int(k)] if k.isdigit() else obj[k]
        obj[keys[-1]] = value

    return f


def _del(path: str, rid: str = "plt-d3") -> Callable[[Bundle], None]:
    def f(b: Bundle) -> None:
        obj = res(b, rid)
        keys = path.split(".")
        for k in keys[:-1]:
            obj = obj[int(k)] if k.isdigit() else obj[k]
        del obj[keys[-1]]

    return f


def _add(resource: dict[str, Any]) -> Callable[[Bundle], None]:
    def f(b: Bundle) -> None:
        b["entry"].append({"resource": resource})

    return f


def _nest(b: Bundle) -> None:
    node: dict[str, Any] = {"url": "https://example.org/x", "valueString": "deep"}
    for _ in range(60):
        node = {"url": "https://example.org/x", "extension": [node]}
    plt(b)["extension"] = [node]


def _no_patient(b: Bundle) -> None:
    b["entry"] = [e for e in b["entry"] if e["resource"]["resourceType"] != "Patient"]


def _nested_bundle(b: Bundle) -> None:
    b["entry"].append({"resource": {"resourceType": "Bundle", "type": "collection"}})


def _two_dosages(b: Bundle) -> None:
    r = res(b, "rux-order")
    r["dosageInstruction"].append(copy.deepcopy(r["dosageInstruction"][0]))


MUTATIONS: dict[str, Callable[[Bundle], None]] = {
    "wrong_resource_type": _set("resourceType", "Observaton"),
    "missing_subject": _del("subject"),
    "unknown_loinc": _set("code.coding.0.code", "99999-9"),
    "bad_ucum_unit": _set("valueQuantity.code", "x10^3"),
    "unit_not_ucum_system": _set("valueQuantity.system", "http://example.org/units"),
    "value_out_of_plausible_range": _set("valueQuantity.value", 45000),
    "date_out_of_window": _set("effectiveDateTime", "1850-03-03T06:00:00-03:00"),
    "partial_date": _set("effectiveDateTime", "2021-03"),
    "missing_effective_time": _del("effectiveDateTime"),
    "reference_to_missing_patient": _set("subject", {"reference": "Patient/nobody"}),
    "bad_observation_status": _set("status", "bogus"),
    "data_absent_reason_beside_value": _set("dataAbsentReason", {"text": "not measured"}),
    "bad_gender": _set("gender", "M", rid="covid-day3"),
    "null_value": _set("valueQuantity.value", None),
    "empty_array": _set("category", []),
    "empty_string": _set("status", ""),
    "string_too_long": _set(
        "extension", [{"url": "https://example.org/note", "valueString": "x" * (1024 * 1024 + 1)}]
    ),
    "nesting_bomb": _nest,
    "no_patient": _no_patient,
    "nested_bundle": _nested_bundle,
    "unmapped_resource_type": _add(
        {
            "resourceType": "AllergyIntolerance",
            "id": "a1",
            "patient": {"reference": "Patient/covid-day3"},
        }
    ),
    "unknown_dose_unit": _set("dosage.dose", {"value": 2, "unit": "TAB"}, rid="rux-d1-am"),
    "dose_above_label_maximum": _set(
        "dosage.dose",
        {"value": 30, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"},
        rid="rux-d1-am",
    ),
    "two_dosage_instructions": _two_dosages,
    "unreadable_frequency": _del("dosageInstruction.0.timing", rid="rux-order"),
    "lab_value_not_a_quantity": _set("valueString", "45"),
    "bad_request_intent": _set("intent", "bogus", rid="rux-order"),
}


def main() -> None:
    base = build()
    for name, mutate in MUTATIONS.items():
        b = copy.deepcopy(base)
        if name == "lab_value_not_a_quantity":
            del plt(b)["valueQuantity"]
        mutate(b)
        (HERE / f"{name}.json").write_text(json.dumps(b, indent=1) + "\n", encoding="utf-8")
    ok = json.dumps(base, indent=1)
    # defects of the bytes themselves
    latin1 = ok.replace("covid-day3", "covid-d\xe9y3").encode("latin-1")
    (HERE / "not_utf8.json").write_bytes(latin1)
    (HERE / "truncated_json.json").write_text(ok[: len(ok) // 2], encoding="utf-8")
    (HERE / "duplicate_json_key.json").write_text(
        ok.replace('"status": "final",', '"status": "final", "status": "final",', 1), "utf-8"
    )
    (HERE / "nan_number.json").write_text(ok.replace('"value": 45', '"value": NaN', 1), "utf-8")
    (HERE / "duplicate_ids.json").write_text(
        ok.replace('"id": "anc-d3"', '"id": "plt-d3"', 1), encoding="utf-8"
    )
    lines = [json.dumps(e["resource"]) for e in base["entry"]]
    lines[3] = lines[3][:40]
    (HERE / "ndjson_broken_line.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
