"""Reading reported quantities: comparator, number, unit text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ruxtrack.units import ParsedQuantity, QuantityParseError, normalize, parse_quantity


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("17509 ng/mL", (None, 17509.0, "ng/mL")),
        ("<0.5 mg/L", ("<", 0.5, "mg/L")),
        ("< 0.5 mg/L", ("<", 0.5, "mg/L")),
        ("<=250 ng/mL DDU", ("<=", 250.0, "ng/mL DDU")),
        ("≤250 ng/mL", ("<=", 250.0, "ng/mL")),
        ("≥ 2400 U/mL", (">=", 2400.0, "U/mL")),
        (">1000", (">", 1000.0, None)),
        ("85000/uL", (None, 85000.0, "/uL")),
        ("51umol/L", (None, 51.0, "umol/L")),
        ("1.2e3 U/L", (None, 1200.0, "U/L")),
        ("38.5 Cel", (None, 38.5, "Cel")),
        ("184 10*9/L", (None, 184.0, "10*9/L")),
        ("184 10^3/uL", (None, 184.0, "10^3/uL")),
        ("184 ×10⁹/L", (None, 184.0, "×10⁹/L")),
        ("0.4", (None, 0.4, None)),
        (".5 mg/dL", (None, 0.5, "mg/dL")),
        ("-1.5 Cel", (None, -1.5, "Cel")),
        ("−2 Cel", (None, -2.0, "Cel")),
        ("  12 g/dL  ", (None, 12.0, "g/dL")),
        ("5 eq/L", (None, 5.0, "eq/L")),
    ],
)
def test_reported_quantities_are_split(text: str, expected: tuple[object, ...]) -> None:
    assert parse_quantity(text) == ParsedQuantity(*expected)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no number at the start"),
        ("high", "no number at the start"),
        ("ND", "no number at the start"),
        ("mg/L 5", "no number at the start"),
        ("1,5 mg/L", "a comma, point or space inside the number is ambiguous"),
        ("17,509 ng/mL", "a comma, point or space inside the number is ambiguous"),
        ("17 509 ng/mL", "a comma, point or space inside the number is ambiguous"),
        ("2.5.1 mg/L", "a comma, point or space inside the number is ambiguous"),
        ("1e999 mg/L", "the number is not finite"),
    ],
)
def test_unreadable_quantities_are_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(QuantityParseError) as info:
        parse_quantity(text)
    assert str(info.value).startswith(f'cannot read "{text}" as a quantity: {reason}')


def test_parsed_quantity_feeds_normalize() -> None:
    cmp, value, unit = parse_quantity("<0.5 mg/L FEU")
    assert cmp == "<"
    assert normalize("ddimer_feu", value, unit).value == 0.5


@given(
    value=st.floats(min_value=0, max_value=1e12, allow_nan=False),
    unit=st.sampled_from(["mg/L", "10*9/L", "/uL", "U/mL", "Cel", "mm[Hg]"]),
    cmp=st.sampled_from(["", "<", ">", "<=", ">="]),
)
def test_formatted_quantity_parses_back(value: float, unit: str, cmp: str) -> None:
    parsed = parse_quantity(f"{cmp}{value!r} {unit}")
    assert parsed.value == value and parsed.unit == unit
    assert parsed.comparator == (cmp or None)
