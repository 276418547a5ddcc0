"""The 15-day regimen with its platelet/ANC rules, applied to generated counts (vectorised).

Each course day takes the latest monitoring count at or before it; the most restrictive rule
wins (stop over 50 %), a 50 % reduction lasts while the count is below the threshold and a stop
is final (semantics in the targets file). Doses are then run-length encoded into drug rows: a
dose change starts a new row, as the data format requires.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ruxtrack.synth._targets import CalibrationTargets

if TYPE_CHECKING:
    from ruxtrack.synth._cohort import _Rows

__all__ = ["RegimenCourse", "simulate_regimen"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]

DAY = 86_400
ICU_REASON = "transfer to ICU on invasive ventilation: oral route interrupted"
_FREQS = ("QD", "BID")


@dataclass(frozen=True)
class RegimenCourse:
    """Per patient: last dosing day (offset from the start), why the course stopped early."""

    last_dose_day: I64
    stop_day: I64  # offset of the stopping day, -1 when the course was completed
    stop_rule: I64  # index of the stopping rule, -1 none, -2 ICU interruption
    stop_reason: npt.NDArray[np.object_]


def simulate_regimen(
    t: CalibrationTargets,
    interrupted: Bool,
    monitoring_days: I64,
    monitoring_values: dict[str, F64],
    drugs: _Rows,
    pidx: I64,
    start: I64,
) -> RegimenCourse:
    """Apply the regimen and its rules; add the ruxolitinib rows to ``drugs``."""
    reg = t.regimen
    n = pidx.size
    days = reg.days
    sched = np.zeros(days)
    freq = np.zeros(days, dtype=np.int64)
    for p in reg.phases:
        sched[p.first_day - 1 : p.last_day] = p.dose_mg
        freq[p.first_day - 1 : p.last_day] = _FREQS.index(p.frequency)
    offsets = np.arange(days)
    count_idx = np.searchsorted(monitoring_days, offsets, side="right") - 1
    if (count_idx < 0).any():
        raise ValueError("the first monitoring day must be the start (day offset 0)")

    stop_now = np.zeros((n, days), dtype=bool)
    stop_rule_day = np.full((n, days), -1, dtype=np.int64)
    halve_rule = np.full((n, days), -1, dtype=np.int64)
    for ri in range(len(reg.rules) - 1, -1, -1):  # earlier rules win where several fire
        rule = reg.rules[ri]
        below = monitoring_values[rule.code][:, count_idx] < rule.below
        if rule.action == "stop":
            stop_now |= below
            stop_rule_day = np.where(below, ri, stop_rule_day)
        else:
            halve_rule = np.where(below, ri, halve_rule)
    stop_now[:, 1:] |= interrupted[:, None]
    stopped = np.logical_or.accumulate(stop_now, axis=1)
    factor = np.where(stopped, 0.0, np.where(halve_rule >= 0, 0.5, 1.0))
    dose = sched[None, :] * factor
    reason_code = np.where(stopped, -1, halve_rule)

    any_stop = stopped.any(axis=1)
    stop_day = np.where(any_stop, np.argmax(stopped, axis=1), -1).astype(np.int64)
    rows = np.arange(n)
    rule_at_stop = stop_rule_day[rows, np.maximum(stop_day, 0)]
    stop_rule = np.where(any_stop, np.where(rule_at_stop >= 0, rule_at_stop, -2), -1)
    reasons = np.array([r.reason for r in reg.rules] + [ICU_REASON, ""], dtype=object)
    stop_reason = reasons[np.where(stop_rule >= 0, stop_rule, np.where(stop_rule == -2, -2, -1))]
    given = dose > 0
    last = np.where(given.any(axis=1), days - 1 - np.argmax(given[:, ::-1], axis=1), 0)

    _encode_rows(t, dose, freq, reason_code, drugs, pidx, start)
    return RegimenCourse(
        last_dose_day=last.astype(np.int64),
        stop_day=stop_day,
        stop_rule=stop_rule.astype(np.int64),
        stop_reason=stop_reason,
    )


def _encode_rows(
    t: CalibrationTargets,
    dose: F64,
    freq: I64,
    reason_code: I64,
    drugs: _Rows,
    pidx: I64,
    start: I64,
) -> None:
    """Run-length encode daily doses into rows (vectorised over the flattened n x days grid)."""
    n, days = dose.shape
    fgrid = np.broadcast_to(freq, (n, days))
    change = np.ones((n, days), dtype=bool)
    change[:, 1:] = (
        (dose[:, 1:] != dose[:, :-1])
        | (fgrid[:, 1:] != fgrid[:, :-1])
        | (reason_code[:, 1:] != reason_code[:, :-1])
    )
    last_of_run = np.ones((n, days), dtype=bool)
    last_of_run[:, :-1] = change[:, 1:]
    given = dose > 0
    starts = np.flatnonzero((change & given).ravel())
    ends = np.flatnonzero((last_of_run & given).ravel())
    row = starts // days
    o_start = starts % days
    o_end = ends % days
    flat_dose = dose.ravel()[starts]
    flat_freq = fgrid.ravel()[starts]
    flat_reason = reason_code.ravel()[starts]
    first = np.ones(starts.size, dtype=bool)
    first[1:] = row[1:] != row[:-1]
    prev_reason = np.full(starts.size, -1, dtype=np.int64)
    prev_reason[1:] = flat_reason[:-1]
    rule_text = np.array([r.reason for r in t.regimen.rules], dtype=object)
    reason = np.where(
        flat_reason >= 0,
        np.where(first, "start; ", "").astype(object) + rule_text[np.maximum(flat_reason, 0)],
        np.where(first, "start", np.where(prev_reason >= 0, "count recovered: scheduled dose",
                                           "taper: next phase of the regimen")),
    ).astype(object)  # fmt: skip
    day0 = start - start % DAY
    begin = day0[row] + o_start * DAY
    end = day0[row] + o_end * DAY
    mask = np.ones(starts.size, dtype=bool)
    drugs.add(
        mask, pidx[row], begin, drug="ruxolitinib", dose=flat_dose, unit="mg",
        frequency=np.asarray(_FREQS, dtype=object)[flat_freq], route="oral", start=begin, end=end,
        reason=reason,
    )  # fmt: skip
