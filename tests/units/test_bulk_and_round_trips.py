"""The bulk path equals the per-value path; conversions round-trip."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ruxtrack.errors import ImplausibleValueError, UnitError
from ruxtrack.units import (
    ImplausibleValuesError,
    conversion,
    convert,
    load_catalogue,
    normalize,
    normalize_array,
)

CAT = load_catalogue()
PAIRS = [(e.code, u.unit) for e in CAT for u in e.units]
SPELLINGS = [
    ("plt", "K/uL"),
    ("plt", "/µL"),
    ("wbc", "x10^9/L"),
    ("crp", "mg/dl"),
    ("ddimer_feu", "ug/mL FEU"),
    ("ddimer_ddu", "ng/mL{DDU}"),
    ("ldh", "IU/L"),
    ("temp", "°F"),
    ("fio2", None),
    ("fio2", ""),
    ("sf_ratio", None),
    ("pao2", "mmHg"),
    ("hb", "g%"),
]
pairs = st.sampled_from(PAIRS + SPELLINGS)
values = st.floats(allow_nan=True, allow_infinity=True, width=64) | st.floats(
    min_value=-10, max_value=1e6
)


def _single(code: str, value: float, unit: str | None) -> float | None:
    try:
        return normalize(code, value, unit).value
    except ImplausibleValueError:
        return None


@settings(max_examples=300, deadline=None)
@given(pair=pairs, data=st.lists(values, min_size=1, max_size=20))
def test_bulk_path_gives_the_per_value_results(
    pair: tuple[str, str | None], data: list[float]
) -> None:
    code, unit = pair
    expected = [_single(code, v, unit) for v in data]
    bad = [i for i, e in enumerate(expected) if e is None]
    if bad:
        with pytest.raises(ImplausibleValuesError) as info:
            normalize_array(code, np.array(data), unit)
        assert info.value.indices.tolist() == bad
    else:
        out = normalize_array(code, np.array(data), unit)
        assert out.tolist() == expected  # identical floats, not approximately equal


@settings(max_examples=300, deadline=None)
@given(pair=st.sampled_from(PAIRS), fraction=st.floats(min_value=0.001, max_value=0.999))
def test_canonical_and_back_round_trips(pair: tuple[str, str], fraction: float) -> None:
    code, unit = pair
    entry = CAT.get(code)
    rng = conversion(code, unit).plausible
    canonical = rng.low + fraction * (rng.high - rng.low)
    in_unit = convert(code, canonical, entry.canonical_unit, unit)
    back = normalize(code, in_unit, unit)
    assert back.value == pytest.approx(canonical, rel=1e-12, abs=1e-9)
    assert back.unit == entry.canonical_unit and back.source_unit == unit


@settings(max_examples=200, deadline=None)
@given(
    pair=st.sampled_from([(c, u) for c, u in PAIRS if CAT.get(c).convertible]),
    other=st.integers(min_value=0, max_value=10),
    value=st.floats(min_value=0, max_value=1e4),
)
def test_convert_between_any_two_accepted_units_round_trips(
    pair: tuple[str, str], other: int, value: float
) -> None:
    code, unit = pair
    units = CAT.get(code).accepted_units
    target = units[other % len(units)]
    there = convert(code, value, unit, target)
    assert convert(code, there, target, unit) == pytest.approx(value, rel=1e-12, abs=1e-12)


def test_bulk_error_names_every_bad_index_and_quotes_the_first() -> None:
    values = np.full(100_000, 184.0)
    values[[17, 99_998]] = [184_000.0, 250_000.0]
    with pytest.raises(ImplausibleValuesError) as info:
        normalize_array("plt", values, "10*3/uL")
    err = info.value
    assert err.indices.tolist() == [17, 99_998]
    assert str(err).startswith(
        'plt: unit "10*3/uL": 2 of 100000 values rejected: index 17: 184000 10*3/uL is '
        "184000 ×10⁹/L, above the plausible range 0–2000 ×10⁹/L"
    )
    assert "did you mean 184000 /uL (= 184 ×10⁹/L)?" in str(err)
    assert err.probable_unit == "/uL"
    assert not err.indices.flags.writeable


def test_bulk_error_lists_at_most_five_and_counts_the_rest() -> None:
    with pytest.raises(ImplausibleValuesError) as info:
        normalize_array("crp", [-1.0] * 8, "mg/L")
    assert str(info.value).endswith("; and 3 more")


def test_bulk_fio2_without_unit_reads_each_value_by_its_rule() -> None:
    out = normalize_array("fio2", [0.21, 0.4, 1.0, 40.0, 100.0], None)
    assert out.tolist() == [21.0, 40.0, 100.0, 40.0, 100.0]
    with pytest.raises(ImplausibleValuesError) as info:
        normalize_array("fio2", [0.4, 4.0, 60.0, 15.0], None)
    assert info.value.indices.tolist() == [1, 3]
    assert "it may be an oxygen flow in L/min" in str(info.value)


def test_bulk_unit_errors_are_raised_once_for_the_column() -> None:
    with pytest.raises(UnitError, match='unit "%": not accepted for Neutrophils'):
        normalize_array("anc", [45.0, 50.0], "%")
    with pytest.raises(UnitError, match="values are not numbers"):
        normalize_array("crp", ["high", "low"], "mg/L")


def test_bulk_result_is_a_new_float64_array() -> None:
    source = np.array([5, 10], dtype=np.int64)
    out = normalize_array("crp", source, "mg/dL")
    assert out.dtype == np.float64 and out.tolist() == [50.0, 100.0]
    assert source.tolist() == [5, 10]


def test_conversion_is_cached_per_code_and_unit() -> None:
    assert conversion("plt", "/uL") is conversion("plt", "/uL")
    assert conversion("plt", "/uL") is not conversion("plt", "10*3/uL")


def test_a_million_values_convert_in_one_call() -> None:
    values = np.linspace(0.1, 40.0, 1_000_000)
    out = normalize_array("crp", values, "mg/dL")
    assert out.shape == (1_000_000,)
    assert out[0] == pytest.approx(1.0) and out[-1] == pytest.approx(400.0)
