"""One block of synthetic seed-004-like patients, vectorised with numpy (no per-patient loops).

A block is the unit of randomness: it draws from its own stream, so output never depends on how
blocks are grouped for writing. :func:`simulate_block` returns the block's rows per canonical file
as column arrays, sorted by patient and time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

from ruxtrack.errors import RuxtrackError
from ruxtrack.synth._marginals import SplitLogNormal, mixture_uniform, to_uniform
from ruxtrack.synth._regimen import RegimenCourse, simulate_regimen
from ruxtrack.synth._resolution import calibrate_resolution, resolution_rule
from ruxtrack.synth._targets import (
    GROUPS,
    TIME_POINTS,
    CalibrationTargets,
    GroupName,
    Marker,
    TimePoint,
    TruncNormal,
)
from ruxtrack.synth._units import canonical_unit

__all__ = ["Block", "Columns", "SynthError", "simulate_block"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]
Columns = dict[str, Any]

DAY = 86_400
HOUR = 3_600
MINUTE = 60
#: Clock time of the first ruxolitinib dose (09:00) and of morning labs (06:00), in seconds.
DOSE_CLOCK = 9 * HOUR
LAB_CLOCK = 6 * HOUR
_EPOCH = np.datetime64("1970-01-01T00:00:00", "s")


class SynthError(RuxtrackError, ValueError):
    """The generator was asked for something it cannot produce (bad size, seed or format)."""


@dataclass
class _Rows:
    """Rows of one canonical file being assembled from vectorised slots."""

    pidx: list[I64] = field(default_factory=list)
    sort_time: list[I64] = field(default_factory=list)
    cols: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, mask: Bool, pidx: I64, sort_time: I64, **values: Any) -> None:
        sel = np.flatnonzero(mask)
        if sel.size == 0:
            return
        self.pidx.append(pidx[sel])
        self.sort_time.append(np.broadcast_to(sort_time, mask.shape)[sel].astype(np.int64))
        for name, v in values.items():
            arr = np.broadcast_to(np.asarray(v), mask.shape)[sel]
            self.cols.setdefault(name, []).append(arr)
        for name in self.cols:
            if name not in values:
                raise SynthError(f"internal: column {name} missing from a slot")

    def build(self) -> tuple[I64, Columns]:
        if not self.pidx:
            return np.zeros(0, np.int64), {}
        pidx = np.concatenate(self.pidx)
        t = np.concatenate(self.sort_time)
        order = np.lexsort((np.arange(pidx.size), t, pidx))
        cols = {name: np.concatenate(parts)[order] for name, parts in self.cols.items()}
        return pidx[order], cols


@dataclass(frozen=True)
class Block:
    """One block's rows: per file, the local patient index of each row and its columns."""

    n: int
    first_index: int
    tables: dict[str, tuple[I64, Columns]]


def _choice(rng: np.random.Generator, probs: F64) -> I64:
    """One category per row of ``probs`` (n x k, rows summing to 1)."""
    cum = np.cumsum(probs, axis=1)
    u = np.asarray(rng.random(probs.shape[0]), dtype=np.float64).reshape(-1, 1)
    out: I64 = np.minimum((u > cum).sum(axis=1), probs.shape[1] - 1).astype(np.int64)
    return out


def _quotas(fractions: list[float], n: int) -> list[int]:
    """Largest-remainder counts for ``fractions`` of ``n`` (sum exactly n)."""
    raw = [f * n for f in fractions]
    counts = [int(np.floor(r)) for r in raw]
    rest = n - sum(counts)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - counts[i]), i))
    for i in order[:rest]:
        counts[i] += 1
    return counts


def _assign(rng: np.random.Generator, eligible: Bool, counts: list[int]) -> I64:
    """Exact allocation: category k to ``counts[k]`` randomly chosen eligible rows (others -1)."""
    out = np.full(eligible.shape[0], -1, dtype=np.int64)
    idx = rng.permutation(np.flatnonzero(eligible))
    if sum(counts) > idx.size:
        raise SynthError(f"internal: {sum(counts)} allocations for {idx.size} patients")
    start = 0
    for k, c in enumerate(counts):
        out[idx[start : start + c]] = k
        start += c
    return out


def _pick(rng: np.random.Generator, eligible: Bool, k: int) -> Bool:
    """Exactly ``k`` randomly chosen eligible rows."""
    out: Bool = _assign(rng, eligible, [k]) == 0
    return out


def _int_between(rng: np.random.Generator, lo: I64 | int, hi: I64 | int, n: int) -> I64:
    """Integers uniform in [lo, hi] (inclusive), elementwise."""
    lo_a = np.broadcast_to(np.asarray(lo, dtype=np.int64), (n,))
    hi_a = np.broadcast_to(np.asarray(hi, dtype=np.int64), (n,))
    out: I64 = lo_a + np.floor(rng.random(n) * (hi_a - lo_a + 1)).astype(np.int64)
    return out


def _uniform(rng: np.random.Generator, bounds: tuple[float, float], n: int) -> F64:
    out: F64 = bounds[0] + rng.random(n) * (bounds[1] - bounds[0])
    return out


def _epoch_seconds(d: datetime) -> int:
    return int((np.datetime64(d, "s") - _EPOCH).astype(np.int64))


# -- patient attributes ----------------------------------------------------------------------
@dataclass
class _Patients:
    group: I64
    male: Bool
    age: F64
    blood: I64  # index into blood groups, -1 not available
    conditions: Bool  # n x k
    steroid: Bool
    tocilizumab: Bool
    hcq: Bool
    antibiotics: Bool
    lpv: Bool
    il6: Bool
    early: Bool
    toxic: Bool
    interrupted: Bool
    start_hfnc: Bool
    late_state: I64  # 0 imv, 1 home oxygen, 2 hospital fio2 40 (late responders), else -1
    imaging_dx: I64
    imaging_w8: I64
    swab_negative: Bool


def _group_probs(targets: CalibrationTargets) -> F64:
    n = np.array([g.n for g in targets.groups], dtype=np.float64)
    out: F64 = n / n.sum()
    return out


