"""The public surface of ruxtrack.synth is what we meant it to be."""

from __future__ import annotations

import ruxtrack.synth as synth


def test_exported_members() -> None:
    assert sorted(synth.__all__) == sorted([
        "BLOCK_PATIENTS", "DEFAULT_CHUNK_SIZE", "GROUPS", "MANIFEST", "TIME_POINTS",
        "CalibrationTargets", "SplitLogNormal", "Structure", "SynthError", "SynthFormat",
        "SynthResult", "extreme_z", "generate", "load_targets",
    ])  # fmt: skip
    for name in synth.__all__:
        assert hasattr(synth, name)
