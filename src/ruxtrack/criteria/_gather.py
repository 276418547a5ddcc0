"""Read a criterion's inputs from a patient's timeline at one time.

Labs are the latest observation at or before the time, within the criterion's freshness
window (from its knowledge file); findings are the latest assessment of the finding's kind
(``kind=splenomegaly, value=true``) or a ``finding`` assessment naming it
(``kind=finding, value=pancytopenia``). Anything older or absent is unknown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ruxtrack.criteria._knowledge import exact
from ruxtrack.criteria._values import Datum, Measured

if TYPE_CHECKING:
    from ruxtrack.timeline import Assessment, Timeline

__all__ = ["Context", "days", "finding_datum", "lab_datum", "stated_finding"]


@dataclass(frozen=True)
class Context:
    """Options of a timeline evaluation.

    ``limits`` maps a lab code to its local (LLN, ULN) in the canonical unit (CTCAE);
    ``baseline_at`` overrides the time at which CTCAE baselines are read; ``window`` is the
    evaluation window (cumulative criteria such as steroid exposure).
    """

    limits: Mapping[str, tuple[float | None, float | None]] = field(default_factory=dict)
    baseline_at: datetime | None = None
    window: tuple[datetime, datetime] | None = None


def days(n: float | None) -> timedelta | None:
    return None if n is None else timedelta(days=n)


def lab_datum(
    tl: Timeline, key: str, code: str, at: datetime, max_age_days: float | None
) -> Datum | None:
    """The latest observation of ``code`` at or before ``at`` within the freshness window."""
    hit = tl.latest(code, at, days(max_age_days))
    if hit is None:
        return None
    t, o = hit
    shown = None
    if o.source_value is not None and o.source_unit and o.source_unit != o.unit:
        shown = f"{o.comparator.value if o.comparator else ''}{o.source_value:g} {o.source_unit}"
    m = Measured(
        code,
        exact(o.value),
        o.unit,
        o.comparator.value if o.comparator else None,
        shown,
        None if o.source_value is None else exact(o.source_value),
        o.source_unit,
    )
    return Datum(key, m, time=str(o.time), instant=t, basis="observation")


_NEGATED_PREFIX = "no_"


def _finding_value(a: Assessment, key: str) -> bool | None:
    if a.kind == key:
        return a.as_bool()
    text = a.value.strip().lower()
    if text == key:
        return True
    if text == _NEGATED_PREFIX + key:
        return False
    return None


def finding_datum(
    tl: Timeline,
    key: str,
    at: datetime,
    max_age_days: float | None,
    *,
    names: Sequence[str] = (),
    basis: str = "assessment",
) -> Datum | None:
    """The latest yes/no finding called ``key`` (or one of ``names``) at or before ``at``."""
    wanted = (key, *names)
    horizon = None if max_age_days is None else at - timedelta(days=max_age_days)
    best: tuple[datetime, Assessment, bool] | None = None
    for kind in (*wanted, "finding"):
        for t, a in tl.assessments_of(kind):
            if t > at or (horizon is not None and t < horizon):
                continue
            for name in wanted:
                v = _finding_value(a, name)
                if v is not None and (best is None or t >= best[0]):
                    best = (t, a, v)
    if best is None:
        return None
    t, a, v = best
    return Datum(key, v, time=str(a.time), instant=t, basis=basis)


def add_findings(
    data: dict[str, Datum],
    tl: Timeline,
    keys: Sequence[str],
    at: datetime,
    max_age_days: float | None,
    *,
    keep_existing: bool = False,
) -> None:
    """Put the latest yes/no finding of each key into ``data`` (absent findings stay absent).

    ``keep_existing``: a key already in ``data`` (e.g. given by an explicit input) is left as is.
    """
    for key in keys:
        if keep_existing and key in data:
            continue
        d = finding_datum(tl, key, at, max_age_days)
        if d is not None:
            data[key] = d


def stated_finding(
    tl: Timeline, value: str, at: datetime, max_age_days: float | None
) -> Datum | None:
    """A ``finding`` assessment with this value (``pancytopenia``): stated, not computed."""
    d = finding_datum(tl, value, at, max_age_days, basis="stated finding")
    return d if d is not None and d.value is True else None