def _by_group(group: I64, table: dict[GroupName, dict[str, float]], labels: list[str]) -> F64:
    probs = np.zeros((group.size, len(labels)))
    for gi, g in enumerate(GROUPS):
        row = [table.get(g, {}).get(label, 0.0) for label in labels]
        probs[group == gi] = row
    return probs


def _categorical_by_group(
    rng: np.random.Generator,
    exact: bool,
    group: I64,
    table: dict[GroupName, dict[str, float]],
    labels: list[str],
    eligible: Bool | None = None,
) -> I64:
    n = group.size
    elig: Bool = np.ones(n, dtype=bool) if eligible is None else eligible
    if not exact:
        out = _choice(rng, _by_group(group, table, labels))
        return np.where(elig, out, -1)
    out = np.full(n, -1, dtype=np.int64)
    for gi, g in enumerate(GROUPS):
        mask = (group == gi) & elig
        fr = table.get(g)
        if fr is None or not mask.any():
            continue
        counts = _quotas([fr.get(label, 0.0) for label in labels], int(mask.sum()))
        got = _assign(rng, mask, counts)
        out[mask] = got[mask]
    return out


def _bernoulli_by_group(
    rng: np.random.Generator, exact: bool, group: I64, p: dict[GroupName, float]
) -> Bool:
    table = {g: {"yes": v, "no": 1.0 - v} for g, v in p.items()}
    out: Bool = _categorical_by_group(rng, exact, group, table, ["yes", "no"]) == 0
    return out


def _patients(rng: np.random.Generator, t: CalibrationTargets, n: int, exact: bool) -> _Patients:
    cohort_n = t.cohort.n
    gp = _group_probs(t)
    # Outcome group (Results; Table 3).
    if exact:
        group = _assign(rng, np.ones(n, bool), [g.n for g in t.groups])
    else:
        group = _choice(rng, np.broadcast_to(gp, (n, gp.size)))
    gidx = {g: i for i, g in enumerate(GROUPS)}

    # Sex (Table 1; per group only in the exact demo allocation).
    if exact:
        male = np.zeros(n, bool)
        for g, c in t.sex.by_group_exact.items():
            male |= _pick(rng, group == gidx[g], c.male)
    else:
        male = rng.random(n) < t.sex.male / cohort_n

    # Age: Table 3 bins by group, Table 1 range.
    labels = [b.name for b in t.age.bins]
    age_bin = _categorical_by_group(rng, exact, group, dict(t.age.by_group), labels)
    lo = np.array([b.low for b in t.age.bins])[age_bin]
    hi = np.array([b.high for b in t.age.bins])[age_bin]
    u = rng.random(n)
    descending = np.array([b.shape == "descending" for b in t.age.bins])[age_bin]
    frac = np.where(descending, 1.0 - np.sqrt(1.0 - u), u)
    age = np.floor(lo + frac * (hi - lo))
    age = np.clip(age, t.age.low, t.age.high)

    # Blood group (Table 1).
    bg_counts = [*t.blood_group.counts.values(), t.blood_group.not_available]
    if exact:
        blood = _assign(rng, np.ones(n, bool), bg_counts)
    else:
        p = np.array(bg_counts, dtype=np.float64) / cohort_n
        blood = _choice(rng, np.broadcast_to(p, (n, p.size)))
    blood = np.where(blood == len(t.blood_group.counts), -1, blood)

    # Treatment-related flags needed before the comorbidity links.
    sg = {g: 1.0 if g in t.toxicity.suspended_groups else 0.0 for g in GROUPS}
    eligible_tox = np.isin(group, [gidx[g] for g in t.toxicity.suspended_groups])
    if exact:
        toxic = _pick(rng, eligible_tox, t.toxicity.suspended_thrombocytopenia)
        interrupted = _pick(rng, group == gidx["progression"], t.outcomes.progression_interrupted_n)
    else:
        n_elig = sum(t.group(g).n for g in GROUPS if sg[g] > 0)
        toxic = eligible_tox & (rng.random(n) < t.toxicity.suspended_thrombocytopenia / n_elig)
        interrupted = (group == gidx["progression"]) & (
            rng.random(n) < t.outcomes.progression_interrupted
        )

    conditions = _conditions(rng, t, n, exact, group, toxic)
    steroid, toci, hcq, abx, lpv = _prior(rng, t, n, exact)

    il6_avail = t.marker("il6").availability
    if il6_avail is None:
        raise SynthError("targets: il6 needs an availability entry")
    if exact:
        il6 = _pick(rng, np.ones(n, bool), round(il6_avail.patients * n / il6_avail.of))
    else:
        il6 = rng.random(n) < il6_avail.patients / il6_avail.of

    early = _bernoulli_by_group(rng, exact, group, dict(t.early_start.by_group))
    at_start = {g: {str(k): p for k, p in v.items()} for g, v in t.support.at_start.items()}
    start_mode = _categorical_by_group(rng, exact, group, at_start, ["hfnc", "face_mask"])
    start_hfnc = start_mode == 0
    # Late responders: the face-mask starters are the ones intubated later (Table 4, see YAML).
    late = group == gidx["late_responder"]
    ls = t.support.late_state_at_8_weeks
    rest = ls["home_oxygen"] + ls["hospital_fio2_40"]
    non_imv = _categorical_by_group(
        rng, exact, group,
        {"late_responder": {"home": ls["home_oxygen"] / rest,
                            "hosp": ls["hospital_fio2_40"] / rest}},
        ["home", "hosp"], eligible=late & start_hfnc,
    )  # fmt: skip
    late_state = np.where(late & ~start_hfnc, 0, np.where(non_imv >= 0, non_imv + 1, -1))
    late_state = np.where(late, late_state, -1)

    dx_labels = sorted({k for v in t.imaging.at_diagnosis.values() for k in v})
    w8_labels = sorted({k for v in t.imaging.at_8_weeks.values() for k in v})
    imaging_dx = _categorical_by_group(rng, exact, group, dict(t.imaging.at_diagnosis), dx_labels)
    imaging_w8 = _categorical_by_group(rng, exact, group, dict(t.imaging.at_8_weeks), w8_labels)
    sw = t.swab_negative
    swab = _bernoulli_by_group(
        rng, exact, group,
        {"complete_response": sw.complete_response, "late_responder": sw.late_responder,
         "progression": sw.progression},
    )  # fmt: skip
    return _Patients(
        group=group, male=male, age=age, blood=blood, conditions=conditions, steroid=steroid,
        tocilizumab=toci, hcq=hcq, antibiotics=abx, lpv=lpv, il6=il6, early=early, toxic=toxic,
        interrupted=interrupted, start_hfnc=start_hfnc, late_state=late_state,
        imaging_dx=imaging_dx, imaging_w8=imaging_w8, swab_negative=swab,
    )  # fmt: skip


