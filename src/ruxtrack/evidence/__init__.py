"""Evidence synthesis: evidence tables, screening logs, PRISMA 2020 flow, meta-analysis of
proportions and forest plots (docs/evidence.md)."""

from __future__ import annotations

from ruxtrack.evidence._data import ProportionData, read_proportions
from ruxtrack.evidence._effects import effect_sizes, inverse_ft
from ruxtrack.evidence._glmm import GlmmFit, fit_glmm
from ruxtrack.evidence._meta import METHODS, meta_analysis
from ruxtrack.evidence._plots import render_forest, render_prisma
from ruxtrack.evidence._prisma import (
    PrismaFlow,
    flow_from_log,
    load_flow,
    write_screening_log,
)
from ruxtrack.evidence._records import (
    Deduplicated,
    Record,
    deduplicate,
    read_nbib,
    read_records,
    read_records_csv,
    read_ris,
)
from ruxtrack.evidence._results import (
    BetweenTest,
    LeaveOneOutRow,
    MetaAnalysis,
    Methods,
    Pooled,
    StudyRow,
)
from ruxtrack.evidence._rma import RmaFit, fit_rma
from ruxtrack.evidence._table import (
    EvidenceTable,
    RangeCheck,
    check_stated_ranges,
    consistent_counts,
    load_evidence_table,
    table_proportions,
)

__all__ = [
    "METHODS",
    "BetweenTest",
    "Deduplicated",
    "EvidenceTable",
    "GlmmFit",
    "LeaveOneOutRow",
    "MetaAnalysis",
    "Methods",
    "Pooled",
    "PrismaFlow",
    "ProportionData",
    "RangeCheck",
    "Record",
    "RmaFit",
    "StudyRow",
    "check_stated_ranges",
    "consistent_counts",
    "deduplicate",
    "effect_sizes",
    "fit_glmm",
    "fit_rma",
    "flow_from_log",
    "inverse_ft",
    "load_evidence_table",
    "load_flow",
    "meta_analysis",
    "read_nbib",
    "read_proportions",
    "read_records",
    "read_records_csv",
    "read_ris",
    "render_forest",
    "render_prisma",
    "table_proportions",
    "write_screening_log",
]
