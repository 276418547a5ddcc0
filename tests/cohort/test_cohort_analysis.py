"""Tables and analyses of the seed 004 study on the shipped 18-patient synthetic demo, checked
against numbers computed independently from the CSV files with pandas alone."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from cohort_fixtures import SARMIENTO_DEMO, read_demo_csv

from ruxtrack import stats
from ruxtrack.cohort import Study, StudyRun, analyse, load_study

DAY = pd.Timedelta(days=1)


def _events(name: str) -> pd.Series:
    ev = read_demo_csv(SARMIENTO_DEMO, "events")
    sel = ev[ev["event"] == name]
    return pd.Series(pd.to_datetime(sel["time"]).to_numpy(), index=sel["patient_id"])


def _groups() -> pd.Series:
    asm = read_demo_csv(SARMIENTO_DEMO, "assessments")
    g = asm[asm["kind"] == "response_group"]
    return pd.Series(g["value"].to_numpy(), index=g["patient_id"])


def _marker_at(study: Study, code: str, tp_name: str) -> pd.Series:
    """The study's rule written out in pandas: the value nearest anchor + offset inside the
    window, the earlier on a tie (then the smaller), per patient."""
    tp = study.time_point(tp_name)
    anchor = _events("rux_start" if tp.anchor == "index" else tp.anchor)
    obs = read_demo_csv(SARMIENTO_DEMO, "observations")
    obs = obs[obs["code"] == code].copy()
    assert set(obs["unit"]) == {study.marker(code).unit}  # the study reads canonical units
    obs["t"] = pd.to_datetime(obs["time"])
    obs["d"] = (obs["t"] - (obs["patient_id"].map(anchor) + tp.offset_days * DAY)) / DAY
    lo, hi = tp.window_days
    obs = obs[(obs["d"] >= lo) & (obs["d"] <= hi)]
    obs = obs.assign(a=obs["d"].abs()).sort_values(["patient_id", "a", "d", "value"])
    return obs.groupby("patient_id")["value"].first()


def test_table1_counts_equal_counts_from_the_csv_files(sarmiento_run: StudyRun) -> None:
    t1 = sarmiento_run.results.table("table1")
    cells = {r.label: r.cells["overall"] for r in t1.rows}
    pat = read_demo_csv(SARMIENTO_DEMO, "patients")
    assert t1.column_n == {"overall": len(pat)} == {"overall": 18}
    sex = pat["sex"].value_counts()
    assert cells["Gender"].values == {"male": sex["male"], "female": sex["female"]}
    bg = pat["blood_group"].value_counts()
    blood = cells["Blood group type"].values
    assert {k: v for k, v in blood.items() if k != "missing"} == bg.to_dict()
    assert blood["missing"] == pat["blood_group"].isna().sum()
    names = pat["comorbidities"].fillna("").str.split(";").explode().str.split("=").str[0]
    comorb = names.str.strip().replace("", np.nan).dropna().value_counts()
    flags = cells["Preexisting conditions"].values
    assert {k.removeprefix("comorb_"): v for k, v in flags.items() if v} == comorb.to_dict()
    drugs = read_demo_csv(SARMIENTO_DEMO, "drugs")
    start = drugs["patient_id"].map(_events("rux_start"))
    before = drugs[pd.to_datetime(drugs["start"]) < start]
    study = sarmiento_run.study
    treated = cells["Previous treatment"].values
    for flag, members in study.extract.drugs_before_index.items():
        assert treated[flag] == before[before["drug"].isin(members)]["patient_id"].nunique(), flag
    # age at ruxolitinib start, from age at admission (Julian years)
    years = pat.set_index("patient_id")["age_years"] + (
        (_events("rux_start") - _events("admission")) / DAY / 365.25
    )
    age = cells["Age, years median (range)"]
    assert age.values["median"] == pytest.approx(years.median(), rel=1e-12)
    assert (age.values["min"], age.values["max"]) == pytest.approx((years.min(), years.max()))
    days = (_events("rux_start").dt.normalize() - _events("admission").dt.normalize()) / DAY
    cell = cells["Time from admission to ruxolitinib start in days (range)"]
    assert cell.values["median"] == days.median() and cell.n == 18


def test_table2_medians_equal_medians_from_the_observations(sarmiento_run: StudyRun) -> None:
    study = sarmiento_run.study
    t2 = sarmiento_run.results.table("table2")
    for row in t2.rows:
        assert row.var is not None
        factor = study.marker(row.var).display_factor
        per_tp = {}
        for tp, cell in row.cells.items():
            expected = _marker_at(study, row.var, tp)
            per_tp[tp] = expected
            assert cell.n == len(expected) and cell.n + cell.n_missing == 18, (row.var, tp)
            assert cell.values["median"] == pytest.approx(expected.median() * factor, rel=1e-12)
            assert cell.values["min"] == pytest.approx(expected.min() * factor, rel=1e-12)
            assert cell.values["max"] == pytest.approx(expected.max() * factor, rel=1e-12)
        complete = pd.DataFrame(per_tp).dropna()
        assert row.test is not None and row.test.n == len(complete), row.var
        assert (
            row.test.method == "Friedman rank-sum test (chi-squared approximation, tie-corrected)"
        )
        assert row.test.detail["n_dropped"] == 18 - len(complete)
    il6 = next(r for r in t2.rows if r.var == "il6")
    assert il6.cells["admission"].n == 10  # the seed: IL-6 in 10 patients


def test_table3_uses_the_exact_rxc_fisher_test_on_groups_10_5_3(sarmiento_run: StudyRun) -> None:
    t3 = sarmiento_run.results.table("table3")
    assert t3.column_n == {"complete_response": 10, "late_responder": 5, "progression": 3}
    fisher_rows = [r for r in t3.rows if r.test is not None and r.var != "days_positive_to_start"]
    assert len(fisher_rows) == 6
    for r in fisher_rows:
        assert r.test is not None
        assert r.test.method == "Fisher's exact test (network algorithm, r x c)"
        assert r.test.detail["exact"] is True
    # early start recomputed from the CSV files: calendar days from first positive test <= 7
    days = (_events("rux_start").dt.normalize() - _events("covid_positive").dt.normalize()) / DAY
    table = pd.crosstab(_groups(), days <= 7)
    early = next(r for r in t3.rows if r.var == "early_start")
    assert early.test is not None and early.test.n == 18
    assert early.test.p_value == pytest.approx(stats.fisher_exact(table.to_numpy()).p_value)
    assert early.cells["complete_response"].text == "10 (100)"
    kw = next(r for r in t3.rows if r.var == "days_positive_to_start")
    assert kw.test is not None and kw.test.method.startswith("Kruskal-Wallis rank-sum test")
    assert kw.test.posthoc_method is not None and "Dunn" in kw.test.posthoc_method
    assert any(w.startswith("small sample:") for w in kw.test.warnings)  # progression n = 3


def test_every_cell_names_its_method_and_rests_on_at_most_its_column(sarmiento_run) -> None:
    for t in sarmiento_run.results.tables:
        for r in t.rows:
            for cid, c in r.cells.items():
                assert c.n + c.n_missing == t.column_n[cid]
                if c.stat in ("median_range", "percent") and c.n:
                    assert c.method
    t3 = sarmiento_run.results.table("table3")
    pct = next(r for r in t3.rows if r.var == "early_start").cells["late_responder"]
    assert pct.method is not None and pct.method.startswith("95% CI: Wilson score interval")
    assert (pct.values["count"], pct.values["n"]) == (1, 5)


def test_analyses_name_their_method_and_n(sarmiento_run: StudyRun) -> None:
    res = sarmiento_run.results
    cif = res.analysis("cif_discharge")
    curves = {c["cause"]: c for c in cif.values["curves"]}
    assert (
        cif.n == 18 and curves["discharge"]["n_events"] == 15 and curves["death"]["n_events"] == 3
    )
    assert "cmprsk" in cif.method
    # no censoring before the last death: F_death(end) = deaths / n
    assert curves["death"]["estimate"][-1] == pytest.approx(3 / 18)
    km = res.analysis("km_survival")
    assert km.values["curves"][0]["n_events"] == 3 and "survfit" in km.method
    firth = res.analysis("firth_early_start")
    assert firth.values["separation"] is True and firth.values["n_events"] == 10
    assert "Firth" in firth.method and firth.n == 18
    prop = res.analysis("resolution_rate")
    assert prop.values["n"] == prop.n == 18 and "Wilson" in prop.method


def test_an_analysis_the_data_cannot_support_says_so(sarmiento: Study, sarmiento_run) -> None:
    from dataclasses import replace

    frame = sarmiento_run.features.all_patients.copy()
    frame["day_discharge"] = np.nan
    frame["day_death"] = np.nan
    features = replace(sarmiento_run.features, all_patients=frame)
    res = analyse(features, sarmiento, origin="no events", engine="duckdb")
    cif = res.analysis("cif_discharge")
    assert cif.computed is False and cif.values == {} and "no events" in (cif.note or "")


def test_time_to_event_curves_by_group(tmp_path, sarmiento_run) -> None:
    import yaml

    from ruxtrack.cohort import available_studies

    data = yaml.safe_load(available_studies()["sarmiento-2021"].read_text())
    data["analyses"] = [
        {
            "id": "cif_by_group",
            "title": "CIF by group",
            "kind": "cumulative_incidence",
            "event": "discharge",
            "competing": ["death"],
            "by_group": True,
        }
    ]
    data["figures"] = [f for f in data["figures"] if f["kind"] != "cumulative_incidence"]
    path = tmp_path / "by_group.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    study = load_study(path)
    res = analyse(sarmiento_run.features, study, origin="demo", engine="duckdb")
    curves = res.analysis("cif_by_group").values["curves"]
    n = {(c["group"], c["cause"]): (c["n"], c["n_events"]) for c in curves}
    assert n[("complete_response", "discharge")] == (10, 10)
    assert n[("progression", "death")] == (3, 3)
    assert not math.isnan(curves[0]["estimate"][-1])