def _conditions(
    rng: np.random.Generator, t: CalibrationTargets, n: int, exact: bool, group: I64, toxic: Bool
) -> Bool:
    names = [c.name for c in t.comorbidities]
    k = len(names)
    if not exact:
        p = np.array([c.n for c in t.comorbidities], dtype=np.float64) / t.cohort.n
        out: Bool = rng.random((n, k)) < p
        return out
    # Exact demo allocation with the paper's links: the Hodgkin and one myeloma patient died (the
    # progression group), the cirrhosis patient had the thrombocytopenia suspension; exactly
    # comorbidity_free.n patients have none.
    prog: Bool = np.asarray(group == GROUPS.index("progression"), dtype=bool)
    forced = np.zeros((n, k), dtype=bool)
    taken = np.zeros(n, dtype=bool)
    for name in t.outcomes.demo_links.progression_comorbidities:
        j = names.index(name)
        chosen = _pick(rng, np.logical_and(prog, ~taken), 1)
        forced[chosen, j] = True
        taken |= chosen
    j_link = names.index(t.toxicity.demo_link_comorbidity)
    forced[_pick(rng, toxic, 1), j_link] = True
    unlinked: Bool = np.asarray(~forced.any(axis=1), dtype=bool)
    free = _pick(rng, unlinked, t.comorbidity_free.n)
    for _attempt in range(1000):
        out = forced.copy()
        for j, c in enumerate(t.comorbidities):
            need = c.n - int(out[:, j].sum())
            out[:, j] |= _pick(rng, ~free & ~out[:, j], need)
        if bool(out[~free].any(axis=1).all()):
            return out
    raise SynthError("internal: could not allocate comorbidities with the paper's constraints")


def _prior(
    rng: np.random.Generator, t: CalibrationTargets, n: int, exact: bool
) -> tuple[Bool, Bool, Bool, Bool, Bool]:
    pt = t.prior_treatment
    cn = t.cohort.n
    ones = np.ones(n, dtype=bool)
    if exact:
        steroid = _pick(rng, ones, pt.corticosteroids)
        toci = _pick(rng, steroid, pt.both) | _pick(rng, ~steroid, pt.tocilizumab - pt.both)
        return (
            steroid,
            toci,
            _pick(rng, ones, pt.hydroxychloroquine),
            _pick(rng, ones, pt.antibiotics),
            _pick(rng, ones, pt.lopinavir_ritonavir),
        )
    steroid = rng.random(n) < pt.corticosteroids / cn
    p_toci = np.where(
        steroid,
        pt.both / pt.corticosteroids,
        (pt.tocilizumab - pt.both) / (cn - pt.corticosteroids),
    )
    toci = rng.random(n) < p_toci
    return (
        steroid,
        toci,
        rng.random(n) < pt.hydroxychloroquine / cn,
        rng.random(n) < pt.antibiotics / cn,
        rng.random(n) < pt.lopinavir_ritonavir / cn,
    )


# -- times -------------------------------------------------------------------------------------
@dataclass
class _Times:
    admission: I64
    start: I64  # first dose, 09:00
    positive: I64
    d_as: I64
    tp: dict[TimePoint, I64]


def _times(rng: np.random.Generator, t: CalibrationTargets, pt: _Patients, n: int) -> _Times:
    a2s = t.admission_to_start
    dist = SplitLogNormal.fit(a2s.median, a2s.low, a2s.high, a2s.n)
    d_as = np.clip(np.rint(dist.ppf(rng.random(n))), a2s.low, a2s.high).astype(np.int64)
    first = _epoch_seconds(datetime.combine(t.cohort.dates.first, datetime.min.time()))
    span_days = (t.cohort.dates.last - t.cohort.dates.first).days
    adm_day = _int_between(rng, 0, span_days - d_as, n)
    adm_clock = _int_between(rng, 0, 24 * 60 - 1, n) * MINUTE
    admission = first + adm_day * DAY + adm_clock
    start = first + (adm_day + d_as) * DAY + DOSE_CLOCK
    es = t.early_start
    k_early = _int_between(rng, 1, es.max_days_from_positive, n)
    k_late = _int_between(rng, es.max_days_from_positive + 1, d_as + es.late_extra_days[1], n)
    k = np.where(pt.early, k_early, k_late)
    pos_clock = _int_between(rng, 7 * 60, 20 * 60, n) * MINUTE
    positive = first + (adm_day + d_as - k) * DAY + pos_clock
    tp: dict[TimePoint, I64] = {}
    for name, spec in t.time_points.items():
        base = admission if spec.anchor == "admission" else start
        tp[name] = base + int(spec.offset_hours * HOUR)
    return _Times(admission, start, positive, d_as, tp)


# -- courses: support, outcomes ------------------------------------------------------------------
@dataclass
class _Course:
    switch: I64  # start of the start-mode episode
    ep2_mode: npt.NDArray[np.str_]
    ep2_fio2: F64
    ep2_fixed: Bool  # FiO2 printed by the paper (complete responders' face mask 0.3)
    ep2_end: I64  # -1 ongoing never happens here
    ep3_mode: npt.NDArray[np.str_]  # "" none
    ep3_start: I64
    ep3_end: I64
    ep3_fio2: F64
    ep3_flow: F64
    intubation: I64  # -1 none
    extubation: I64
    discharge: I64
    death: I64
    adm_fio2: F64


