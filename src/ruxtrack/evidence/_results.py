"""Frozen result objects of a meta-analysis of proportions and their JSON form."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StudyRow(_Frozen):
    """One study: counts, observed proportion with its CI, model-scale effect and weight."""

    study: str
    group: str | None
    events: int
    total: int
    proportion: float
    ci_low: float
    ci_high: float
    yi: float
    vi: float
    weight: float | None
    corrected: bool


class Pooled(_Frozen):
    """A pooled estimate: back-transformed proportion scale and model scale, heterogeneity."""

    k: int
    estimate: float
    ci_low: float
    ci_high: float
    pi_low: float | None
    pi_high: float | None
    model_estimate: float
    model_se: float
    model_ci_low: float
    model_ci_high: float
    model_pi_low: float | None
    model_pi_high: float | None
    tau2: float
    tau: float
    i2: float | None
    h2: float | None
    q: float | None
    q_df: int
    q_p: float | None
    q_test: str
    q_lrt: float | None = None
    q_lrt_p: float | None = None
    harmonic_mean_n: float | None = None


class BetweenTest(_Frozen):
    """Test for subgroup differences."""

    method: str
    statistic: float
    df: int
    df2: int | None
    p: float
    distribution: str
    tau2: float | None = None


class LeaveOneOutRow(_Frozen):
    """The pooled result with one study left out."""

    omitted: str
    k: int
    estimate: float
    ci_low: float
    ci_high: float
    model_estimate: float
    model_se: float
    tau2: float
    i2: float | None
    q: float | None
    q_p: float | None


class Methods(_Frozen):
    """Names of every method used, so output is never ambiguous."""

    transform: str
    model: str
    tau2_estimator: str
    ci: str
    prediction_interval: str
    heterogeneity_test: str
    back_transform: str
    study_ci: str
    continuity_correction: str
    subgroup_tests: str | None
    reference: str


class MetaAnalysis(_Frozen):
    """A complete meta-analysis of proportions (overall, subgroups, leave-one-out)."""

    source: str
    transform: str
    method: str
    test: str
    level: float
    pooled: Pooled
    studies: tuple[StudyRow, ...]
    group_column: str | None = None
    subgroups: dict[str, Pooled] = {}
    between_test: dict[str, BetweenTest] = {}
    leave_one_out: tuple[LeaveOneOutRow, ...] = ()
    methods: Methods
    warnings: tuple[str, ...] = ()

    def to_json_dict(self) -> dict[str, Any]:
        """The documented results JSON (docs/evidence.md, "Results JSON")."""
        out: dict[str, Any] = {
            "source": self.source,
            "transform": self.transform,
            "method": self.method,
            "test": self.test,
            "level": self.level,
        }
        out.update(self.pooled.model_dump())
        out["studies"] = [s.model_dump() for s in self.studies]
        out["group_column"] = self.group_column
        out["subgroups"] = {g: p.model_dump() for g, p in self.subgroups.items()}
        out["between_test"] = {k: b.model_dump() for k, b in self.between_test.items()}
        out["leave_one_out"] = [r.model_dump() for r in self.leave_one_out]
        out["methods"] = self.methods.model_dump()
        out["warnings"] = list(self.warnings)
        return out
