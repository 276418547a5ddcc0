"""Times on a patient's timeline: absolute instants or "day N from an anchor".

Accepted text forms (documented in docs/data-format.md):

* ``2020-05-03`` — a date (day precision);
* ``2020-05-03T10:30`` or ``2020-05-03 10:30[:ss]`` — a local clinical date-time (no offset);
* ``hsct#2+74d``, ``rux_start+8d``, ``admission-2d``, ``admission+6h``, ``admission`` — relative
  to the N-th occurrence (default 1) of a named event; ``d`` days, ``h`` hours, combinable
  (``+1d12h``);
* ``day 74 after hsct#2`` / ``day -3 from admission`` — the same in words;
* ``origin`` — the reference instant of a patient recorded only in relative days (a de-identified
  case report). It is placed at :data:`NOMINAL_EPOCH`, a date that carries no meaning and is
  never shown.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, model_serializer, model_validator

from ruxtrack.errors import TimelineError

__all__ = ["NOMINAL_EPOCH", "TimeRef", "format_offset", "parse_time"]

#: Where ``origin`` is placed for relative-only patients; never shown as a date.
NOMINAL_EPOCH = datetime(2000, 1, 1)

_EVENT = r"[a-z][a-z0-9_]*"
_REL = re.compile(
    rf"^(?P<event>{_EVENT})(?:#(?P<occ>[1-9][0-9]*))?"
    r"(?:(?P<sign>[+-])(?:(?P<days>[0-9]+(?:\.[0-9]+)?)d)?(?:(?P<hours>[0-9]+(?:\.[0-9]+)?)h)?)?$"
)
_WORDS = re.compile(
    rf"^day\s+(?P<n>[+-]?[0-9]+(?:\.[0-9]+)?)\s+(?:after|from|since)\s+(?P<event>{_EVENT})"
    r"(?:#(?P<occ>[1-9][0-9]*))?$",
    re.IGNORECASE,
)
_ISO_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


class TimeRef(BaseModel):
    """A time as written: an absolute local instant, or an offset from an anchor event.

    Exactly one of ``absolute`` / ``anchor`` is set, or ``origin`` is true.
    ``date_only`` records that an absolute time was given at day precision.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    absolute: datetime | None = None
    date_only: bool = False
    anchor: str | None = None
    occurrence: int = 1
    offset: timedelta = timedelta(0)
    origin: bool = False

    @model_validator(mode="after")
    def _one_form(self) -> TimeRef:
        forms = (self.absolute is not None) + (self.anchor is not None) + self.origin
        if forms != 1:
            raise ValueError("a time is exactly one of: absolute, anchor-relative, origin")
        if self.absolute is not None and self.absolute.tzinfo is not None:
            raise ValueError("times are local clinical times without a UTC offset")
        if self.occurrence < 1:
            raise ValueError("occurrence counts from 1")
        return self

    @model_serializer
    def _as_text(self) -> str:
        return str(self)

    @property
    def is_relative(self) -> bool:
        return self.anchor is not None

    def __str__(self) -> str:
        if self.origin:
            return "origin"
        if self.absolute is not None:
            if self.date_only:
                return self.absolute.date().isoformat()
            return self.absolute.isoformat(
                timespec="minutes" if self.absolute.second == 0 else "seconds"
            )
        assert self.anchor is not None
        occ = f"#{self.occurrence}" if self.occurrence != 1 else ""
        return f"{self.anchor}{occ}{format_offset(self.offset)}"

    def shifted(self, delta: timedelta) -> TimeRef:
        """The same reference moved by ``delta``."""
        if self.absolute is not None:
            return self.model_copy(update={"absolute": self.absolute + delta, "date_only": False})
        if self.anchor is not None:
            return self.model_copy(update={"offset": self.offset + delta})
        raise TimelineError("origin cannot be shifted; write it relative to an event instead")


def format_offset(offset: timedelta) -> str:
    """``+74d``, ``-2d``, ``+1d12h``, ``+6h``; empty for zero."""
    if offset == timedelta(0):
        return ""
    sign = "-" if offset < timedelta(0) else "+"
    total = abs(offset)
    days = total.days
    rest_h = total.seconds / 3600
    out = sign
    if days:
        out += f"{days}d"
    if rest_h:
        out += f"{rest_h:g}h"
    return out


def parse_time(text: Any) -> TimeRef:
    """Parse a time written in one of the accepted forms.

    Raises
    ------
    TimelineError
        When the text is empty or in none of the accepted forms.

    Examples
    --------
    >>> str(parse_time("hsct#2+74d"))
    'hsct#2+74d'
    >>> parse_time("2020-05-03").date_only
    True
    >>> str(parse_time("day 74 after hsct#2"))
    'hsct#2+74d'
    """
    if isinstance(text, TimeRef):
        return text
    if isinstance(text, datetime):
        return TimeRef(absolute=text)
    if isinstance(text, date):
        return TimeRef(absolute=datetime(text.year, text.month, text.day), date_only=True)
    if not isinstance(text, str):
        raise TimelineError(f"a time must be text, got {type(text).__name__}")
    s = text.strip()
    if not s:
        raise TimelineError("time is empty")
    if s.lower() == "origin":
        return TimeRef(origin=True)
    if s[0].isdigit():
        return _parse_absolute(s)
    m = _WORDS.match(s)
    if m:
        days = float(m["n"])
        return TimeRef(
            anchor=m["event"].lower(), occurrence=int(m["occ"] or 1), offset=timedelta(days=days)
        )
    m = _REL.match(s)
    if m and (m["sign"] is None or m["days"] is not None or m["hours"] is not None):
        delta = timedelta(days=float(m["days"] or 0), hours=float(m["hours"] or 0))
        if m["sign"] == "-":
            delta = -delta
        return TimeRef(anchor=m["event"], occurrence=int(m["occ"] or 1), offset=delta)
    raise TimelineError(
        f'"{s}" is not a time: use an ISO date (2020-05-03), a local date-time (2020-05-03T10:30), '
        "or a relative time such as hsct#2+74d, admission-2d or 'day 74 after hsct#2'"
    )


def _parse_absolute(s: str) -> TimeRef:
    if _ISO_OFFSET.search(s) and ("T" in s or " " in s):
        raise TimelineError(
            f'"{s}" has a UTC offset; give the local clinical time without an offset'
        )
    try:
        if len(s) == 10:
            d = date.fromisoformat(s)
            return TimeRef(absolute=datetime(d.year, d.month, d.day), date_only=True)
        return TimeRef(absolute=datetime.fromisoformat(s.replace(" ", "T", 1)))
    except ValueError as exc:
        raise TimelineError(f'"{s}" is not a valid ISO 8601 date or date-time') from exc