def _course(
    rng: np.random.Generator,
    t: CalibrationTargets,
    pt: _Patients,
    tm: _Times,
    fio2_tp: dict[TimePoint, F64],
) -> _Course:
    """Support episodes, intubation, discharge and death by group (Table 4 and the YAML timing).

    ``fio2_tp`` is the FiO2 that gives each time point's SpO2/FiO2 ratio; an episode without a
    FiO2 printed by the paper takes it from the first time point inside it.
    """
    n = pt.group.size
    tim = t.support.timing
    g = pt.group
    cr, late, prog = (g == 0), (g == 1), (g == 2)
    s = tm.start

    def days(lo_hi: tuple[int, int]) -> I64:
        out: I64 = _int_between(rng, lo_hi[0], lo_hi[1], n) * DAY
        return out

    k = _int_between(rng, *tim.pre_start_switch_days, n)
    switch = s - k * DAY - 6 * HOUR
    switch = np.maximum(switch, tm.admission + HOUR)
    ep2_mode = np.where(pt.start_hfnc, "hfnc", "face_mask")
    ep2_fixed = cr & ~pt.start_hfnc
    ep2_fio2 = np.where(ep2_fixed, t.support.face_mask_fio2_complete_response, fio2_tp["start"])

    death = np.full(n, -1, np.int64)
    intubation = np.full(n, -1, np.int64)
    extubation = np.full(n, -1, np.int64)
    discharge = np.full(n, -1, np.int64)
    ep3_mode = np.full(n, "", dtype="<U13")
    ep3_start = np.full(n, -1, np.int64)
    ep3_end = np.full(n, -1, np.int64)
    ep3_fio2 = np.full(n, np.nan)
    ep3_flow = np.full(n, np.nan)

    # Complete responders: oxygen for some days after the start, discharged after the course.
    cr_end = s + days(tim.complete_response_oxygen_days)
    cr_dis = s + days(tim.complete_response_discharge_days) + 5 * HOUR
    # Late responders (Table 4 states at 8 weeks).
    ls = pt.late_state
    l_int = s + days(tim.late_imv_intubation_days) + 2 * HOUR
    l_ext = s + days(tim.late_imv_extubation_days)
    l_ext_dis = l_ext + days(tim.late_discharge_after_extubation_days)
    l_hfnc_end = s + days(tim.late_hfnc_days)
    l_home_dis = s + days(tim.late_home_discharge_days) + 5 * HOUR
    l_home_o2_end = s + days(tim.late_home_oxygen_end_days)
    l_hosp_end = s + days(tim.late_hospital_oxygen_end_days)
    l_hosp_dis = l_hosp_end + days(tim.late_hospital_discharge_after_days)
    # Progression: intubated within 24 h (interrupted) or after the course; died before 8 weeks.
    p_int_h = _uniform(rng, tim.progression_interrupt_hours, n)
    p_int = np.where(
        pt.interrupted,
        s + np.rint(p_int_h * 60).astype(np.int64) * MINUTE,
        s + days(tim.progression_late_intubation_days) + 3 * HOUR,
    )
    p_death = s + days(tim.progression_death_days) + _int_between(rng, 0, 23 * 60, n) * MINUTE
    p_death = np.maximum(p_death, p_int + 5 * DAY)

    ep2_end = np.where(cr, cr_end, 0)
    discharge = np.where(cr, cr_dis, discharge)

    l_imv = late & (ls == 0)
    l_home = late & (ls == 1)
    l_hosp = late & (ls == 2)
    ep2_end = np.where(l_imv, l_int, ep2_end)
    ep2_end = np.where(l_home | l_hosp, l_hfnc_end, ep2_end)
    intubation = np.where(l_imv, l_int, intubation)
    extubation = np.where(l_imv, l_ext, extubation)
    discharge = np.where(l_imv, l_ext_dis, discharge)
    ep3_mode = np.where(l_imv, "imv", ep3_mode)
    ep3_start = np.where(l_imv, l_int, ep3_start)
    ep3_end = np.where(l_imv, l_ext, ep3_end)
    ep3_fio2 = np.where(l_imv, np.nan, ep3_fio2)
    ep3_mode = np.where(l_home, "nasal_cannula", ep3_mode)
    ep3_start = np.where(l_home, l_hfnc_end, ep3_start)
    ep3_end = np.where(l_home, l_home_o2_end, ep3_end)
    ep3_flow = np.where(l_home, np.rint(_uniform(rng, tim.home_oxygen_flow, n)), ep3_flow)
    discharge = np.where(l_home, l_home_dis, discharge)
    ep3_mode = np.where(l_hosp, "face_mask", ep3_mode)
    ep3_start = np.where(l_hosp, l_hfnc_end, ep3_start)
    ep3_end = np.where(l_hosp, l_hosp_end, ep3_end)
    ep3_fio2 = np.where(l_hosp, t.support.hospital_fio2_late, ep3_fio2)
    discharge = np.where(l_hosp, l_hosp_dis, discharge)

    ep2_end = np.where(prog, p_int, ep2_end)
    intubation = np.where(prog, p_int, intubation)
    death = np.where(prog, p_death, death)
    ep3_mode = np.where(prog, "imv", ep3_mode)
    ep3_start = np.where(prog, p_int, ep3_start)
    ep3_end = np.where(prog, p_death, ep3_end)
    ep3_fio2 = np.where(prog, np.nan, ep3_fio2)
    # An IMV episode's FiO2 is the one measured at the first Table 2 time point inside it.
    for tp in reversed(TIME_POINTS):
        inside = (ep3_mode == "imv") & (tm.tp[tp] >= ep3_start) & (tm.tp[tp] < ep3_end)
        ep3_fio2 = np.where(inside, fio2_tp[tp], ep3_fio2)
    return _Course(
        switch=switch, ep2_mode=ep2_mode, ep2_fio2=ep2_fio2, ep2_fixed=ep2_fixed, ep2_end=ep2_end,
        ep3_mode=ep3_mode,
        ep3_start=ep3_start, ep3_end=ep3_end, ep3_fio2=ep3_fio2, ep3_flow=ep3_flow,
        intubation=intubation, extubation=extubation, discharge=discharge, death=death,
        adm_fio2=fio2_tp["admission"],
    )  # fmt: skip


