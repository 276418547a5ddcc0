"""Times as written: absolute, anchor-relative, origin (docs/data-format.md, "Times")."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ruxtrack.errors import TimelineError
from ruxtrack.timeline import TimeRef, parse_time


@pytest.mark.parametrize(
    ("text", "anchor", "occurrence", "offset"),
    [
        ("hsct#2+74d", "hsct", 2, timedelta(days=74)),
        ("rux_start+8d", "rux_start", 1, timedelta(days=8)),
        ("admission-2d", "admission", 1, timedelta(days=-2)),
        ("admission+6h", "admission", 1, timedelta(hours=6)),
        ("rux_start+1d12h", "rux_start", 1, timedelta(days=1, hours=12)),
        ("admission", "admission", 1, timedelta(0)),
        ("day 74 after hsct#2", "hsct", 2, timedelta(days=74)),
        ("Day -3 from admission", "admission", 1, timedelta(days=-3)),
    ],
)
def test_relative_forms_parse_to_anchor_and_offset(
    text: str, anchor: str, occurrence: int, offset: timedelta
) -> None:
    ref = parse_time(text)
    assert (ref.anchor, ref.occurrence, ref.offset) == (anchor, occurrence, offset)


def test_iso_date_is_day_precision() -> None:
    ref = parse_time("2020-05-03")
    assert ref.absolute == datetime(2020, 5, 3)
    assert ref.date_only
    assert str(ref) == "2020-05-03"


def test_local_datetime_with_space_or_t() -> None:
    assert parse_time("2020-05-03 10:30").absolute == datetime(2020, 5, 3, 10, 30)
    assert parse_time("2020-05-03T10:30:15").absolute == datetime(2020, 5, 3, 10, 30, 15)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "time is empty"),
        ("2020-13-01", "not a valid ISO 8601"),
        ("2020-05-03T10:00+02:00", "UTC offset"),
        ("2020-05-03T10:00Z", "UTC offset"),
        ("hsct#0+3d", "is not a time"),
        ("admission+", "is not a time"),
        ("Admission+3d", "is not a time"),
        ("admission+3w", "is not a time"),
    ],
)
def test_malformed_times_are_rejected_with_reason(text: str, message: str) -> None:
    with pytest.raises(TimelineError, match=message):
        parse_time(text)


def test_origin_has_no_shift() -> None:
    with pytest.raises(TimelineError, match="origin cannot be shifted"):
        parse_time("origin").shifted(timedelta(days=1))


_events = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)


@given(
    event=_events,
    occurrence=st.integers(1, 9),
    days=st.integers(-400, 400),
    hours=st.integers(0, 23),
)
def test_relative_text_round_trips(event: str, occurrence: int, days: int, hours: int) -> None:
    ref = TimeRef(anchor=event, occurrence=occurrence, offset=timedelta(days=days, hours=hours))
    assert parse_time(str(ref)) == ref


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)))
def test_absolute_text_round_trips(when: datetime) -> None:
    when = when.replace(microsecond=0)
    assert parse_time(str(TimeRef(absolute=when))).absolute == when
