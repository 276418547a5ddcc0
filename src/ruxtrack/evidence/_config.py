"""Method constants of the evidence module, read from ``knowledge/evidence/methods.yaml``."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ruxtrack.knowledge import Citation, SourceRef, knowledge_path, load_yaml, validate_knowledge

METHODS_FILE = "evidence/methods.yaml"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Level(_Frozen):
    value: float
    source: SourceRef


class _Continuity(_Frozen):
    add: float
    measures: tuple[Literal["raw", "logit", "ft"], ...]
    source: SourceRef


class _Points(_Frozen):
    value: int
    source: SourceRef


class _StudyCi(_Frozen):
    default: Literal["clopper-pearson", "model"]
    source: SourceRef


class MethodConfig(_Frozen):
    """Constants every meta-analysis uses (level, continuity correction, quadrature points)."""

    sources: dict[str, Citation]
    level: _Level
    continuity: _Continuity
    glmm_quadrature_points: _Points
    study_ci: _StudyCi


@lru_cache(maxsize=1)
def method_config() -> MethodConfig:
    """Load and validate ``knowledge/evidence/methods.yaml`` (cached)."""
    return validate_knowledge(MethodConfig, load_yaml(METHODS_FILE), knowledge_path(METHODS_FILE))
