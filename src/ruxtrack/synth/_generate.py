"""Generate a synthetic cohort into a canonical folder, streaming block by block."""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa

from ruxtrack import __version__
from ruxtrack.sources import FILES
from ruxtrack.synth._cohort import SynthError, simulate_block
from ruxtrack.synth._targets import CalibrationTargets, load_targets, targets_digest
from ruxtrack.synth._writer import FolderWriter, SynthFormat, block_table

__all__ = [
    "BLOCK_PATIENTS",
    "DEFAULT_CHUNK_SIZE",
    "MANIFEST",
    "Structure",
    "SynthResult",
    "generate",
]

#: Patients per random stream. Block b draws from SeedSequence(seed, spawn_key=(b,)) (and the
#: variables added later from SeedSequence(seed, spawn_key=(b, stream)), see the targets'
#: ``supplement``), so the output depends on the seed and the patient count only, never on the
#: chunk size.
BLOCK_PATIENTS = 4096
#: Patients generated and written together (rounded up to whole blocks); bounds the memory.
DEFAULT_CHUNK_SIZE = 16_384
#: The generator's record beside the data (seed, counts, targets digest); read_folder ignores it.
MANIFEST = "synth-manifest.json"
MAX_PATIENTS = 100_000_000

Structure = Literal["sampled", "exact"]
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class SynthResult:
    """What :func:`generate` wrote."""

    folder: Path
    format: SynthFormat
    n_patients: int
    seed: int
    structure: Structure
    files: Mapping[str, Path]
    rows: Mapping[str, int]
    manifest: Path

    @property
    def total_rows(self) -> int:
        """Rows written over all files."""
        return sum(self.rows.values())


def _ids(prefix: str, first: int, n: int, width: int) -> pa.Array:
    numbers = np.arange(first + 1, first + n + 1).astype(str)
    return pa.array(np.char.add(prefix, np.char.zfill(numbers, width)), pa.string())


def _check(n_patients: int, seed: int, fmt: str, chunk_size: int, id_prefix: str) -> None:
    if isinstance(n_patients, bool) or not isinstance(n_patients, int) or n_patients < 1:
        raise SynthError(f"patients must be a whole number of at least 1, got {n_patients!r}")
    if n_patients > MAX_PATIENTS:
        raise SynthError(f"at most {MAX_PATIENTS:,} patients per run, got {n_patients:,}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise SynthError(f"seed must be a whole number from 0 to 2**63 - 1, got {seed!r}")
    if fmt not in ("csv", "parquet"):
        raise SynthError(f'unknown format "{fmt}": use parquet or csv')
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise SynthError(f"chunk_size must be a whole number of at least 1, got {chunk_size!r}")
    import re

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,40}", id_prefix):
        raise SynthError(f'id prefix "{id_prefix}" is not a valid start of a patient id')


