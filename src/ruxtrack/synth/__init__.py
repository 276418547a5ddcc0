"""Synthetic seed-004-like cohorts (COVID-19 hyperinflammation, 15-day ruxolitinib regimen).

Calibrated to Sarmiento et al. 2021 (Tables 1-4) through ``knowledge/synth/sarmiento-2021.yaml``;
deterministic per seed; streamed in blocks so a million patients fit in bounded memory.
See docs/synth.md.
"""

from ruxtrack.synth._cohort import SynthError
from ruxtrack.synth._generate import (
    BLOCK_PATIENTS,
    DEFAULT_CHUNK_SIZE,
    MANIFEST,
    Structure,
    SynthResult,
    generate,
)
from ruxtrack.synth._marginals import SplitLogNormal, extreme_z
from ruxtrack.synth._targets import GROUPS, TIME_POINTS, CalibrationTargets, load_targets
from ruxtrack.synth._writer import SynthFormat

__all__ = [
    "BLOCK_PATIENTS",
    "DEFAULT_CHUNK_SIZE",
    "GROUPS",
    "MANIFEST",
    "TIME_POINTS",
    "CalibrationTargets",
    "SplitLogNormal",
    "Structure",
    "SynthError",
    "SynthFormat",
    "SynthResult",
    "extreme_z",
    "generate",
    "load_targets",
]