def _fio2_at(c: _Course, tm: _Times, when: I64, derived: F64) -> tuple[F64, Bool]:
    """FiO2 (%) at ``when`` and a nasal-cannula flag (no FiO2 is measured on a cannula).

    A FiO2 printed by the paper for the running episode wins (face mask 0.3, 0.4); on room air
    it is 21 %; otherwise it is ``derived`` from the time point's SpO2/FiO2 ratio.
    """
    in1 = (when >= tm.admission) & (when < c.switch)
    in2 = (when >= c.switch) & (when < c.ep2_end)
    in3 = (c.ep3_start >= 0) & (when >= c.ep3_start) & (when < c.ep3_end)
    nc = in3 & (c.ep3_mode == "nasal_cannula")
    fixed2 = in2 & c.ep2_fixed
    fixed3 = in3 & (c.ep3_mode == "face_mask")
    fio2 = np.where(in1 | in2 | in3, derived, 21.0)
    fio2 = np.where(fixed2, c.ep2_fio2, fio2)
    fio2 = np.where(fixed3, c.ep3_fio2, fio2)
    return fio2, nc


# -- labs --------------------------------------------------------------------------------------
def _marker_values(
    rng: np.random.Generator, t: CalibrationTargets, pt: _Patients, marker: Marker, latent: F64
) -> F64:
    """Values (canonical unit) of one Table 2 marker at the four time points: n x 4."""
    n = pt.group.size
    im = t.inflammation_model
    ld = im.loadings
    weights = [g.n for g in t.groups]
    persistent = rng.standard_normal(n)
    out = np.empty((n, len(TIME_POINTS)))
    for j, tp in enumerate(TIME_POINTS):
        shifts = [im.group_shift[tp][g] for g in GROUPS]
        z = (
            np.asarray(shifts)[pt.group]
            + ld.latent * latent[:, j]
            + ld.persistent * persistent
            + ld.noise * rng.standard_normal(n)
        )
        u = mixture_uniform(z, shifts, weights)
        s = marker.at[tp]
        dist = SplitLogNormal.fit(s.median, s.low, s.upper, marker.n)
        out[:, j] = dist.ppf(u) * marker.factor
    return out


def _latent(rng: np.random.Generator, t: CalibrationTargets, n: int) -> F64:
    rho = t.inflammation_model.latent_autocorrelation
    latent = np.empty((n, len(TIME_POINTS)))
    latent[:, 0] = rng.standard_normal(n)
    for j in range(1, len(TIME_POINTS)):
        latent[:, j] = rho * latent[:, j - 1] + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    return latent


def _round(values: F64, decimals: int) -> F64:
    out: F64 = np.round(values, decimals)
    return out


