"""Same seed, same bytes; chunk size never changes the data."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ruxtrack.synth import BLOCK_PATIENTS, MANIFEST, generate

FILES = ("patients", "events", "observations", "drugs", "support", "assessments")


def _bytes(folder: Path, ext: str) -> dict[str, bytes]:
    out = {n: (folder / f"{n}.{ext}").read_bytes() for n in FILES}
    out[MANIFEST] = (folder / MANIFEST).read_bytes()
    return out


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_seed_gives_byte_identical_files(tmp_path: Path, fmt: str) -> None:
    a = generate(300, seed=5, out_dir=tmp_path / "a", format=fmt)  # type: ignore[arg-type]
    b = generate(300, seed=5, out_dir=tmp_path / "b", format=fmt)  # type: ignore[arg-type]
    assert a.rows == b.rows
    assert _bytes(a.folder, fmt) == _bytes(b.folder, fmt)


def test_different_seeds_give_different_cohorts(tmp_path: Path) -> None:
    a = generate(300, seed=5, out_dir=tmp_path / "a", format="csv")
    b = generate(300, seed=6, out_dir=tmp_path / "b", format="csv")
    assert (a.folder / "observations.csv").read_bytes() != (
        b.folder / "observations.csv"
    ).read_bytes()


def test_chunk_size_does_not_change_csv_bytes(tmp_path: Path) -> None:
    n = 2 * BLOCK_PATIENTS + 123  # three blocks, the last one partial
    small = generate(n, seed=9, out_dir=tmp_path / "small", format="csv", chunk_size=1)
    large = generate(n, seed=9, out_dir=tmp_path / "large", format="csv", chunk_size=10 * n)
    assert _bytes(small.folder, "csv") == _bytes(large.folder, "csv")


def test_chunk_size_does_not_change_parquet_content(tmp_path: Path) -> None:
    n = 2 * BLOCK_PATIENTS + 7
    small = generate(n, seed=9, out_dir=tmp_path / "small", chunk_size=BLOCK_PATIENTS)
    large = generate(n, seed=9, out_dir=tmp_path / "large", chunk_size=n)
    for name in FILES:
        a = pq.read_table(small.folder / f"{name}.parquet")
        b = pq.read_table(large.folder / f"{name}.parquet")
        assert a.equals(b), name
    # Row groups follow the chunks: the data are equal, the layout differs.
    assert pq.ParquetFile(small.folder / "patients.parquet").num_row_groups == 3
    assert pq.ParquetFile(large.folder / "patients.parquet").num_row_groups == 1


def test_a_smaller_cohort_is_a_prefix_of_a_larger_one_within_a_block(tmp_path: Path) -> None:
    # Patients are drawn per block, so the first block is the same whatever comes after it.
    a = generate(BLOCK_PATIENTS, seed=3, out_dir=tmp_path / "a", format="parquet")
    b = generate(BLOCK_PATIENTS + 50, seed=3, out_dir=tmp_path / "b", format="parquet")
    pa_ = pq.read_table(a.folder / "patients.parquet").drop_columns(["patient_id"])
    pb = pq.read_table(b.folder / "patients.parquet").drop_columns(["patient_id"])
    assert pb.slice(0, BLOCK_PATIENTS).equals(pa_)


def test_rerun_replaces_files_and_switching_format_removes_the_other(tmp_path: Path) -> None:
    generate(20, seed=1, out_dir=tmp_path, format="csv")
    generate(20, seed=1, out_dir=tmp_path, format="parquet")
    assert not any(tmp_path.glob("*.csv"))
    assert sorted(p.stem for p in tmp_path.glob("*.parquet")) == sorted(FILES)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".synth-")]
