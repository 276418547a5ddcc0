"""Meta-analysis of proportions pinned to R metafor 3.8-1 (lme4 1.1-31, R 4.2.2).

Reference: tests/evidence/reference/metafor_reference.R and its output metafor_reference.json /
metafor_reference.log. Datasets: metadat::dat.pritz1997 (Pritz 1997), metadat::dat.debruin2009
(de Bruin et al. 2009), a constructed set with zero-event and all-event studies, and the IPS
incidence rows of Tomomasa et al. 2021 Table 2. Inverse-variance results must agree to 1e-7
relative (far inside 4 significant digits); the GLMM to 5e-4 relative (4 significant digits;
lme4 stops its optimiser earlier than ruxtrack does; see
test_glmm_optimum_is_at_least_as_good_as_lme4).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ruxtrack.evidence import ProportionData, meta_analysis
from ruxtrack.evidence._glmm import deviance

REF = json.loads((Path(__file__).parent / "reference" / "metafor_reference.json").read_text())
TRANSFORM = {"PR": "raw", "PLO": "logit", "PFT": "ft"}


def _data(name: str, grouped: bool = False) -> ProportionData:
    rows = REF["datasets"][name]
    has_group = grouped and "group" in rows[0]
    return ProportionData(
        studies=tuple(str(r["study"]) for r in rows),
        events=tuple(int(r["xi"]) for r in rows),
        totals=tuple(int(r["ni"]) for r in rows),
        groups=tuple(str(r["group"]) for r in rows) if has_group else None,
        group_column="group" if has_group else None,
    )


def _close(actual: Any, expected: Any, rel: float) -> None:
    if expected is None:
        assert actual is None
        return
    assert actual == pytest.approx(expected, rel=rel, abs=1e-10)


def test_reference_was_made_with_metafor_3_8() -> None:
    assert REF["metafor_version"] == "3.8.1"


@pytest.mark.parametrize("key", sorted(REF["uni"]))
def test_inverse_variance_model_against_metafor(key: str) -> None:
    dataset, measure, method, test = key.split("/")
    r = REF["uni"][key]
    res = meta_analysis(
        _data(dataset),
        transform=TRANSFORM[measure],
        method=method,
        hk=test == "knha",
        leave_one_out=False,
    )
    p = res.pooled
    pairs = [
        (p.k, r["k"]),
        (p.model_estimate, r["b"]),
        (p.model_se, r["se"]),
        (p.model_ci_low, r["ci_lb"]),
        (p.model_ci_high, r["ci_ub"]),
        (p.tau2, r["tau2"]),
        (p.i2, r["I2"]),
        (p.h2, r["H2"]),
        (p.q, r["QE"]),
        (p.q_p, r["QEp"]),
        (p.model_pi_low, r["pi_lb"]),
        (p.model_pi_high, r["pi_ub"]),
        (p.estimate, r["est_p"]),
        (p.ci_low, r["ci_lb_p"]),
        (p.ci_high, r["ci_ub_p"]),
        (p.pi_low, r["pi_lb_p"]),
        (p.pi_high, r["pi_ub_p"]),
    ]
    for actual, expected in pairs:
        _close(actual, expected, 1e-7)
    np.testing.assert_allclose([s.yi for s in res.studies], r["yi"], rtol=1e-10)
    np.testing.assert_allclose([s.vi for s in res.studies], r["vi"], rtol=1e-10)
    np.testing.assert_allclose([s.weight for s in res.studies], r["weights"], rtol=1e-7)
    assert res.test == ("knha" if test == "knha" else "z")


@pytest.mark.parametrize("dataset", sorted(REF["glmm"]))
def test_glmm_against_metafor_rma_glmm(dataset: str) -> None:
    r = REF["glmm"][dataset]
    p = meta_analysis(_data(dataset), method="GLMM", leave_one_out=False).pooled
    pairs = [
        (p.model_estimate, r["b"]),
        (p.model_se, r["se"]),
        (p.tau2, r["tau2"]),
        (p.i2, r["I2"]),
        (p.h2, r["H2"]),
        (p.estimate, r["est_p"]),
    ]
    if dataset != "zeros":
        # With tau2 = 14 (the constructed zero/all-event set) the upper CI limit on the logit
        # scale is a small difference of large numbers (-2.651 + 3.377): lme4's and our 5e-5
        # relative differences in the estimate and SE move it in the third digit (0.7255 vs
        # 0.7262). docs/evidence.md records this; estimate, SE and tau2 still agree.
        pairs += [
            (p.model_ci_low, r["ci_lb"]),
            (p.model_ci_high, r["ci_ub"]),
            (p.ci_low, r["ci_lb_p"]),
            (p.ci_high, r["ci_ub_p"]),
            (p.pi_low, r["pi_lb_p"]),
            (p.pi_high, r["pi_ub_p"]),
        ]
    for actual, expected in pairs:
        _close(actual, expected, 5e-4 if abs(expected) > 1e-3 else 5e-3)
    _close(p.q, r["QE_Wld"], 1e-6)
    _close(p.q_lrt, r["QE_LRT"], 1e-6)
    _close(p.q_lrt_p, r["QEp_LRT"], 1e-5)


@pytest.mark.parametrize("dataset", sorted(REF["glmm"]))
def test_glmm_optimum_is_at_least_as_good_as_lme4(dataset: str) -> None:
    d = _data(dataset)
    r = REF["glmm"][dataset]
    res = meta_analysis(d, method="GLMM", leave_one_out=False).pooled
    x, n, xm = np.array(d.events, float), np.array(d.totals, float), np.ones((d.k, 1))
    ours = deviance(np.array([np.sqrt(res.tau2), res.model_estimate]), x, n, xm, 7)
    lme4 = deviance(np.array([np.sqrt(r["tau2"]), r["b"]]), x, n, xm, 7)
    assert ours <= lme4 + 1e-9


@pytest.mark.parametrize("key", sorted(REF["subgroup"]))
def test_subgroups_and_between_tests_against_metafor(key: str) -> None:
    dataset, measure, method, test = key.split("/")
    r = REF["subgroup"][key]
    res = meta_analysis(
        _data(dataset, grouped=True),
        transform=TRANSFORM[measure],
        method=method,
        hk=test == "knha",
        leave_one_out=False,
    )
    for g, rg in r["groups"].items():
        p = res.subgroups[g]
        for actual, expected in [
            (p.model_estimate, rg["b"]),
            (p.model_se, rg["se"]),
            (p.tau2, rg["tau2"]),
            (p.estimate, rg["est_p"]),
            (p.ci_low, rg["ci_lb_p"]),
            (p.ci_high, rg["ci_ub_p"]),
        ]:
            _close(actual, expected, 1e-7)
    sep, common = res.between_test["separate"], res.between_test["common_tau2"]
    _close(sep.statistic, r["Q_between"], 1e-7)
    _close(sep.p, r["Q_between_p"], 1e-7)
    assert sep.df == r["Q_between_df"]
    _close(common.statistic, r["QM"], 1e-7)
    _close(common.p, r["QMp"], 1e-7)
    _close(common.tau2, r["tau2_common"], 1e-7)
    assert common.distribution == ("F" if test == "knha" else "chi2")


@pytest.mark.parametrize("dataset", sorted(REF["glmm_subgroup"]))
def test_glmm_subgroups_against_metafor(dataset: str) -> None:
    r = REF["glmm_subgroup"][dataset]
    res = meta_analysis(_data(dataset, grouped=True), method="GLMM", leave_one_out=False)
    for g, rg in r["groups"].items():
        _close(res.subgroups[g].model_estimate, rg["b"], 1e-4)
        _close(res.subgroups[g].tau2, rg["tau2"], 1e-3)
    assert res.between_test["separate"].p == pytest.approx(r["Q_between_p"], abs=1e-4)
    assert res.between_test["common_tau2"].p == pytest.approx(r["QMp"], abs=1e-4)


@pytest.mark.parametrize("key", sorted(REF["leave1out"]))
def test_leave_one_out_against_metafor_leave1out(key: str) -> None:
    dataset, measure, method, test = key.split("/")
    r = REF["leave1out"][key]
    res = meta_analysis(
        _data(dataset), transform=TRANSFORM[measure], method=method, hk=test == "knha"
    )
    assert len(res.leave_one_out) == len(r["estimate"])
    for i, row in enumerate(res.leave_one_out):
        _close(row.model_estimate, r["estimate"][i], 1e-7)
        _close(row.model_se, r["se"][i], 1e-7)
        _close(row.tau2, r["tau2"][i], 1e-7)
        _close(row.i2, r["I2"][i], 1e-7)
        _close(row.q, r["Q"][i], 1e-7)
        _close(row.estimate, r["est_p"][i], 1e-7)


def test_glmm_leave_one_out_against_metafor() -> None:
    r = REF["leave1out_glmm"]["pritz"]
    res = meta_analysis(_data("pritz"), method="GLMM")
    for row, ref in zip(res.leave_one_out, r, strict=True):
        _close(row.model_estimate, ref["b"], 1e-4)
        _close(row.estimate, ref["est_p"], 1e-4)
