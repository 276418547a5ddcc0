"""Stream blocks of rows into a canonical folder: Parquet row groups or appended CSV.

The column layout comes from the data contract (:data:`ruxtrack.sources.FILES`): every file has
all its columns in contract order, missing values empty. Parquet keeps instants as timestamps
(seconds) and drug days as dates; CSV writes them as ``YYYY-MM-DD HH:MM:SS`` and ``YYYY-MM-DD``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from ruxtrack.sources import FILES
from ruxtrack.synth._cohort import Block

__all__ = ["FolderWriter", "SynthFormat"]

SynthFormat = Literal["csv", "parquet"]

#: Columns holding calendar days rather than instants (drug exposures are per day).
_DATE_COLUMNS = {("drugs", "start"), ("drugs", "end")}
_ARROW_KIND: dict[str, pa.DataType] = {
    "text": pa.string(),
    "number": pa.float64(),
    "integer": pa.int64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
}


def schema_of(name: str) -> pa.Schema:
    """The Arrow schema of one canonical file as the generator writes it."""
    fields = []
    for col in FILES[name].columns:
        if col.kind == "time":
            kind = pa.date32() if (name, col.name) in _DATE_COLUMNS else pa.timestamp("s")
        else:
            kind = _ARROW_KIND[col.kind]
        fields.append(pa.field(col.name, kind))
    return pa.schema(fields)


def _text(values: Any) -> pa.Array:
    """Text column from a numpy array; empty strings become missing values."""
    arr = np.asarray(values)
    if arr.dtype.kind not in ("U", "O"):
        raise TypeError(f"text column of dtype {arr.dtype}")
    return pa.array(arr, pa.string(), mask=np.asarray(arr == "", dtype=bool))


def block_table(name: str, block: Block, ids: pa.Array) -> pa.Table:
    """One file's rows of a block as an Arrow table in the contract's column order."""
    schema = schema_of(name)
    pidx, cols = block.tables[name]
    n = int(pidx.size)
    arrays: list[pa.Array] = []
    for fld in schema:
        if fld.name == "patient_id":
            arrays.append(ids.take(pa.array(pidx)))
            continue
        values = cols.get(fld.name)
        if values is None:
            arrays.append(pa.nulls(n, fld.type))
        elif pa.types.is_timestamp(fld.type) or pa.types.is_date32(fld.type):
            secs = np.asarray(values, dtype=np.int64)
            missing = secs < 0
            if pa.types.is_date32(fld.type):
                arrays.append(
                    pa.array((secs // 86_400).astype(np.int32), pa.date32(), mask=missing)
                )
            else:
                arrays.append(pa.array(secs, pa.timestamp("s"), mask=missing))
        elif fld.type == pa.string():
            arrays.append(_text(values))
        elif fld.type == pa.float64():
            f = np.asarray(values, dtype=np.float64)
            arrays.append(pa.array(f, pa.float64(), mask=~np.isfinite(f)))
        elif fld.type == pa.bool_():
            arrays.append(pa.array(np.asarray(values, dtype=bool), pa.bool_()))
        else:
            arrays.append(pa.array(np.asarray(values, dtype=np.int64), pa.int64()))
    return pa.Table.from_arrays(arrays, schema=schema)


class FolderWriter:
    """One streaming writer per canonical file; ``write`` appends a chunk, ``close`` finishes."""

    def __init__(self, folder: Path, fmt: SynthFormat) -> None:
        self.folder = folder
        self.format: SynthFormat = fmt
        self.rows: dict[str, int] = {name: 0 for name in FILES}
        self._writers: dict[str, Any] = {}
        self._files: dict[str, Any] = {}
        for name in FILES:
            path = folder / f"{name}.{fmt}"
            schema = schema_of(name)
            if fmt == "parquet":
                self._writers[name] = pq.ParquetWriter(
                    path, schema, compression="zstd", write_statistics=True
                )
            else:
                fh = pa.OSFile(str(path), "wb")
                self._files[name] = fh
                self._writers[name] = pa_csv.CSVWriter(
                    fh, schema, write_options=pa_csv.WriteOptions(quoting_style="none")
                )

    def write(self, name: str, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if self.format == "parquet":
            self._writers[name].write_table(table, row_group_size=table.num_rows)
        else:
            self._writers[name].write_table(table)
        self.rows[name] += table.num_rows

    def close(self) -> None:
        for w in self._writers.values():
            w.close()
        for fh in self._files.values():
            fh.close()
        self._writers.clear()
        self._files.clear()

    def paths(self) -> dict[str, Path]:
        return {name: self.folder / f"{name}.{self.format}" for name in FILES}
