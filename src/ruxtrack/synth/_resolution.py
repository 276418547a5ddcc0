"""Calibrate who meets the study's resolution of hyperinflammation (Sarmiento 2021: 10 of 18).

The study defines resolution (``marker_response`` in its study file) per patient: every marker
of a set that is above its normal upper limit at the start either fell by more than a fraction
by the end or is within its normal range then. Table 2 prints each marker's median and range at
each time point, never the pairing of a patient's start and end values, and its LDH (end median
322 U/L above the 224 U/L limit, a third below the start median) makes the paper's 55 % nearly
the most any pairing can give. Drawing the time points with a shared latent factor gives about
a quarter.

So, within one block of patients and for each marker of the definition, the generator re-pairs
values among the patients measured at both time points: a patient's *head* (its values up to
and including the start) and *tail* (its values after the start) move as units, and only
between patients, so every time point keeps exactly the values it was drawn with. Then:

1. resolvers (the patients of the calibrated group) get heads and tails that meet the
   definition, with as few exchanges with the other patients as possible (the smallest number,
   found by bisection, of least-capable resolver heads or largest resolver tails exchanged with
   the other patients' best ones);
2. every other patient with an evaluable marker is given one marker that does not meet it, by
   exchanging its tail with the nearest tail that fails for it and keeps the donor's own status.

Nothing here draws random numbers: the result is a function of the block's draws.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from ruxtrack.errors import KnowledgeFileError
from ruxtrack.knowledge import load_yaml
from ruxtrack.synth._targets import TIME_POINTS
from ruxtrack.synth._units import canonical_unit

__all__ = ["ResolutionRule", "calibrate_resolution", "meets", "resolution_rule", "resolved"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class ResolutionRule:
    """The study's definition, in the generator's terms (canonical units, time-point indices)."""

    markers: tuple[str, ...]
    start: int
    end: int
    fraction: float
    high: dict[str, float]


@cache
def resolution_rule(study: str, derived: str) -> ResolutionRule:
    """Read the ``marker_response`` variable ``derived`` of the packaged study ``study``.

    Only the raw YAML is read (the cohort package, with its query engine, stays unloaded). The
    markers' normal upper limits must be given in the unit the generator writes.
    """
    where = f"studies/{study}.yaml"
    data = load_yaml(where)
    spec = next((d for d in data.get("derived", []) if d.get("name") == derived), None)
    if spec is None or spec.get("kind") != "marker_response":
        raise KnowledgeFileError(where, f"derived.{derived}: no marker_response variable")
    points: dict[str, int] = {tp: i for i, tp in enumerate(TIME_POINTS)}
    start, end = spec.get("start"), spec.get("to")
    if start not in points or end not in points or points[start] >= points[end]:
        raise KnowledgeFileError(
            where, f"derived.{derived}: start/to must be generator time points in order"
        )
    catalogue = {m["code"]: m for m in data.get("markers", [])}
    high: dict[str, float] = {}
    for code in spec["markers"]:
        m = catalogue.get(code)
        if m is None or m.get("normal", {}).get("high") is None:
            raise KnowledgeFileError(where, f"markers.{code}: no normal upper limit")
        if m.get("unit") != canonical_unit(code):
            raise KnowledgeFileError(
                where, f"markers.{code}: unit {m.get('unit')} is not {canonical_unit(code)}"
            )
        high[code] = float(m["normal"]["high"])
    return ResolutionRule(
        markers=tuple(spec["markers"]),
        start=points[start],
        end=points[end],
        fraction=float(spec["fraction"]),
        high=high,
    )


def meets(start: F64, end: F64, high: float, fraction: float) -> Bool:
    """The definition for one marker: fell by more than ``fraction`` or is normal at the end.

    The same comparison as the study's ``marker_response`` (``end < start * (1 - fraction)`` or
    ``end <= high``); a start within the normal range is not counted by the study and is left
    to the caller.
    """
    out: Bool = (end < start * (1 - fraction)) | (end <= high)
    return out


@dataclass
class _Marker:
    """One marker's values and presence in a block (n x time points), as written.

    A missing start counts as the most capable head (the study does not count the marker) and a
    missing end as the smallest tail (likewise); exchanges move presence with the values.
    """

    values: F64
    present: Bool
    high: float
    fraction: float
    start: int
    end: int

    @property
    def s(self) -> F64:
        return self.values[:, self.start]

    @property
    def e(self) -> F64:
        return self.values[:, self.end]

    def cap(self) -> F64:
        """Start as a capability: +inf where the marker is not counted whatever the end."""
        out: F64 = np.where(self.present[:, self.start] & (self.s > self.high), self.s, np.inf)
        return out

    def e_eff(self) -> F64:
        """End as a demand: -inf where it is missing (any start is then left uncounted)."""
        out: F64 = np.where(self.present[:, self.end], self.e, -np.inf)
        return out

    def counted(self) -> Bool:
        out: Bool = self.present[:, self.start] & self.present[:, self.end] & (self.s > self.high)
        return out

    def failing(self) -> Bool:
        """Patients for whom this marker is counted and does not meet the definition."""
        out: Bool = self.counted() & ~meets(self.s, self.e, self.high, self.fraction)
        return out

    def swap(self, a: I64, b: I64, part: slice) -> None:
        """Exchange ``part`` (head or tail columns, values and presence) between a and b."""
        for arr in (self.values, self.present):
            held = arr[a, part].copy()
            arr[a, part] = arr[b, part]
            arr[b, part] = held


def _pairable(m: _Marker, caps: F64, tails: F64) -> bool:
    """Can heads of these capabilities be paired with these tails (``e_eff``) so all meet?

    Uncounted heads (+inf) need nothing; the rest, in increasing order, take the smallest tails
    in increasing order (meeting is monotone: a larger start or a smaller end never hurts, so
    this pairing is the best there is).
    """
    s = np.sort(caps[np.isfinite(caps)])
    if s.size == 0:
        return True
    e = np.sort(tails)[: s.size]
    return bool(meets(s, e, m.high, m.fraction).all())


def _fewest(ok: Callable[[int], bool], hi: int) -> int:
    """Smallest k in [0, hi] with ok(k) (monotone), or hi when none is."""
    if ok(0):
        return 0
    if not ok(hi):
        return hi
    lo = 0  # ok(lo) is False, ok(hi) is True
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


def _exchange(
    key: F64,
    res: I64,
    others: I64,
    ok: Callable[[I64, I64], bool],
    swap: Callable[[I64, I64], None],
) -> None:
    """Exchange the k worst resolvers' parts with the k best other patients' by ``key`` (lower
    is worse), k the fewest for which ``ok(kept resolvers, taken others)`` holds."""
    r_order = res[np.argsort(key[res], kind="stable")]
    o_order = others[np.argsort(-key[others], kind="stable")]
    n_pairs = min(res.size, others.size)
    # Only exchanges that help the resolvers (beyond them, ok(k) would not be monotone).
    useful = int(np.sum(key[r_order[:n_pairs]] < key[o_order[:n_pairs]]))
    k = _fewest(lambda k: ok(r_order[k:], o_order[:k]), useful)
    if k:
        swap(r_order[:k], o_order[:k])


def _panels_meet(markers: list[_Marker], res: I64, others: I64, head: slice) -> None:
    """Step 0: exchange whole start panels (every marker's head together) first.

    Resolvers need high starts on every marker; moving a patient's panel as a unit keeps the
    markers correlated at the start, which exchanging one marker at a time would dilute. The
    key is the mean rank of the markers' capabilities.
    """
    caps = [m.cap() for m in markers]
    if all(_pairable(m, c[res], m.e_eff()) for m, c in zip(markers, caps, strict=True)):
        return
    ranks = np.mean([np.argsort(np.argsort(c, kind="stable")) for c in caps], axis=0)

    def ok(keep: I64, take: I64) -> bool:
        return all(
            _pairable(m, np.concatenate([c[keep], c[take]]), m.e_eff())
            for m, c in zip(markers, caps, strict=True)
        )

    def swap(a: I64, b: I64) -> None:
        for m in markers:
            m.swap(a, b, head)

    _exchange(ranks.astype(np.float64), res, others, ok, swap)


def _resolvers_meet(m: _Marker, res: I64, others: I64, head: slice, tail: slice) -> None:
    """Step 1 for one marker: no resolver has it counted and failing."""
    if res.size == 0 or not m.failing()[res].any():
        return
    # Heads: the resolvers' least capable ones against the others' most capable, judged with
    # the best tails the block has.
    cap, pool = m.cap(), m.e_eff()
    _exchange(
        cap, res, others,
        lambda keep, take: _pairable(m, np.concatenate([cap[keep], cap[take]]), pool),
        lambda a, b: m.swap(a, b, head),
    )  # fmt: skip
    # Tails: the resolvers' largest ends against the others' smallest.
    cap, neg = m.cap(), -m.e_eff()
    _exchange(
        neg, res, others,
        lambda keep, take: _pairable(m, cap[res], -np.concatenate([neg[keep], neg[take]])),
        lambda a, b: m.swap(a, b, tail),
    )  # fmt: skip
    if not m.failing()[res].any():
        return
    # Re-pair the resolvers' own tails: counted starts in increasing order take the smallest
    # ends in increasing order; the uncounted keep the rest in their own order.
    cap, e = m.cap(), m.e_eff()
    counted = res[np.isfinite(cap[res])]
    free = res[~np.isfinite(cap[res])]
    by_end = res[np.argsort(e[res], kind="stable")]
    receivers = np.concatenate(
        [counted[np.argsort(cap[counted], kind="stable")], free[np.argsort(e[free], kind="stable")]]
    )
    for arr in (m.values, m.present):
        arr[receivers, tail] = arr[by_end, tail].copy()


def _others_fail(markers: list[_Marker], others: I64, head: slice, tail: slice) -> None:
    """Step 2: every other patient with a counted marker fails on at least one marker.

    For each such patient, marker by marker (those most others already fail on first), its tail
    is exchanged with the nearest tail that makes it fail, else its head with the nearest head
    that does; the donor must keep its own status (a resolver still meets; another patient
    still fails somewhere).
    """
    failing = np.stack([m.failing() for m in markers], axis=1)
    counted = np.stack([m.counted() for m in markers], axis=1)
    need = others[counted[others].any(axis=1) & ~failing[others].any(axis=1)]
    if need.size == 0:
        return
    is_other = np.zeros(failing.shape[0], dtype=bool)
    is_other[others] = True
    order = np.argsort(-failing[others].sum(axis=0), kind="stable")
    for i in need:
        done = False
        for j in order:
            m = markers[j]
            if not counted[i, j]:
                continue
            both = m.present[:, m.start] & m.present[:, m.end]
            other_fail = (failing & ~np.eye(len(markers), dtype=bool)[j]).any(axis=1)
            for part in (tail, head):
                if part is tail:
                    # i keeps its start and takes the donor's end; the donor takes i's end
                    # (a donor whose start is within the limit is not counted: it meets).
                    fails_i = ~meets(np.full_like(m.e, m.s[i]), m.e, m.high, m.fraction)
                    d_meets = meets(m.s, np.full_like(m.s, m.e[i]), m.high, m.fraction)
                    d_meets |= m.s <= m.high
                    key = m.e
                else:
                    # i keeps its end and takes the donor's start (above the limit); the donor
                    # takes i's start, which is above the limit too.
                    fails_i = (m.s > m.high) & ~meets(
                        m.s, np.full_like(m.s, m.e[i]), m.high, m.fraction
                    )
                    d_meets = meets(np.full_like(m.e, m.s[i]), m.e, m.high, m.fraction)
                    key = m.s
                keeps = np.where(is_other, other_fail | ~d_meets, d_meets)
                donors = np.flatnonzero(both & fails_i & keeps)
                donors = donors[donors != i]
                if donors.size == 0:
                    continue
                d = donors[np.argmin(np.abs(np.log(key[donors]) - np.log(key[i])))]
                m.swap(np.asarray([i]), np.asarray([d]), part)
                now = m.failing()
                failing[i, j], failing[d, j] = bool(now[i]), bool(now[d])
                done = True
                break
            if done:
                break


def calibrate_resolution(
    values: dict[str, F64],
    present: dict[str, Bool],
    resolver: Bool,
    rule: ResolutionRule,
) -> None:
    """Re-pair the block's marker values in place so exactly ``resolver`` patients resolve.

    ``values[code]`` is n x time points (canonical unit, already rounded as written);
    ``present[code]`` says which are written. Patients with no counted marker stay
    unevaluable, as the study leaves them.
    """
    head = slice(0, rule.start + 1)
    tail = slice(rule.start + 1, len(TIME_POINTS))
    res, others = np.flatnonzero(resolver), np.flatnonzero(~resolver)
    markers = [
        _Marker(values[c], present[c], rule.high[c], rule.fraction, rule.start, rule.end)
        for c in rule.markers
    ]
    _panels_meet(markers, res, others, head)
    for m in markers:
        _resolvers_meet(m, res, others, head, tail)
    _others_fail(markers, others, head, tail)


def resolved(
    values: dict[str, F64], present: dict[str, Bool], rule: ResolutionRule
) -> npt.NDArray[np.float64]:
    """The definition per patient: 1.0 resolved, 0.0 not, NaN when no marker is counted."""
    n = next(iter(values.values())).shape[0]
    counted = np.zeros(n, dtype=np.int64)
    ok = np.zeros(n, dtype=np.int64)
    for code in rule.markers:
        v, p = values[code], present[code]
        c = p[:, rule.start] & p[:, rule.end] & (v[:, rule.start] > rule.high[code])
        g = meets(v[:, rule.start], v[:, rule.end], rule.high[code], rule.fraction)
        counted += c
        ok += c & g
    out: F64 = np.where(counted == 0, np.nan, (ok == counted).astype(np.float64))
    return out