def generate(
    n_patients: int,
    seed: int,
    out_dir: str | Path,
    format: SynthFormat = "parquet",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    *,
    structure: Structure = "sampled",
    id_prefix: str = "SYN-",
    progress: ProgressCallback | None = None,
    targets: CalibrationTargets | None = None,
    supplement: bool = True,
) -> SynthResult:
    """Generate seed-004-like synthetic patients into a canonical folder.

    Adults with COVID-19 hyperinflammation treated with the 15-day ruxolitinib regimen
    (Sarmiento 2021): positive test, admission, ruxolitinib start 6-28 days after admission,
    labs at admission / start / +8 / +15 days, respiratory support, three outcome groups,
    dose changes driven by the generated counts, discharge or death. Marginals are calibrated
    to the paper's Tables 1 and 2 and its group proportions (knowledge/synth/sarmiento-2021.yaml).

    Parameters
    ----------
    n_patients
        Number of patients (ids ``SYN-001`` ...; more digits for larger cohorts).
    seed
        Random seed: the same seed and count give byte-identical files.
    out_dir
        Target folder, created if needed. The six canonical files (and the manifest) in it are
        replaced when the run succeeds; on failure nothing in it changes.
    format
        ``"parquet"`` (timestamps, one row group per chunk) or ``"csv"``.
    chunk_size
        Patients held in memory and written together (rounded up to whole blocks of
        :data:`BLOCK_PATIENTS`). It changes memory use and Parquet row groups, not the data.
    structure
        ``"sampled"`` draws every patient independently from the paper's proportions;
        ``"exact"`` allocates the paper's counts (10/5/3 groups, 15 men, Table 1 conditions...)
        and needs ``n_patients`` equal to the paper's 18.
    id_prefix
        Start of every patient id.
    progress
        Called with (patients done, patients total) after each block.
    targets
        Calibration targets to use instead of the packaged ones.
    supplement
        Add the variables drawn from the second random stream (body weight and height,
        creatinine on the monitoring days, eligibility facts; the targets' ``supplement``).
        ``False`` reproduces the rows of the first stream only, as generators before the
        supplement wrote them: every one of those rows is the same either way.

    Returns
    -------
    SynthResult
        Folder, files and rows written per file.

    Raises
    ------
    SynthError
        For a bad count, seed, format, chunk size or structure.

    Examples
    --------
    >>> import tempfile
    >>> from ruxtrack.synth import generate
    >>> r = generate(50, seed=1, out_dir=tempfile.mkdtemp(), format="csv")
    >>> r.rows["patients"]
    50
    """
    _check(n_patients, seed, format, chunk_size, id_prefix)
    t = targets if targets is not None else load_targets()
    exact = structure == "exact"
    if structure not in ("sampled", "exact"):
        raise SynthError(f'unknown structure "{structure}": use sampled or exact')
    if exact and n_patients != t.cohort.n:
        raise SynthError(
            f"structure exact reproduces the paper's {t.cohort.n} patients; got {n_patients}"
        )
    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".synth-", dir=folder))
    except OSError as exc:
        raise SynthError(f"cannot write to {folder}: {exc}") from exc
    width = max(3, len(str(n_patients)))
    n_blocks = math.ceil(n_patients / BLOCK_PATIENTS)
    per_chunk = max(1, math.ceil(chunk_size / BLOCK_PATIENTS))
    writer = FolderWriter(tmp, format)
    try:
        for first_block in range(0, n_blocks, per_chunk):
            parts: dict[str, list[pa.Table]] = {name: [] for name in FILES}
            for b in range(first_block, min(first_block + per_chunk, n_blocks)):
                first = b * BLOCK_PATIENTS
                n = min(BLOCK_PATIENTS, n_patients - first)
                rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(b,)))
                # Variables added later come from an independent child stream, so the rows
                # drawn from the block's first stream never change.
                extra = (
                    np.random.default_rng(
                        np.random.SeedSequence(seed, spawn_key=(b, t.supplement.stream))
                    )
                    if supplement
                    else None
                )
                block = simulate_block(t, rng, n, first, exact, supplement_rng=extra)
                ids = _ids(id_prefix, first, n, width)
                for name in FILES:
                    parts[name].append(block_table(name, block, ids))
                if progress is not None:
                    progress(first + n, n_patients)
            for name, tables in parts.items():
                writer.write(name, pa.concat_tables(tables))
            del parts
        writer.close()
        manifest = {
            "generator": "ruxtrack.synth",
            "ruxtrack_version": __version__,
            "targets": t.id,
            "targets_sha256": targets_digest() if targets is None else None,
            "seed": seed,
            "n_patients": n_patients,
            "structure": structure,
            "format": format,
            "block_patients": BLOCK_PATIENTS,
            "supplement_stream": t.supplement.stream if supplement else None,
            "id_prefix": id_prefix,
            "rows": writer.rows,
            "synthetic": True,
            "note": "Synthetic patients resembling Sarmiento et al. 2021 (seed 004): not real.",
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        files: dict[str, Path] = {}
        other = "csv" if format == "parquet" else "parquet"
        for name in FILES:
            stale = folder / f"{name}.{other}"
            if stale.exists():
                stale.unlink()  # one format per file kind, as read_folder requires
            target = folder / f"{name}.{format}"
            (tmp / f"{name}.{format}").replace(target)
            files[name] = target
        (tmp / MANIFEST).replace(folder / MANIFEST)
    except OSError as exc:
        raise SynthError(f"cannot write to {folder}: {exc}") from exc
    finally:
        writer.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return SynthResult(
        folder=folder,
        format=format,
        n_patients=n_patients,
        seed=seed,
        structure=structure,
        files=files,
        rows=dict(writer.rows),
        manifest=folder / MANIFEST,
    )
