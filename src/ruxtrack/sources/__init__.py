"""Outside formats into timelines: the canonical CSV/Parquet folder (docs/data-format.md).

Sources read and validate; they never write to the store (``ruxtrack.store`` is the one
transactional door).
"""

from ruxtrack.sources._rows import RESOLVED_COLUMNS, Row, resolved_frames, resolved_rows
from ruxtrack.sources._rows import timeline_from_rows as timeline_from_rows
from ruxtrack.sources._spec import FILE_ORDER, FILES, ColumnSpec, FileSpec
from ruxtrack.sources.canonical import ExportError, Format, read_folder, write_folder

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
    "resolved_frames",
    "resolved_rows",
    "timeline_from_rows",
    "write_folder",
]
