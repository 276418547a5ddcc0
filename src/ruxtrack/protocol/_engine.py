"""The one evaluator: any regimen's declared rules over many patient-days at once, on numpy arrays.

Each patient-day is a row of named columns (see :data:`COLUMN_DOC`); each rule condition becomes
two boolean arrays, *met* and *unknown* (three-valued logic: an unknown input never makes a rule
silently false when it could limit the dose). The per-decision path (``decide``)
runs this same evaluator on one row and then explains the row, so both paths agree by construction;
a property test checks that batching never changes a row's result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ruxtrack.protocol._schema import (
    FACT_CODES,
    LAB_CODES,
    LIMITING_EFFECTS,
    SCORE_CODES,
    Condition,
    Regimen,
)

__all__ = [
    "ACTIONS",
    "COLUMN_DOC",
    "FLAGS",
    "INTERVAL_LABS",
    "LAB_STATUS",
    "STATES",
    "ArrayDecisions",
    "evaluate_columns",
    "interval_columns",
    "required_columns",
]

Bool = NDArray[np.bool_]
Float = NDArray[np.float64]
Int = NDArray[np.int64]

#: Decision actions; the array path stores their index.
ACTIONS: tuple[str, ...] = (
    "start",
    "continue",
    "reduce",
    "hold",
    "resume",
    "discontinue",
    "complete",
    "not_eligible",
    "no_recommendation",
)
_A = {name: i for i, name in enumerate(ACTIONS)}
#: Dose state of a patient-day, derived from the recorded ruxolitinib exposures before that day.
STATES: tuple[str, ...] = ("naive", "on", "interrupted", "unknown")
#: Status of a required lab on the day.
LAB_STATUS: tuple[str, ...] = ("ok", "missing", "stale", "unconvertible", "incomplete")

#: Labs that may be an interval (a clinician-stated CTCAE grade) instead of a number.
INTERVAL_LABS: tuple[str, ...] = ("plt", "anc")

#: Engine-level findings (not rules of a file) reported with each row.
FLAGS: tuple[str, ...] = (
    "complete",
    "before_course",
    "population_fail",
    "population_unknown",
    "eligibility_fail",
    "eligibility_unknown",
    "labs_unusable",
    "unknown_condition",
    "dose_unknown",
    "bsa_modification",
    "below_lowest_level",
    "hold_continues",
    "hold_max_exceeded",
    "resume_after_hold",
    "stopped_no_restart",
    "unexplained_interruption",
    "alternate_off_day",
    "above_max",
    "above_band_max",
)

COLUMN_DOC: dict[str, str] = {
    "state": "0 naive, 1 on (dose recorded yesterday), 2 interrupted, 3 unknown",
    "course_day": "schedule day (regimens with a schedule), NaN unknown",
    "days_on_drug": "day of treatment, first dosing day = 1, NaN unknown",
    "current_daily": "daily mg recorded yesterday (on) or last recorded (interrupted)",
    "current_level": "dose-level index of current_daily (0 = top), NaN when not a level",
    "previous_level": "level index of the dose before the current one",
    "state_days": "days since the current dose (or the interruption) began",
    "<lab>": "plt, anc (10*9/L), bili_xuln (x ULN), crcl (mL/min); NaN when not usable",
    "<lab>_status": "index into LAB_STATUS",
    "<lab>@change": "the lab on the day the current dose (or interruption) began",
    "<lab>_lo, <lab>_hi (optional)": "closed bounds of plt/anc (a point: lo = hi = value; an "
    "interval from a stated CTCAE grade: its bounds, open ends moved one float inward); "
    "absent: the point column is used",
    "<lab>@change_lo, <lab>@change_hi (optional)": "the same on the day the current dose began",
    "plt_fall_pct, anc_fall_pct": "fall from the first day of dosing, %",
    "<fact>": "1 yes, 0 no, NaN unknown (liver_gvhd, dialysis, ...)",
    "age_years, bsa_m2": "NaN unknown",
    "drug:<class>, drug_mg:<class>": "interacting drug present (1/0), its daily mg (NaN unknown)",
}


def required_columns(regimen: Regimen) -> tuple[str, ...]:
    """Every column :func:`evaluate_columns` reads for this regimen."""
    cols = [
        "state",
        "course_day",
        "days_on_drug",
        "current_daily",
        "current_level",
        "previous_level",
        "state_days",
        "plt_fall_pct",
        "anc_fall_pct",
        "age_years",
        "bsa_m2",
    ]
    for lab in LAB_CODES:
        cols += [lab, f"{lab}_status", f"{lab}@change"]
    cols += list(FACT_CODES) + list(SCORE_CODES)
    for cls in regimen.drug_classes():
        cols += [f"drug:{cls}", f"drug_mg:{cls}", f"drug:{cls}@change", f"drug_mg:{cls}@change"]
    return tuple(cols)


def interval_columns() -> tuple[str, ...]:
    """Optional bound columns of the labs that may be intervals (see :data:`COLUMN_DOC`)."""
    out: list[str] = []
    for lab in INTERVAL_LABS:
        out += [f"{lab}_lo", f"{lab}_hi", f"{lab}@change_lo", f"{lab}@change_hi"]
    return tuple(out)


@dataclass(frozen=True)
class ArrayDecisions:
    """Decisions for many rows: one entry per row (``met``/``unknown``: one column per rule)."""

    action: Int
    daily_total_mg: Float
    base_daily_mg: Float
    final_daily_mg: Float
    final_level: Float
    winner: Int
    met: Bool
    unknown: Bool
    eligibility_met: Bool
    eligibility_unknown: Bool
    flags: dict[str, Bool]

    def __len__(self) -> int:
        return int(self.action.shape[0])

    def row(self, i: int) -> ArrayDecisions:
        """Row ``i`` as a one-row result."""
        sl = slice(i, i + 1)
        return ArrayDecisions(
            action=self.action[sl],
            daily_total_mg=self.daily_total_mg[sl],
            base_daily_mg=self.base_daily_mg[sl],
            final_daily_mg=self.final_daily_mg[sl],
            final_level=self.final_level[sl],
            winner=self.winner[sl],
            met=self.met[sl],
            unknown=self.unknown[sl],
            eligibility_met=self.eligibility_met[sl],
            eligibility_unknown=self.eligibility_unknown[sl],
            flags={k: v[sl] for k, v in self.flags.items()},
        )

    def action_names(self) -> list[str]:
        """The action of every row as text."""
        return [ACTIONS[i] for i in self.action.tolist()]


@dataclass(frozen=True)
class _Compiled:
    regimen: Regimen
    level_daily: Float  # top first
    phase_daily: Float  # by day offset from the first schedule day
    first_day: int
    last_day: int


_COMPILED: dict[int, _Compiled] = {}


def _compile(regimen: Regimen) -> _Compiled:
    hit = _COMPILED.get(id(regimen))
    if hit is not None and hit.regimen is regimen:
        return hit
    compiled = _compile_new(regimen)
    _COMPILED[id(regimen)] = compiled
    return compiled


def _compile_new(regimen: Regimen) -> _Compiled:
    level_daily = np.array([lv.daily_mg for lv in regimen.dose_levels], dtype=np.float64)
    if regimen.schedule is not None:
        s = regimen.schedule
        phase = np.concatenate(
            [np.full(p.last_day - p.first_day + 1, p.daily_mg) for p in s.phases]
        ).astype(np.float64)
        first, last = s.first_day, s.last_day
    else:
        phase, first, last = np.zeros(0), 0, -1
    return _Compiled(regimen, level_daily, phase, first, last)


def _in_range(
    x: Float, lt: float | None, le: float | None, gt: float | None, ge: float | None
) -> Bool:
    ok = ~np.isnan(x)
    if lt is not None:
        ok &= x < lt
    if le is not None:
        ok &= x <= le
    if gt is not None:
        ok &= x > gt
    if ge is not None:
        ok &= x >= ge
    return ok


def _interval_range(
    lo: Float, hi: Float, lt: float | None, le: float | None, gt: float | None, ge: float | None
) -> tuple[Bool, Bool]:
    """(every value of [lo, hi] is in the range, no value is); both False where NaN."""
    known = ~np.isnan(lo) & ~np.isnan(hi)
    every = known.copy()
    none = np.zeros(lo.shape, dtype=bool)
    if lt is not None:
        every &= hi < lt
        none |= lo >= lt
    if le is not None:
        every &= hi <= le
        none |= lo > le
    if gt is not None:
        every &= lo > gt
        none |= hi <= gt
    if ge is not None:
        every &= lo >= ge
        none |= hi < ge
    return every, known & none


def condition_arrays(
    cond: Condition, cols: dict[str, Float], regimen: Regimen, at_change: bool = False
) -> tuple[Bool, Bool]:
    """(met, unknown) of a condition over every row.

    With ``at_change`` the labs and drugs are those of the day the current dose began.
    """
    n = cols["state"].shape[0]
    met = np.ones(n, dtype=bool)
    false = np.zeros(n, dtype=bool)

    def clause(ok: Bool, known: Bool) -> None:
        nonlocal met, false
        met &= ok
        false |= known & ~ok

    for name, rng in cond.numeric_clauses():
        key = f"{name}@change" if at_change and name in LAB_CODES else name
        lo_col, hi_col = cols.get(f"{key}_lo"), cols.get(f"{key}_hi")
        if lo_col is None or hi_col is None:
            x = cols[key]
            clause(_in_range(x, rng.lt, rng.le, rng.gt, rng.ge), ~np.isnan(x))
            continue
        # an interval [lo, hi] (a point when lo == hi): the clause holds when every value in it
        # satisfies the range, fails when none does, and is unknown otherwise
        every, none = _interval_range(lo_col, hi_col, rng.lt, rng.le, rng.gt, rng.ge)
        met &= every
        false |= none
    for fact, expected in cond.fact_clauses():
        x = cols[fact]
        clause(~np.isnan(x) & ((x == 1.0) == expected), ~np.isnan(x))
    if cond.level is not None or cond.at_lowest_level is not None:
        cur = cols["current_level"]
        known = ~np.isnan(cur)
        if cond.level is not None:
            clause(known & (cur == regimen.level_index(cond.level)), known)
        if cond.at_lowest_level is not None:
            lowest = len(regimen.dose_levels) - 1
            clause(known & ((cur == lowest) == cond.at_lowest_level), known)
    if cond.drug_class is not None:
        sfx = "@change" if at_change else ""
        present = cols[f"drug:{cond.drug_class}{sfx}"]
        p_known = ~np.isnan(present)
        on_drug = p_known & (present == 1.0)
        if cond.drug_daily_mg is None:
            clause(on_drug, p_known)
        else:
            r = cond.drug_daily_mg
            mg = cols[f"drug_mg:{cond.drug_class}{sfx}"]
            ok = on_drug & _in_range(mg, r.lt, r.le, r.gt, r.ge)
            known = (p_known & (present == 0.0)) | (on_drug & ~np.isnan(mg))
            clause(ok, known)
    unknown = ~met & ~false
    return met, unknown


def _take(table: Float, idx: Float) -> Float:
    """table[idx] where idx is a valid index, NaN elsewhere."""
    out = np.full(idx.shape, np.nan)
    ok = ~np.isnan(idx) & (idx >= 0) & (idx < table.shape[0])
    out[ok] = table[idx[ok].astype(np.int64)]
    return out


def evaluate_columns(regimen: Regimen, cols: dict[str, Float]) -> ArrayDecisions:
    """Apply a regimen to every row of a column table.

    Parameters
    ----------
    regimen
        A loaded regimen.
    cols
        One float array per name in :func:`required_columns` (all the same length).

    Returns
    -------
    ArrayDecisions
        Action index, daily total (mg), the rules that fired and the engine findings, per row.
    """
    c = _compile(regimen)
    missing = [k for k in required_columns(regimen) if k not in cols]
    if missing:
        raise KeyError(f"columns missing: {', '.join(missing)}")
    state = cols["state"]
    n = state.shape[0]
    naive, on, intr, unk_state = (state == 0), (state == 1), (state == 2), (state == 3)
    rules = regimen.rules
    nr = len(rules)
    met = np.zeros((n, nr), dtype=bool)
    unk = np.zeros((n, nr), dtype=bool)
    chg = np.zeros((n, nr), dtype=bool)
    for j, r in enumerate(rules):
        met[:, j], unk[:, j] = condition_arrays(r.when, cols, regimen)
        chg[:, j] = condition_arrays(r.when, cols, regimen, at_change=True)[0]
    flags = {f: np.zeros(n, dtype=bool) for f in FLAGS}

    # -- population and eligibility (eligibility only before the first dose) -----------------
    age = cols["age_years"]
    pop = regimen.population
    if pop is not None:
        lo = -np.inf if pop.min_years is None else pop.min_years
        hi = np.inf if pop.below_years is None else pop.below_years
        known = ~np.isnan(age)
        flags["population_fail"] = known & ((age < lo) | (age >= hi))
        flags["population_unknown"] = ~known
    ne = len(regimen.eligibility)
    el_met = np.zeros((n, ne), dtype=bool)
    el_unk = np.zeros((n, ne), dtype=bool)
    for k, crit in enumerate(regimen.eligibility):
        el_met[:, k], el_unk[:, k] = condition_arrays(crit.when, cols, regimen)
    if ne:
        flags["eligibility_fail"] = naive & (~el_met & ~el_unk).any(axis=1)
        flags["eligibility_unknown"] = naive & el_unk.any(axis=1)

    # -- required labs ------------------------------------------------------------------------
    for req in regimen.required_labs:
        flags["labs_unusable"] |= cols[f"{req.column}_status"] != 0

    # -- base dose ----------------------------------------------------------------------------
    cur = cols["current_level"]
    prev = cols["previous_level"]
    current_daily = cols["current_daily"]
    nlev = c.level_daily.shape[0]
    start_level = np.full(n, np.nan)
    band_max = np.full(n, np.nan)
    bsa_band = np.zeros(n, dtype=bool)
    start_daily = np.full(n, np.nan)
    if regimen.schedule is not None:
        day = cols["course_day"]
        known = ~np.isnan(day)
        in_course = known & (day >= c.first_day) & (day <= c.last_day)
        base_daily = np.full(n, np.nan)
        base_daily[in_course] = c.phase_daily[(day[in_course] - c.first_day).astype(np.int64)]
        flags["complete"] = known & (day > c.last_day)
        flags["before_course"] = known & (day < c.first_day)
        base_level = np.full(n, np.nan)
    else:
        assigned = np.zeros(n, dtype=bool)
        for band in regimen.start:
            lo = -np.inf if band.min_years is None else band.min_years
            hi = np.inf if band.below_years is None else band.below_years
            inb = ~assigned & ~np.isnan(age) & (age >= lo) & (age < hi)
            if band.level is not None:
                start_level[inb] = regimen.level_index(band.level)
                band_max[inb] = regimen.level_index(band.max_level or band.level)
            else:
                assert band.mg_per_m2 is not None
                bsa_band |= inb
                start_daily[inb] = band.mg_per_m2 * len(band.slots) * cols["bsa_m2"][inb]
            assigned |= inb
        start_daily = np.where(
            np.isnan(start_level), start_daily, _take(c.level_daily, start_level)
        )
        base_level = np.where(naive, start_level, np.where(on | intr, cur, np.nan))
        base_level = np.where(bsa_band, np.nan, base_level)
        base_daily = np.where(
            bsa_band,
            np.where(naive, start_daily, np.where(on, current_daily, np.nan)),
            _take(c.level_daily, base_level),
        )

    # -- interruptions: which rule caused them, and have they recovered -----------------------
    hold_idx = [j for j, r in enumerate(rules) if r.effect == "hold"]
    stop_idx = [j for j, r in enumerate(rules) if r.effect in ("discontinue", "avoid")]
    cause_stop = intr & (chg[:, stop_idx].any(axis=1) if stop_idx else np.zeros(n, dtype=bool))
    cause_any_hold = np.zeros(n, dtype=bool)
    all_recovered = np.ones(n, dtype=bool)
    resume_level = np.full(n, -np.inf)
    for j in hold_idx:
        rec = rules[j].recovery
        assert rec is not None
        cause = intr & chg[:, j]
        cause_any_hold |= cause
        r_met, _ = condition_arrays(rec.when, cols, regimen)
        target = {
            "same_level": cur,
            "one_level_lower": cur + 1,
            "initial_level": start_level,
        }[rec.resume]
        recovered = r_met
        if rec.max_days is not None:
            over = cause & ~r_met & (cols["state_days"] >= rec.max_days)
            flags["hold_max_exceeded"] |= over
            if rec.on_max == "resume_one_level_lower":
                recovered = recovered | over
                target = np.where(over, cur + 1, target)
        all_recovered &= ~cause | recovered
        resume_level = np.where(cause, np.fmax(resume_level, target), resume_level)
    resume_level = np.where(np.isinf(resume_level), np.nan, resume_level)
    resumes = intr & cause_any_hold & all_recovered & ~cause_stop
    flags["hold_continues"] = intr & cause_any_hold & ~all_recovered
    flags["stopped_no_restart"] = cause_stop
    flags["unexplained_interruption"] = intr & ~cause_any_hold & ~cause_stop
    flags["resume_after_hold"] = resumes
    below_on_resume = resumes & (resume_level > nlev - 1)
    if regimen.dose_levels:
        base_level = np.where(intr, np.where(resumes, resume_level, np.nan), base_level)
        base_daily = np.where(intr, _take(c.level_daily, base_level), base_daily)
    elif regimen.schedule is not None:
        base_daily = np.where(intr & ~resumes, np.nan, base_daily)

    # -- returns to the previous level (after a reduction that has resolved) ------------------
    fired = met.copy()
    reduced_now = on & ~np.isnan(cur) & ~np.isnan(prev) & (cur > prev)
    for j, r in enumerate(rules):
        if r.effect != "return_to_previous":
            continue
        idx = [regimen.rules.index(regimen.rule(a)) for a in r.after_rules]
        ok = met[:, j] & reduced_now & chg[:, idx].any(axis=1)
        if r.within_days is not None:
            ok &= cols["state_days"] <= r.within_days
        fired[:, j] = ok
        unk[:, j] = False
        if not r.optional:
            base_level = np.where(ok, prev, base_level)
    if regimen.dose_levels:
        base_daily = np.where(bsa_band, base_daily, _take(c.level_daily, base_level))

    # -- candidates: caps and reductions (most restrictive wins) ------------------------------
    if regimen.dose_levels:
        # the highest level the source gives for the age band bounds the base dose
        band_max_daily = _take(c.level_daily, band_max)
        flags["above_band_max"] = ~np.isnan(band_max_daily) & (base_daily > band_max_daily)
        base_daily = np.where(flags["above_band_max"], band_max_daily, base_daily)
        base_level = np.where(flags["above_band_max"], band_max, base_level)
    cand = [base_daily]
    cand_rule = [-1]
    for j, r in enumerate(rules):
        m = met[:, j]
        if r.effect == "cap":
            value = (
                float(c.level_daily[regimen.level_index(r.cap_level)])
                if r.cap_level is not None
                else float(sum(a.dose_mg for a in r.administrations))
            )
            cand.append(np.where(m, value, np.inf))
        elif r.effect == "reduce_levels":
            assert r.levels is not None
            # a time-based step (taper) is never "already applied"; a lab/drug-driven one is,
            # when the current dose began with its condition met
            applied = reduced_now & chg[:, j] & (r.when.state_days is None)
            target = np.where(applied, cur, base_level + r.levels)
            below = m & ~np.isnan(target) & (target > nlev - 1)
            flags["below_lowest_level"] |= below & ~bsa_band
            cand.append(np.where(m & ~below, _take(c.level_daily, target), np.inf))
        elif r.effect == "reduce_to_percent":
            assert r.percent is not None
            reduced = base_daily * (r.percent / 100.0)
            if regimen.dose_levels:
                applied = reduced_now & chg[:, j]
                reduced = np.where(applied, current_daily, reduced)
            cand.append(np.where(m, reduced, np.inf))
        else:
            continue
        cand_rule.append(j)
        if r.effect in ("reduce_levels", "reduce_to_percent", "cap"):
            flags["bsa_modification"] |= m & bsa_band
    stack = np.vstack(cand)
    winner_pos = np.argmin(np.where(np.isnan(stack), np.inf, stack), axis=0)
    final = np.min(stack, axis=0)  # NaN (unknown base) propagates
    final = np.where(np.isinf(final), np.nan, final)
    winner = np.asarray(cand_rule, dtype=np.int64)[winner_pos]
    flags["below_lowest_level"] |= below_on_resume

    # -- alternate-day dosing (schedule regimens) ---------------------------------------------
    dose = final.copy()
    alt = [j for j, r in enumerate(rules) if r.effect == "alternate_day"]
    any_alt = np.zeros(n, dtype=bool)
    if alt:
        frac = np.full(n, np.inf)
        for j in alt:
            f = rules[j].fraction_on_dosing_days
            assert f is not None
            frac = np.where(met[:, j], np.fmin(frac, f), frac)
        any_alt = ~np.isinf(frac)
        odd = (cols["course_day"] % 2) == 1
        dose = np.where(any_alt, np.where(odd, final * np.where(any_alt, frac, 1.0), 0.0), final)
        flags["alternate_off_day"] = any_alt & ~odd & ~np.isnan(final)

    # -- final level, limits --------------------------------------------------------------------
    final_level = np.full(n, np.nan)
    for k in range(nlev):
        final_level = np.where(np.isnan(final_level) & (final == c.level_daily[k]), k, final_level)
    flags["above_max"] = ~np.isnan(dose) & (dose > regimen.max_daily_mg)

    # -- action by priority -------------------------------------------------------------------
    limiting = np.array(
        [r.effect in LIMITING_EFFECTS and r.when_unknown == "block" for r in rules], dtype=bool
    )
    no_rows: Bool = np.zeros(n, dtype=bool)
    flags["unknown_condition"] = np.asarray(unk[:, limiting].any(axis=1)) if nr else no_rows
    stop_now: Bool = np.asarray(met[:, stop_idx].any(axis=1)) if stop_idx else no_rows
    hold_now = met[:, hold_idx].any(axis=1) if hold_idx else np.zeros(n, dtype=bool)
    hold_now |= flags["below_lowest_level"]
    norec_rule = np.zeros(n, dtype=bool)
    for j, r in enumerate(rules):
        if r.effect == "no_recommendation":
            norec_rule |= met[:, j]
    flags["dose_unknown"] = np.isnan(final)

    action = np.full(n, -1, dtype=np.int64)

    def assign(mask: Bool, name: str) -> None:
        sel = mask & (action == -1)
        action[sel] = _A[name]

    assign(flags["complete"], "complete")
    assign(flags["population_fail"], "not_eligible")
    assign(flags["eligibility_fail"], "not_eligible")
    assign(naive & stop_now, "not_eligible")
    assign(stop_now, "discontinue")
    assign(hold_now | flags["hold_continues"], "hold")
    assign(flags["before_course"] | flags["population_unknown"], "no_recommendation")
    assign(flags["eligibility_unknown"], "no_recommendation")
    assign(flags["stopped_no_restart"] | flags["unexplained_interruption"], "no_recommendation")
    assign(flags["labs_unusable"] | flags["unknown_condition"] | norec_rule, "no_recommendation")
    assign(
        flags["dose_unknown"] | flags["bsa_modification"] | flags["above_max"], "no_recommendation"
    )
    if regimen.dose_levels:
        assign(unk_state, "no_recommendation")
    eps = 1e-9
    modified = (final < base_daily - eps) | flags["above_band_max"]
    if alt:
        # alternate-day dosing: a reduction on dosing days, the regimen continuing on the others
        assign(any_alt & flags["alternate_off_day"] & (on | unk_state), "continue")
        assign(any_alt & (on | unk_state) & (dose < base_daily - eps), "reduce")
    assign(naive, "start")
    assign(intr, "resume")
    assign(on & modified & (np.isnan(current_daily) | (final < current_daily - eps)), "reduce")
    assign(on & (final > current_daily + eps), "resume")
    assign(on, "continue")
    assign(unk_state & modified, "reduce")
    assign(unk_state, "continue")
    dosing = np.isin(action, [_A["start"], _A["continue"], _A["reduce"], _A["resume"]])
    daily_total = np.where(dosing, dose, 0.0)
    return ArrayDecisions(
        action=action,
        daily_total_mg=daily_total,
        base_daily_mg=base_daily,
        final_daily_mg=final,
        final_level=final_level,
        winner=winner,
        met=fired,
        unknown=unk,
        eligibility_met=el_met,
        eligibility_unknown=el_unk,
        flags=flags,
    )