# -- block ---------------------------------------------------------------------------------------
def simulate_block(
    targets: CalibrationTargets,
    rng: np.random.Generator,
    n: int,
    first_index: int,
    exact: bool,
    supplement_rng: np.random.Generator | None = None,
) -> Block:
    """Simulate ``n`` patients (global indices from ``first_index``) with one random stream.

    ``exact`` allocates the paper's counts instead of sampling proportions (only for a cohort of
    the paper's size). ``supplement_rng`` draws the variables added after the first release
    (``supplement`` in the targets: body weight and height, creatinine on the monitoring days,
    eligibility facts); it never touches ``rng``, so the rows drawn from ``rng`` are the same
    with or without it.
    """
    t = targets
    pt = _patients(rng, t, n, exact)
    tm = _times(rng, t, pt, n)
    pidx = np.arange(n, dtype=np.int64)
    rows = {name: _Rows() for name in ("events", "observations", "drugs", "support", "assessments")}
    obs = rows["observations"]

    def lab(mask: Bool, when: I64, code: str, values: F64, unit: str) -> None:
        ok = mask & np.isfinite(values)
        obs.add(ok, pidx, when, time=when, code=code, value=values, unit=unit)

    # SpO2/FiO2 (Table 1 at admission; project-judgement multipliers after): the FiO2 that keeps
    # SpO2 near its target at each time point's ratio.
    sf = t.sf_ratio
    sf_adm = SplitLogNormal.fit(sf.median, sf.low, sf.high, sf.n).ppf(rng.random(n))
    ratio: dict[TimePoint, F64] = {}
    derived: dict[TimePoint, F64] = {}
    spo2_target: dict[TimePoint, F64] = {}
    for tp in TIME_POINTS:
        if tp == "admission":
            ratio[tp] = sf_adm
        else:
            mult = np.array([sf.multipliers[g][tp] for g in GROUPS])[pt.group]
            ratio[tp] = sf_adm * mult * np.exp(0.05 * rng.standard_normal(n))
        spo2_target[tp] = _uniform(rng, sf.spo2_target, n)
        derived[tp] = np.clip(np.rint(spo2_target[tp] * 100.0 / ratio[tp]), 21, 100)
    course = _course(rng, t, pt, tm, derived)
    spo2_lo, spo2_hi = sf.spo2_bounds
    for tp in TIME_POINTS:
        when = tm.tp[tp]
        fio2, nc = _fio2_at(course, tm, when, derived[tp])
        spo2 = np.where(
            nc,
            np.rint(spo2_target[tp]),
            np.clip(np.rint(ratio[tp] * fio2 / 100.0), spo2_lo, spo2_hi),
        )
        present = rng.random(n) >= t.inflammation_model.missing[tp]
        lab(present, when, "spo2", spo2, canonical_unit("spo2"))
        lab(present & ~nc, when, "fio2", fio2, canonical_unit("fio2"))

    # Table 2 inflammation markers.
    latent = _latent(rng, t, n)
    m_values: dict[str, F64] = {}
    m_present: dict[str, Bool] = {}
    for marker in t.markers:
        m_values[marker.code] = _round(_marker_values(rng, t, pt, marker, latent), marker.decimals)
        available = pt.il6 if marker.availability is not None else np.ones(n, bool)
        m_present[marker.code] = np.stack(
            [available & (rng.random(n) >= t.inflammation_model.missing[tp]) for tp in TIME_POINTS],
            axis=1,
        )
    if t.resolution is not None:
        # Exactly the calibrated group meets the study's resolution definition (a re-pairing
        # of values among patients; no random numbers drawn).
        res = t.resolution
        calibrate_resolution(
            m_values,
            m_present,
            pt.group == GROUPS.index(res.group),
            resolution_rule(res.study, res.derived),
        )
    for marker in t.markers:
        for j, tp in enumerate(TIME_POINTS):
            lab(
                m_present[marker.code][:, j],
                tm.tp[tp],
                marker.code,
                m_values[marker.code][:, j],
                canonical_unit(marker.code),
            )

    # Blood counts (Table 1 at admission; project-judgement dynamics after).
    cnt = t.counts
    dyn = cnt.dynamics
    z_wbc = rng.standard_normal(n)
    rho = dyn.correlation_wbc_anc
    z_anc = rho * z_wbc + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    fit = {
        k: SplitLogNormal.fit(m.median, m.low, m.high, t.cohort.n)
        for k, m in (("wbc", cnt.wbc), ("anc", cnt.anc), ("lymph", cnt.lymph), ("plt", cnt.plt))
    }
    anc0 = fit["anc"].ppf(to_uniform(z_anc))
    lymph0 = fit["lymph"].ppf(rng.random(n))
    wbc0 = np.maximum(fit["wbc"].ppf(to_uniform(z_wbc)), anc0 + lymph0 + dyn.wbc_floor_other)
    other = wbc0 - anc0 - lymph0
    z_plt = rng.standard_normal(n)
    plt0 = fit["plt"].ppf(to_uniform(z_plt))
    rp = dyn.plt_start_correlation
    z_plt_s = rp * z_plt + np.sqrt(1 - rp**2) * rng.standard_normal(n)
    f_min = float(fit["plt"].cdf(dyn.plt_start_min))
    plt_s = fit["plt"].ppf(f_min + to_uniform(z_plt_s) * (1.0 - f_min))
    g_plt = dyn.plt_daily_growth.mean + dyn.plt_daily_growth.sd * rng.standard_normal(n)
    g_anc = dyn.anc_daily_growth.mean + dyn.anc_daily_growth.sd * rng.standard_normal(n)
    lg = np.array([[dyn.lymph_daily_growth[g].mean, dyn.lymph_daily_growth[g].sd] for g in GROUPS])
    g_lym = lg[pt.group, 0] + lg[pt.group, 1] * rng.standard_normal(n)
    tox = t.toxicity
    nadir_day = np.asarray(tox.nadir_day_choices)[
        _int_between(rng, 0, len(tox.nadir_day_choices) - 1, n)
    ]
    nadir_val = _uniform(rng, tox.nadir_value, n)
    ol = t.other_labs
    hb0 = SplitLogNormal.fit(ol.hb.median, ol.hb.low, ol.hb.high, t.cohort.n).ppf(rng.random(n))
    cr0 = SplitLogNormal.fit(ol.creat.median, ol.creat.low, ol.creat.high, t.cohort.n).ppf(
        rng.random(n)
    )

    def counts_at(days_from_start: F64) -> dict[str, F64]:
        """Counts at a time given in days from the ruxolitinib start (negative: before)."""
        tau = days_from_start + tm.d_as  # days from admission (haemoglobin, creatinine)
        after = np.maximum(days_from_start, 0.0)
        plt = plt_s * np.exp(g_plt * after)
        dip = np.log(np.maximum(plt_s * np.exp(g_plt * nadir_day) / nadir_val, 1.0))
        bump = np.maximum(0.0, 1.0 - np.abs(after - nadir_day) / tox.nadir_width_days)
        plt = np.where(pt.toxic & (days_from_start >= 0), plt * np.exp(-dip * bump), plt)
        anc = anc0 * np.exp(g_anc * after)
        lymph = lymph0 * np.exp(g_lym * after)
        return {
            "plt": plt,
            "anc": anc,
            "lymph": lymph,
            "wbc": anc + lymph + other,
            "hb": hb0 * np.exp(ol.hb.daily_change * tau),
            "creat": cr0 * np.exp(ol.creat.daily_change * tau),
        }

    decimals = {
        "plt": cnt.plt.decimals, "anc": cnt.anc.decimals, "lymph": cnt.lymph.decimals,
        "wbc": cnt.wbc.decimals, "hb": ol.hb.decimals, "creat": ol.creat.decimals,
    }  # fmt: skip
    # Platelets and ANC after admission come from the monitoring series (every 2 days during the
    # course and on day 15; the Table 2 days 0, 8 and 15 are among them): always measured, since
    # every dosing decision needs them. The rest of the panel follows Table 2's time points.
    mon = np.asarray(dyn.monitoring_days, dtype=np.int64)
    mon_when = tm.start[:, None] + mon[None, :] * DAY - (DOSE_CLOCK - LAB_CLOCK)
    mon_counts = [counts_at((mon_when[:, j] - tm.start) / DAY) for j in range(mon.size)]
    mon_vals = {
        code: np.stack([_round(c[code], decimals[code]) for c in mon_counts], axis=1)
        for code in ("plt", "anc")
    }
    for j in range(mon.size):
        for code in ("plt", "anc"):
            lab(np.ones(n, bool), mon_when[:, j], code, mon_vals[code][:, j], canonical_unit(code))
    creat_drawn: dict[TimePoint, Bool] = {}
    for tp in TIME_POINTS:
        when = tm.tp[tp]
        if tp == "admission":
            vals = {"plt": plt0, "anc": anc0, "lymph": lymph0, "wbc": wbc0, "hb": hb0, "creat": cr0}
            panel: tuple[str, ...] = ("wbc", "anc", "lymph", "plt", "hb", "creat")
        else:
            vals = counts_at((when - tm.start) / DAY)
            panel = ("wbc", "lymph", "hb", "creat")
        present = rng.random(n) >= t.inflammation_model.missing[tp]
        creat_drawn[tp] = present
        for code in panel:
            lab(present, when, code, _round(vals[code], decimals[code]), canonical_unit(code))

    reg = simulate_regimen(t, pt.interrupted, mon, mon_vals, rows["drugs"], pidx, tm.start)
    _events(t, pt, tm, course, reg.last_dose_day, rows["events"], pidx)
    _support_rows(course, tm, rows["support"], pidx)
    _prior_drugs(rng, t, pt, tm, rows["drugs"], pidx)
    _assessments(t, pt, tm, course, reg, mon, mon_when, mon_vals, rows["assessments"], pidx)

    if supplement_rng is not None:
        creat_course = np.stack(
            [counts_at((mon_when[:, j] - tm.start) / DAY)["creat"] for j in range(mon.size)],
            axis=1,
        )
        _supplement(t, supplement_rng, pt, tm, mon_when, creat_course, creat_drawn, rows, pidx)

    patients = _patient_columns(t, pt)
    tables: dict[str, tuple[I64, Columns]] = {"patients": (pidx, patients)}
    for name, r in rows.items():
        tables[name] = r.build()
    return Block(n=n, first_index=first_index, tables=tables)


