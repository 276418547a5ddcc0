"""Regenerate the packaged ``sarmiento-2021-synthetic`` demo dataset (18 synthetic patients).

Run ``python -m ruxtrack.synth.make_demo`` after changing the generator or its targets; the
files are never edited by hand, and a test checks they equal a fresh regeneration.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ruxtrack.synth._generate import SynthResult, generate
from ruxtrack.synth._targets import load_targets

__all__ = ["DEMO_NAME", "DEMO_SEED", "build_demo", "demo_folder", "main"]

DEMO_NAME = "sarmiento-2021-synthetic"
#: Fixed seed of the packaged demo cohort (the year of the paper).
DEMO_SEED = 2021


def demo_folder() -> Path:
    """Where the packaged demo cohort lives (``ruxtrack/demo/data/sarmiento-2021-synthetic``)."""
    return Path(__file__).resolve().parent.parent / "demo" / "data" / DEMO_NAME


def build_demo(out_dir: str | Path) -> SynthResult:
    """Generate the demo cohort: the paper's 18 patients with its exact group structure, as CSV."""
    return generate(
        load_targets().cohort.n,
        DEMO_SEED,
        out_dir,
        format="csv",
        structure="exact",
        id_prefix="SYN-",
    )


def main(argv: list[str] | None = None) -> int:
    """Write the demo cohort into the package (or into the folder given as the only argument)."""
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else demo_folder()
    result = build_demo(target)
    sys.stdout.write(
        f"wrote {result.n_patients} synthetic patients (seed {result.seed}, exact structure) "
        f"to {result.folder}: {result.total_rows} rows\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
