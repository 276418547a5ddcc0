"""The split log-normal fitted to a printed median (range)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ruxtrack.synth import SplitLogNormal, extreme_z


def test_extreme_z_is_blom_score_of_the_largest_draw() -> None:
    # R 4.2: qnorm((18 - 3/8) / (18 + 1/4)) and qnorm((10 - 3/8) / (10 + 1/4));
    # script and output in tests/synth/reference/blom_extreme_z.R(.Rout).
    assert extreme_z(18) == pytest.approx(1.82174853, abs=1e-8)
    assert extreme_z(10) == pytest.approx(1.546635271, abs=1e-8)


summaries = st.tuples(
    st.floats(0.01, 1e4), st.floats(1.05, 50.0), st.floats(1.05, 50.0), st.integers(2, 200)
)


@given(summaries)
def test_fit_puts_median_and_range_where_printed(s: tuple[float, float, float, int]) -> None:
    median, down, up, n = s
    d = SplitLogNormal.fit(median, median / down, median * up, n)
    assert d.ppf(np.array([0.5]))[0] == pytest.approx(median, rel=1e-9)
    assert d.low == pytest.approx(median / down, rel=1e-9)
    assert d.high == pytest.approx(median * up, rel=1e-9)


@given(summaries, st.lists(st.floats(0.0, 1.0), min_size=1, max_size=50))
def test_ppf_is_monotone_bounded_and_inverted_by_cdf(
    s: tuple[float, float, float, int], us: list[float]
) -> None:
    median, down, up, n = s
    d = SplitLogNormal.fit(median, median / down, median * up, n)
    u = np.sort(np.array(us))
    x = d.ppf(u)
    assert (np.diff(x) >= -1e-9 * x[1:]).all()
    assert (x >= d.low * (1 - 1e-9)).all() and (x <= d.high * (1 + 1e-9)).all()
    inner = (u > 1e-6) & (u < 1 - 1e-6)
    assert np.allclose(d.cdf(x[inner]), u[inner], atol=1e-6)


def test_fit_rejects_a_median_outside_its_range() -> None:
    with pytest.raises(ValueError, match="low <= median <= high"):
        SplitLogNormal.fit(2471, 800, 2338, 18)  # Table 2 ferritin +8 as printed