def _patient_columns(t: CalibrationTargets, pt: _Patients) -> Columns:
    names = [c.name for c in t.comorbidities]
    k = len(names)
    weights = (1 << np.arange(k)).astype(np.int64)
    code = (pt.conditions.astype(np.int64) * weights).sum(axis=1)
    lookup = np.array(
        ["; ".join(names[j] for j in range(k) if (c >> j) & 1) for c in range(1 << k)], dtype=object
    )
    bg = np.array([*t.blood_group.counts.keys(), ""], dtype=object)
    n = pt.group.size
    return {
        "sex": np.where(pt.male, "male", "female").astype(object),
        "age_years": pt.age,
        "age_at": np.full(n, "admission", dtype=object),
        "blood_group": bg[pt.blood],
        "comorbidities": lookup[code],
        "synthetic": np.ones(n, dtype=bool),
    }


def _events(
    t: CalibrationTargets, pt: _Patients, tm: _Times, c: _Course, last_dose_day: I64,
    ev: _Rows, pidx: I64,
) -> None:  # fmt: skip
    n = pidx.size
    yes = np.ones(n, dtype=bool)

    def add(mask: Bool, name: str, when: I64) -> None:
        ev.add(mask, pidx, when, event=name, time=when)

    add(yes, "covid_positive", tm.positive)
    add(yes, "admission", tm.admission)
    add(yes, "rux_start", tm.start)
    add(yes, "rux_stop", tm.start + last_dose_day * DAY)
    add(c.intubation >= 0, "icu_admission", c.intubation)
    add(c.intubation >= 0, "intubation", c.intubation)
    add(c.extubation >= 0, "extubation", c.extubation)
    add(c.discharge >= 0, "discharge", c.discharge)
    add(c.death >= 0, "death", c.death)
    followup = tm.start + t.cohort.follow_up_days * DAY
    add(c.death < 0, "last_followup", np.maximum(followup, c.discharge))


def _support_rows(c: _Course, tm: _Times, sup: _Rows, pidx: I64) -> None:
    n = pidx.size
    nan = np.full(n, np.nan)
    sup.add(np.ones(n, bool), pidx, tm.admission, mode="face_mask", start=tm.admission,
            end=c.switch, fio2=c.adm_fio2, flow_l_min=nan)  # fmt: skip
    sup.add(np.ones(n, bool), pidx, c.switch, mode=c.ep2_mode, start=c.switch, end=c.ep2_end,
            fio2=c.ep2_fio2, flow_l_min=nan)  # fmt: skip
    has3 = c.ep3_start >= 0
    sup.add(has3, pidx, c.ep3_start, mode=c.ep3_mode, start=c.ep3_start, end=c.ep3_end,
            fio2=c.ep3_fio2, flow_l_min=c.ep3_flow)  # fmt: skip


