"""The forest plot's axis spans every interval it draws (no diamond cut at the edge)."""

from __future__ import annotations

from pathlib import Path

from ruxtrack.evidence import meta_analysis, read_proportions
from ruxtrack.evidence._plots import forest_axis_limits

DATA = Path(__file__).parent / "data"


def test_axis_covers_subgroup_subtotals_and_prediction_intervals() -> None:
    res = meta_analysis(
        read_proportions(DATA / "grouped.csv", by="group"),
        transform="logit",
        method="REML",
        hk=True,
    )
    lo, hi = forest_axis_limits(res)
    assert res.subgroups
    for pooled in [res.pooled, *res.subgroups.values()]:
        assert lo <= pooled.ci_low and pooled.ci_high <= hi
        if pooled.pi_low is not None and pooled.pi_high is not None:
            assert lo <= pooled.pi_low and pooled.pi_high <= hi
    # the Knapp-Hartung subtotal of two studies reaches past 90 %: the axis goes to 100 %
    assert hi == 1.0
