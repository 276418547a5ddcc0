"""A set of decisions covering every action and the awkward cases, for the face snapshots.

Refresh the golden files after an intended change with:

    RUXTRACK_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/outputs/test_decision_faces.py -q
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ruxtrack.protocol import Decision, adhoc_inputs, decide_inputs, load_regimen

# name -> (regimen, adhoc_inputs keyword arguments)
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "sarmiento_reduce": (
        "sarmiento-2021-covid",
        {"day": 3, "platelets": "85000/uL", "anc": 2.0, "crcl": 80, "invasive_ventilation": False},
    ),
    "sarmiento_before_course": (
        "sarmiento-2021-covid",
        {"day": -2, "platelets": 150, "anc": 3, "crcl": 90, "on_date": date(2020, 5, 1)},
    ),
    "sarmiento_day_minus_1": (
        "sarmiento-2021-covid",
        {"day": -1, "platelets": 150, "anc": 3, "crcl": 90},
    ),
    "sarmiento_complete": ("sarmiento-2021-covid", {"day": 16}),
    "sarmiento_off_day": (
        "sarmiento-2021-covid",
        {"day": 2, "platelets": 150, "anc": 3, "crcl": 20, "invasive_ventilation": False},
    ),
    "sarmiento_missing_labs": ("sarmiento-2021-covid", {"day": 3}),
    "us_agvhd_hold": (
        "jakafi-us-agvhd",
        {
            "day": 10,
            "current_dose": "10 mg BID",
            "platelets": 40,
            "anc": 0.8,
            "bilirubin": 1.0,
            "bilirubin_uln": 1.2,
            "crcl": 90,
            "age": 40,
        },
    ),
    "us_agvhd_start": (
        "jakafi-us-agvhd",
        {
            "day": 1,
            "age": 40,
            "platelets": 150,
            "anc": 3,
            "bilirubin": 0.8,
            "bilirubin_uln": 1.2,
            "crcl": 90,
        },
    ),
    "us_cgvhd_fluconazole": (
        "jakafi-us-cgvhd",
        {
            "day": 20,
            "current_dose": "10 mg BID",
            "platelets": 150,
            "anc": 3,
            "bilirubin": 0.8,
            "bilirubin_uln": 1.2,
            "crcl": 90,
            "age": 50,
            "drugs": ["fluconazole:400mg/day"],
        },
    ),
    "eu_agvhd_child_bsa": (
        "jakavi-eu-agvhd",
        {
            "day": 1,
            "age": 4,
            "weight": 16,
            "height": 100,
            "platelets": 150,
            "anc": 3,
            "bilirubin": 0.5,
            "bilirubin_uln": 1.0,
            "crcl": 100,
        },
    ),
}


def case_decision(name: str) -> Decision:
    regimen_id, kwargs = CASES[name]
    reg = load_regimen(regimen_id)
    return decide_inputs(reg, adhoc_inputs(reg, **kwargs))