def _prior_drugs(
    rng: np.random.Generator, t: CalibrationTargets, pt: _Patients, tm: _Times, drugs: _Rows,
    pidx: I64,
) -> None:  # fmt: skip
    n = pidx.size
    adm_day = tm.admission - tm.admission % DAY
    start_day = tm.start - tm.start % DAY
    regs = t.prior_treatment.regimens
    flags: dict[str, Bool] = {
        "corticosteroids": pt.steroid, "tocilizumab": pt.tocilizumab,
        "hydroxychloroquine": pt.hcq, "antibiotics": pt.antibiotics,
        "lopinavir_ritonavir": pt.lpv,
    }  # fmt: skip
    for kind, mask in flags.items():
        spec = regs[kind]  # type: ignore[index]
        days_before = ((start_day - adm_day) // DAY).astype(np.int64)
        offset = _int_between(rng, 0, np.maximum(days_before - 1, 0), n)
        begin = adm_day + offset * DAY
        end = begin + (spec.days - 1) * DAY
        drugs.add(
            mask, pidx, begin, drug=spec.drug, dose=float(spec.dose), unit=spec.unit,
            frequency=spec.frequency, route=spec.route, start=begin, end=end,
            reason=f"before ruxolitinib ({kind.replace('_', ' ')})",
        )  # fmt: skip


def _assessments(
    t: CalibrationTargets, pt: _Patients, tm: _Times, c: _Course, reg: RegimenCourse, mon: I64,
    mon_when: I64, mon_vals: dict[str, F64], out: _Rows, pidx: I64,
) -> None:  # fmt: skip
    n = pidx.size
    yes = np.ones(n, bool)
    w8 = tm.start + 56 * DAY
    dead = c.death >= 0
    late_time = np.where(dead, c.death - 2 * DAY, w8)

    def add(mask: Bool, when: I64, kind: str, value: Any, code: Any = "") -> None:
        out.add(mask, pidx, when, time=when, kind=kind, value=value, code=code)

    groups = np.array(GROUPS, dtype=object)
    add(yes, np.where(dead, c.death, w8), "response_group", groups[pt.group])
    dx_labels = np.array(sorted({k for v in t.imaging.at_diagnosis.values() for k in v}), object)
    w8_labels = np.array(sorted({k for v in t.imaging.at_8_weeks.values() for k in v}), object)
    add(yes, tm.admission + DAY, "imaging", dx_labels[pt.imaging_dx], "chest_imaging")
    add(yes, late_time, "imaging", w8_labels[pt.imaging_w8], "chest_imaging")
    add(yes, late_time, "infection_workup", np.where(pt.swab_negative, "negative", "positive"),
        "sars_cov_2_pcr")  # fmt: skip
    rows = np.arange(n)
    rule_time = mon_when[rows, np.searchsorted(mon, np.maximum(reg.stop_day, 0), "right") - 1]
    stop_time = np.where(reg.stop_rule == -2, c.intubation, rule_time)
    add(reg.stop_rule != -1, stop_time, "rux_stop_reason", reg.stop_reason)
    # Clinician-stated CTCAE grades at the worst monitoring count (grade >= 2).
    for term_id in ("platelet_count_decreased", "neutrophil_count_decreased"):
        term = getattr(t.ctcae, term_id)
        vals = mon_vals[term.code]
        j = np.argmin(vals, axis=1)
        worst = vals[np.arange(n), j]
        grade = np.zeros(n, dtype=np.int64)
        for band in sorted(term.grades, key=lambda b: b.grade):
            grade = np.where(worst < band.below, band.grade, grade)
        when = mon_when[np.arange(n), j]
        add(grade >= 2, when, "ctcae_grade", grade.astype(str).astype(object), term_id)


# -- supplement (second random stream) -----------------------------------------------------------
def _truncnorm(u: F64, spec: TruncNormal) -> F64:
    """Inverse CDF of a normal truncated to [low, high] at uniforms ``u``."""
    a = special.ndtr((spec.low - spec.mean) / spec.sd)
    b = special.ndtr((spec.high - spec.mean) / spec.sd)
    z = special.ndtri(a + np.clip(u, 1e-12, 1 - 1e-12) * (b - a))
    out: F64 = np.clip(spec.mean + spec.sd * z, spec.low, spec.high)
    return out


def _supplement(
    t: CalibrationTargets, rng: np.random.Generator, pt: _Patients, tm: _Times, mon_when: I64,
    creat_course: F64, creat_drawn: dict[TimePoint, Bool], rows: dict[str, _Rows], pidx: I64,
) -> None:  # fmt: skip
    """Rows drawn from the supplement stream: weight and height at admission, creatinine on the
    monitoring days without a Table 2 creatinine, and the regimen's eligibility facts."""
    sup = t.supplement
    n = pidx.size
    yes = np.ones(n, dtype=bool)
    obs = rows["observations"]
    body = sup.body
    # Body measurements at the admission laboratory time.
    height = np.where(
        pt.male,
        _truncnorm(rng.random(n), body.height_cm["male"]),
        _truncnorm(rng.random(n), body.height_cm["female"]),
    )
    height = _round(height, body.height_decimals)
    obese = pt.conditions[:, [c.name for c in t.comorbidities].index("obesity")]
    bmi = np.where(
        obese,
        _truncnorm(rng.random(n), body.bmi_kg_m2["obese"]),
        _truncnorm(rng.random(n), body.bmi_kg_m2["not_obese"]),
    )
    weight = _round(bmi * (height / 100.0) ** 2, body.weight_decimals)
    when = tm.tp["admission"]
    obs.add(yes, pidx, when, time=when, code="weight", value=weight,
            unit=canonical_unit("weight"))  # fmt: skip
    obs.add(yes, pidx, when, time=when, code="height", value=height,
            unit=canonical_unit("height"))  # fmt: skip
    # Creatinine with the counts on every monitoring day that has none from the Table 2 panel.
    cm = sup.creatinine_monitoring
    sigma = np.sqrt(np.log1p(cm.cv**2))
    noise = np.exp(sigma * rng.standard_normal(mon_when.shape) - sigma**2 / 2)
    for j in range(mon_when.shape[1]):
        w = mon_when[:, j]
        has = np.zeros(n, dtype=bool)
        for tp, drawn in creat_drawn.items():
            has |= (tm.tp[tp] == w) & drawn
        value = _round(creat_course[:, j] * noise[:, j], cm.decimals)
        obs.add(~has, pidx, w, time=w, code="creat", value=value, unit=canonical_unit("creat"))
    # Eligibility facts of the regimen, stated once.
    asm = rows["assessments"]
    at = {"covid_positive": tm.positive, "admission": tm.admission}
    el = sup.eligibility
    for kind, fact in (
        ("covid_pcr", el.covid_pcr),
        ("who_viral_pneumonia", el.who_viral_pneumonia),
        ("interventional_trial", el.interventional_trial),
    ):
        w = at[fact.at]
        asm.add(yes, pidx, w, time=w, kind=kind, value=fact.value, code="")
    # Mean arterial pressure (Table 1) at the admission laboratory time: drawn last, so that the
    # rows drawn before it from this stream stay identical.
    if sup.mean_arterial_pressure is not None:
        mp = sup.mean_arterial_pressure
        fit = SplitLogNormal.fit(mp.median, mp.low, mp.high, t.cohort.n)
        value = _round(fit.ppf(rng.random(n)), mp.decimals)
        obs.add(yes, pidx, when, time=when, code="map", value=value, unit=canonical_unit("map"))
