"""Generated values stay physiologically bounded and the regimen's rules hold."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ruxtrack.synth import load_targets
from ruxtrack.units import load_catalogue

T = load_targets()


def test_every_value_is_in_its_catalogue_unit_and_plausible_range(
    cohort_20k: dict[str, pd.DataFrame],
) -> None:
    cat = load_catalogue()
    obs = cohort_20k["observations"]
    for code, o in obs.groupby("code"):
        entry = cat.get(str(code))
        assert set(o.unit) == {entry.canonical_unit}, code
        assert o.value.between(entry.plausible.low, entry.plausible.high).all(), code
    assert obs.value.notna().all()


def test_wbc_is_never_below_neutrophils_plus_lymphocytes(
    cohort_20k: dict[str, pd.DataFrame],
) -> None:
    obs = cohort_20k["observations"]
    wide = (
        obs[obs.code.isin(["wbc", "anc", "lymph"])]
        .pivot_table(index=["patient_id", "time"], columns="code", values="value")
        .dropna()
    )
    assert len(wide) > 10_000
    assert (wide.wbc + 0.02 >= wide.anc + wide.lymph).all()


def test_spo2_and_fio2_are_bounded(cohort_20k: dict[str, pd.DataFrame]) -> None:
    obs = cohort_20k["observations"]
    assert obs[obs.code == "spo2"].value.between(*T.sf_ratio.spo2_bounds).all()
    assert obs[obs.code == "fio2"].value.between(21, 100).all()
    s = cohort_20k["support"]
    assert s.fio2.dropna().between(21, 100).all()
    assert (s.end.isna() | (s.end > s.start)).all()


def test_dates_fall_in_april_to_june_2020(cohort_20k: dict[str, pd.DataFrame]) -> None:
    ev = cohort_20k["events"]
    for name in ("admission", "rux_start"):
        t = ev[ev.event == name].time
        assert t.min() >= pd.Timestamp("2020-04-01") and t.max() < pd.Timestamp("2020-07-01")


def test_outcomes_follow_their_anchors(cohort_20k: dict[str, pd.DataFrame]) -> None:
    ev = cohort_20k["events"].pivot_table(index="patient_id", columns="event", values="time",
                                          aggfunc="first")  # fmt: skip
    assert (ev.covid_positive <= ev.rux_start).all()
    assert (ev.admission < ev.rux_start).all()
    assert (ev.rux_stop >= ev.rux_start).all()
    dis = ev.discharge.dropna()
    assert (dis > ev.rux_start[dis.index]).all()
    dead = ev.death.dropna()
    assert (dead > ev.rux_start[dead.index] + pd.Timedelta(days=15)).all()
    assert ev.last_followup[dead.index].isna().all()


def test_ruxolitinib_never_exceeds_the_regimen(cohort_20k: dict[str, pd.DataFrame]) -> None:
    d = cohort_20k["drugs"]
    r = d[d.drug == "ruxolitinib"]
    assert set(r.dose) <= {10.0, 5.0, 2.5}
    daily = r.dose * r.frequency.map({"BID": 2, "QD": 1})
    assert daily.max() == 20
    ev = cohort_20k["events"]
    start = ev[ev.event == "rux_start"].set_index("patient_id").time.dt.normalize()
    last_day = (pd.to_datetime(r.end) - r.patient_id.map(start)).dt.days
    assert last_day.max() == 14  # day 15 of the course


def _daily_doses(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    d = frames["drugs"]
    r = d[d.drug == "ruxolitinib"].copy()
    ev = frames["events"]
    start = ev[ev.event == "rux_start"].set_index("patient_id").time.dt.normalize()
    r["o0"] = (pd.to_datetime(r.start) - r.patient_id.map(start)).dt.days
    r["o1"] = (pd.to_datetime(r.end) - r.patient_id.map(start)).dt.days
    rows = [
        (p, o, dose, f)
        for p, a, b, dose, f in zip(r.patient_id, r.o0, r.o1, r.dose, r.frequency, strict=True)
        for o in range(a, b + 1)
    ]
    return pd.DataFrame(rows, columns=["patient_id", "o", "dose", "freq"])


def test_platelet_and_anc_rules_drive_the_dose(cohort_20k: dict[str, pd.DataFrame]) -> None:
    """<100 (plt) or <1.0 (ANC) halves the scheduled dose; <50 or <0.5 stops for good."""
    pids = cohort_20k["patients"].patient_id[:4000]
    frames = {k: v[v.patient_id.isin(pids)] for k, v in cohort_20k.items()}
    daily = _daily_doses(frames).set_index(["patient_id", "o"])
    ev = frames["events"]
    start = ev[ev.event == "rux_start"].set_index("patient_id").time
    obs = frames["observations"]
    mon = obs[obs.code.isin(["plt", "anc"])].copy()
    mon["o"] = ((mon.time - mon.patient_id.map(start)).dt.total_seconds() / 86400).round(3)
    mon = mon[mon.o.isin([x - 0.125 for x in T.counts.dynamics.monitoring_days])]
    mon["o"] = (mon.o + 0.125).astype(int)
    counts = mon.pivot_table(index=["patient_id", "o"], columns="code", values="value")
    sched = {o: (p.dose_mg, p.frequency) for p in T.regimen.phases
             for o in range(p.first_day - 1, p.last_day)}  # fmt: skip
    stopped: set[str] = set()
    interrupted = set(frames["assessments"].query("kind == 'rux_stop_reason'").loc[
        lambda a: a.value.str.startswith("transfer")].patient_id)  # fmt: skip
    checked_half = 0
    for (pid, o), row in counts.iterrows():
        if o > 14:
            continue
        for day in range(o, min(o + 2, 15)):
            if pid in interrupted and day >= 1:
                continue
            got = daily.dose.get((pid, day), 0.0)
            if row.plt < 50 or row.anc < 0.5 or pid in stopped:
                stopped.add(pid)
                assert got == 0.0, (pid, day)
            elif row.plt < 100 or row.anc < 1.0:
                assert got == sched[day][0] / 2, (pid, day)
                checked_half += 1
            else:
                assert got == sched[day][0], (pid, day)
    assert stopped  # the suspensions were exercised


def test_stated_ctcae_grades_match_the_worst_count(cohort_20k: dict[str, pd.DataFrame]) -> None:
    a = cohort_20k["assessments"]
    g = a[(a.kind == "ctcae_grade") & (a.code == "platelet_count_decreased")]
    obs = cohort_20k["observations"]
    plt = obs[obs.code == "plt"].set_index(["patient_id", "time"]).value
    values = plt.loc[list(zip(g.patient_id, g.time, strict=True))].to_numpy()
    expected = np.select([values < 25, values < 50, values < 75], [4, 3, 2], 0)
    assert (g.value.astype(int).to_numpy() == expected).all()
    assert len(g) > 100
