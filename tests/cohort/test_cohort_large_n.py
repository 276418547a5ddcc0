"""Contingency tests by sample size: Fisher's exact test on small groups × levels tables,
Pearson's chi-squared test above the study's ``exact_test_max_n``, the method always named.

Reference values are recomputed here from the patients' own rows with ``pandas.crosstab`` and
:mod:`ruxtrack.stats` (itself pinned to R: tests/stats/reference/fisher.R and chisq.R)."""

from __future__ import annotations

import pandas as pd
import pytest

from ruxtrack import stats
from ruxtrack.cohort import FeatureTable, Study, StudyRun, TestResult, analyse


def _contingency_rows(run_results: object) -> list[tuple[str, str, TestResult]]:
    out = []
    for table in run_results.tables:  # type: ignore[attr-defined]
        for row in table.rows:
            t = row.test
            if t is not None and t.detail.get("result_type") in (
                "FisherResult",
                "ChiSquaredResult",
            ):
                out.append((table.id, row.var, t))
    return out


def _replicated(run: StudyRun, copies: int) -> FeatureTable:
    """The demo's patients ``copies`` times over, as distinct patients."""
    parts = []
    for i in range(copies):
        part = run.features.all_patients.copy()
        part["patient_id"] = part["patient_id"].astype(str) + f"-{i}"
        parts.append(part)
    return FeatureTable(all_patients=pd.concat(parts, ignore_index=True), flow=run.features.flow)


def _crosstab(frame: pd.DataFrame, var: str, study: Study) -> pd.DataFrame:
    order = [lv.value for lv in study.groups.levels] if study.groups is not None else []
    data = frame.loc[frame[var].notna() & frame["group"].isin(order), [var, "group"]]
    values = data[var].astype(str)
    if data[var].dtype == bool or str(data[var].dtype) == "boolean":
        values = data[var].astype(bool).astype(str)
    table = pd.crosstab(data["group"], values)
    return table.reindex([g for g in order if g in table.index])


def test_small_tables_get_fishers_exact_test_named(sarmiento_run: StudyRun) -> None:
    rows = _contingency_rows(sarmiento_run.results)
    assert rows, "the seed 004 study has categorical rows tested by group"
    for _, _, t in rows:
        assert t.detail["result_type"] == "FisherResult"
        assert t.method.startswith("Fisher's exact test")
        assert t.detail["exact_test_max_n"] == 200
        assert t.detail["selection_rule"] == f"n = {t.n} ≤ 200: exact test"


def test_tables_above_the_limit_get_chi_squared_named(
    sarmiento_run: StudyRun, sarmiento: Study
) -> None:
    """The same 18 patients with ``exact_test_max_n = 10``: every table with more than 10
    patients switches to Pearson's chi-squared, with the p-value of chisq_test on its counts."""
    study = sarmiento.model_copy(update={"exact_test_max_n": 10})
    res = analyse(sarmiento_run.features, study, origin="demo", engine="duckdb")
    frame = sarmiento_run.features.frame
    seen = 0
    for _, var, t in _contingency_rows(res):
        if t.n <= 10:
            assert t.detail["result_type"] == "FisherResult"
            continue
        seen += 1
        assert t.detail["result_type"] == "ChiSquaredResult"
        assert t.method == ("Pearson's chi-squared test (n > 10; Fisher's exact test at n ≤ 10)")
        assert t.detail["selection_rule"] == f"n = {t.n} > 10: asymptotic test"
        with pytest.warns(stats.ApproximationWarning):  # 18 patients: expected counts < 5
            ref = stats.chisq_test(_crosstab(frame, var, study).to_numpy())
        assert t.p_value == pytest.approx(ref.p_value, rel=1e-12)
        assert t.n == ref.n
        assert any("approximation may be incorrect" in w for w in t.warnings)
    assert seen


def test_large_cohort_uses_chi_squared_by_default(
    sarmiento_run: StudyRun, sarmiento: Study
) -> None:
    """50 copies of the demo (900 patients): no table is enumerated exactly; the p-values are
    chi-squared p-values of the crosstabs, and the method names the rule in the table notes."""
    features = _replicated(sarmiento_run, 50)
    res = analyse(features, sarmiento, origin="demo x 50", engine="duckdb")
    rows = _contingency_rows(res)
    assert rows
    for _, var, t in rows:
        assert t.detail["result_type"] == "ChiSquaredResult"
        assert t.method.startswith("Pearson's chi-squared test (n > 200;")
        table = _crosstab(features.frame, var, sarmiento)
        ref = stats.chisq_test(table.to_numpy())
        assert t.p_value == pytest.approx(ref.p_value, rel=1e-12)
        assert t.detail["expected"] == [list(r) for r in ref.expected]


def test_exact_test_limit_is_validated(sarmiento: Study) -> None:
    data = sarmiento.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["exact_test_max_n"] = -1
    with pytest.raises(ValueError, match="exact_test_max_n"):
        Study.model_validate(data)
