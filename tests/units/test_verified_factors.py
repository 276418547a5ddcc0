"""The generated UCUM factors (units/ucum_factors.json) match the catalogue and UCUM."""

from __future__ import annotations

import json

from ruxtrack.units import load_catalogue
from ruxtrack.units._convert import VERIFIED_FACTORS, compute_verified_factors


def test_verified_factors_are_current() -> None:
    # On failure: python -m ruxtrack.units._convert  (regenerates the file)
    stored = json.loads(VERIFIED_FACTORS.read_text(encoding="utf-8"))
    assert stored == json.loads(json.dumps(compute_verified_factors(load_catalogue())))
