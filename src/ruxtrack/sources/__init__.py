"""Outside formats into timelines: the canonical CSV/Parquet folder (docs/data-format.md) and
the OMOP CDM v5.4 (docs/omop.md, :mod:`ruxtrack.sources.omop`).

Sources read and validate; they never write to the store (``ruxtrack.store`` is the one
transactional door).
"""

from ruxtrack.sources._rows import RESOLVED_COLUMNS, Row, resolved_frames, resolved_rows
from ruxtrack.sources._rows import timeline_from_rows as timeline_from_rows
from ruxtrack.sources._spec import FILE_ORDER, FILES, ColumnSpec, FileSpec
from ruxtrack.sources.canonical import ExportError, Format, read_folder, write_folder
from ruxtrack.sources.omop import read_omop, write_omop

__all__ = [
    "FILES",
    "FILE_ORDER",
    "RESOLVED_COLUMNS",
    "ColumnSpec",
    "ExportError",
    "FileSpec",
    "Format",
    "Row",
    "read_folder",
    "read_omop",
    "resolved_frames",
    "resolved_rows",
    "timeline_from_rows",
    "write_folder",
    "write_omop",
]
