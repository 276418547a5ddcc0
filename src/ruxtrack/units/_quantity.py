"""Read a reported quantity such as ``"<0.5 mg/L"`` into comparator, number and unit text."""

from __future__ import annotations

import math
import re
from typing import Literal, NamedTuple

from ruxtrack.units._errors import QuantityParseError

Comparator = Literal["<", "<=", ">", ">="]

_COMPARATORS: dict[str, Comparator] = {
    "<": "<",
    "<=": "<=",
    "≤": "<=",
    "=<": "<=",
    ">": ">",
    ">=": ">=",
    "≥": ">=",
    "=>": ">=",
}
_QUANTITY = re.compile(
    r"""^\s*
    (?P<cmp><=|>=|=<|=>|<|>|≤|≥)?\s*
    (?P<num>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
    (?P<unit>.*?)\s*$""",
    re.VERBOSE,
)
# a unit may start with a digit only as a power of ten: "184 10*9/L", "10^3/uL", "10⁹/L"
_POWER_OF_TEN = re.compile(r"10\s*[*^eE]|10[⁰¹²³⁴⁵⁶⁷⁸⁹]")


class ParsedQuantity(NamedTuple):
    """``(comparator, value, unit)``; comparator and unit are None when absent."""

    comparator: Comparator | None
    value: float
    unit: str | None


def parse_quantity(text: str) -> ParsedQuantity:
    """Split a reported quantity into comparator, number and unit text.

    The unit text is returned as written (trimmed); pass it to :func:`normalize` with a
    quantity code to check and convert it. A decimal comma is refused: ``"1,5"`` could be
    one and a half or fifteen hundred.

    Parameters
    ----------
    text
        For example ``"17509 ng/mL"``, ``"<0.5 mg/L"``, ``"85000/uL"``, ``"1.2e3 U/L"``.

    Returns
    -------
    ParsedQuantity
        A named tuple ``(comparator, value, unit)``.

    Raises
    ------
    QuantityParseError
        When no number leads the text, the number is not finite, or it contains a comma.

    Examples
    --------
    >>> parse_quantity("<0.5 mg/L")
    ParsedQuantity(comparator='<', value=0.5, unit='mg/L')
    >>> parse_quantity("51umol/L")
    ParsedQuantity(comparator=None, value=51.0, unit='umol/L')
    """
    if not isinstance(text, str):
        raise QuantityParseError(repr(text), "not a text")
    folded = text.replace("−", "-").replace("\u2009", " ").replace("\u00a0", " ")
    match = _QUANTITY.match(folded)
    if match is None:
        raise QuantityParseError(text, "no number at the start (optionally after <, <=, >, >=)")
    unit = match.group("unit").strip()
    if unit[:1] in (",", ".") or (unit[:1].isdigit() and not _POWER_OF_TEN.match(unit)):
        raise QuantityParseError(
            text,
            "a comma, point or space inside the number is ambiguous (1,5 could be 1.5 or 1500); "
            "write the number as 17509 or 1.5",
        )
    value = float(match.group("num"))
    if not math.isfinite(value):
        raise QuantityParseError(text, "the number is not finite")
    cmp_text = match.group("cmp")
    return ParsedQuantity(
        comparator=_COMPARATORS[cmp_text] if cmp_text else None,
        value=value,
        unit=unit or None,
    )
