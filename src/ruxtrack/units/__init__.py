"""Lab catalogue and units: one canonical UCUM unit per quantity, conversions that cannot confuse.

The catalogue (``ruxtrack/knowledge/labs.yaml``) is the guard: for every quantity code it lists
the canonical UCUM unit, an allow-list of input units with their factor (or molar mass, or
temperature offset), the plausible range that catches 10x/1000x unit slips, reference ranges and
LOINC codes, each fact with its source. ucumvert (UCUM on top of pint) parses units and computes
every factor; the catalogue's printed factor is checked against it.
"""

from __future__ import annotations

from ruxtrack.units._catalogue import (
    AcceptedUnit,
    LabCatalogue,
    LabEntry,
    LoincCode,
    PlausibleRange,
    ReferenceRange,
    load_catalogue,
)
from ruxtrack.units._convert import (
    Conversion,
    Normalized,
    conversion,
    convert,
    normalize,
    normalize_array,
)
from ruxtrack.units._errors import (
    ImplausibleValuesError,
    QuantityParseError,
    UnknownLabCodeError,
)
from ruxtrack.units._quantity import ParsedQuantity, parse_quantity

__all__ = [
    "AcceptedUnit",
    "Conversion",
    "ImplausibleValuesError",
    "LabCatalogue",
    "LabEntry",
    "LoincCode",
    "Normalized",
    "ParsedQuantity",
    "PlausibleRange",
    "QuantityParseError",
    "ReferenceRange",
    "UnknownLabCodeError",
    "conversion",
    "convert",
    "load_catalogue",
    "normalize",
    "normalize_array",
    "parse_quantity",
]
