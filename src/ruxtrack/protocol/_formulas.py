"""Body-size and renal formulas, taken from :mod:`ruxtrack.criteria` (never re-implemented here)."""

from __future__ import annotations

from ruxtrack.criteria import evaluate

__all__ = ["bsa_mosteller", "crcl_cockcroft_gault"]


def bsa_mosteller(weight_kg: float, height_cm: float) -> float | None:
    """Mosteller body-surface area (m2) by ruxtrack.criteria; None when it cannot be computed."""
    value = evaluate(
        "mosteller_bsa", {"weight": f"{weight_kg} kg", "height": f"{height_cm} cm"}
    ).value
    return None if value is None else float(value)


def crcl_cockcroft_gault(
    age: float, weight_kg: float, creat_mg_dl: float, sex: str
) -> float | None:
    """Cockcroft-Gault creatinine clearance (mL/min, actual body weight) by ruxtrack.criteria."""
    value = evaluate(
        "cockcroft_gault",
        {
            "age_years": age,
            "sex": sex,
            "weight": f"{weight_kg} kg",
            "creat": f"{creat_mg_dl} mg/dL",
        },
    ).value
    return None if value is None else float(value)
