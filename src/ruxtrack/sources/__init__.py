"""Outside formats into timelines, through one interface (docs/sources.md); the OMOP CDM v5.4
in docs/omop.md (:mod:`ruxtrack.sources.omop`).

A reader returns a :class:`SourceResult` (timelines, or problems located in the format's own
terms); :func:`source_result` runs the checks every import shares (:func:`check_timelines`).
Sources read and validate; they never write to the store (``Store.import_source`` is the one
transactional door). The canonical CSV/Parquet folder is described in docs/data-format.md.
"""

from ruxtrack.errors import ImportProblem, ImportValidationError
from ruxtrack.sources._limits import Limits, load_limits
from ruxtrack.sources._result import (
    READERS,
    Locator,
    Reader,
    RecordRef,
    SourceResult,
    Where,
    check_input_file,
    check_timelines,
    read_source,
    source_result,
)
from ruxtrack.sources._rows import RESOLVED_COLUMNS, Row, resolved_frames, resolved_rows
from ruxtrack.sources._rows import timeline_from_rows as timeline_from_rows
from ruxtrack.sources._spec import FILE_ORDER, FILES, ColumnSpec, FileSpec
from ruxtrack.sources.canonical import (
    ExportError,
    Format,
    read_canonical,
    read_folder,
    write_folder,
)
from ruxtrack.sources.omop import read_omop, write_omop

__all__ = [
    "FILES",
    "FILE_ORDER",
    "READERS",
    "RESOLVED_COLUMNS",
    "ColumnSpec",
    "ExportError",
    "FileSpec",
    "Format",
    "ImportProblem",
    "ImportValidationError",
    "Limits",
    "Locator",
    "Reader",
    "RecordRef",
    "Row",
    "SourceResult",
    "Where",
    "check_input_file",
    "check_timelines",
    "load_limits",
    "read_canonical",
    "read_folder",
    "read_omop",
    "read_source",
    "resolved_frames",
    "resolved_rows",
    "source_result",
    "timeline_from_rows",
    "write_folder",
    "write_omop",
]
