"""The results of a study run: every number of every table with the n it rests on and its method.

These frozen models are what ``results.json`` serialises (schema: docs/results-schema.md and
``results.schema.json``, generated from these models) and what every renderer reads.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "RESULTS_SCHEMA_VERSION",
    "AnalysisResult",
    "Cell",
    "FlowRecord",
    "RowResult",
    "StudyResults",
    "TableResult",
    "TestResult",
]

RESULTS_SCHEMA_VERSION = "2.1"
_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Cell(BaseModel):
    """One table cell: the text shown, the numbers behind it and the n it rests on.

    ``n`` is the number of patients with a value for this cell (the denominator of a percentage,
    the count behind a median); ``n_missing`` those of the column without one.
    """

    model_config = _FROZEN

    text: str
    n: int = Field(ge=0)
    n_missing: int = Field(default=0, ge=0)
    stat: str = Field(description="what the numbers are: median_range, count, percent, ...")
    values: dict[str, float | int | None] = Field(default_factory=dict)
    method: str | None = Field(default=None, description="interval or estimator method, if any")


class TestResult(BaseModel):
    """A hypothesis test attached to a row, named exactly as :mod:`ruxtrack.stats` computed it.

    ``p_value`` is None when no test was defined (``note`` says why). ``detail`` is the
    ``to_dict()`` of the :mod:`ruxtrack.stats` result (its ``result_type`` names the class).
    """

    __test__ = False  # not a pytest test class

    model_config = _FROZEN

    method: str
    p_value: float | None
    statistic: float | None = None
    n: int = Field(ge=0, description="patients the test used (complete cases)")
    posthoc_method: str | None = Field(
        default=None, description="post hoc comparisons and their multiplicity adjustment"
    )
    detail: dict[str, Any] = Field(default_factory=dict)
    note: str | None = None
    warnings: tuple[str, ...] = Field(
        default=(), description="statistical caveats raised while computing (e.g. ties)"
    )


class RowResult(BaseModel):
    """One row: a label, a cell per column, an optional test and optional sub-rows (levels)."""

    model_config = _FROZEN

    label: str
    var: str | None = None
    level: str | None = None
    header: str | None = None
    cells: dict[str, Cell]
    test: TestResult | None = None
    is_group_label: bool = False


class TableResult(BaseModel):
    """A publication table as numbers: columns (id → label with n) and rows."""

    model_config = _FROZEN

    id: str
    title: str
    kind: Literal["summary", "markers_over_time", "by_group"]
    columns: dict[str, str]
    column_n: dict[str, int]
    rows: tuple[RowResult, ...]
    footnote: str | None = None
    source: str | None = None


class AnalysisResult(BaseModel):
    """A further analysis (cumulative incidence, Kaplan–Meier, Firth logistic, ...).

    ``values`` is the ``to_dict()`` of the :mod:`ruxtrack.stats` result (or, for a proportion,
    the count with its interval); ``computed`` is False when the data do not allow the analysis
    (``note`` says why) and ``values`` is then empty.
    """

    model_config = _FROZEN

    id: str
    title: str
    kind: str
    method: str
    n: int = Field(ge=0)
    computed: bool = True
    values: dict[str, Any]
    note: str | None = None
    warnings: tuple[str, ...] = ()


class FlowRecord(BaseModel):
    """One population rule and its effect, applied in order to the patients the rules before
    it kept: ``removed`` by this rule, ``unknown`` value (removed by an include rule, kept by
    an exclude rule), ``remaining`` after it."""

    model_config = _FROZEN

    label: str
    kind: Literal["include", "exclude"]
    removed: int
    unknown: int
    remaining: int


class StudyResults(BaseModel):
    """Everything a study run computed."""

    model_config = _FROZEN

    schema_version: str = RESULTS_SCHEMA_VERSION
    study: str
    title: str
    ruxtrack_version: str
    data_origin: str
    engine: str
    synthetic: bool | None = Field(
        default=None,
        description="True when every included patient is marked synthetic, False when none "
        "is, None when mixed",
    )
    n_read: int
    n_included: int
    flow: tuple[FlowRecord, ...]
    groups: dict[str, str] = Field(default_factory=dict, description="group value → label")
    group_n: dict[str, int] = Field(default_factory=dict)
    alpha: float
    tables: tuple[TableResult, ...]
    analyses: tuple[AnalysisResult, ...]
    figures: dict[str, list[str]] = Field(default_factory=dict, description="id → files")
    figures_skipped: dict[str, str] = Field(
        default_factory=dict, description="id → why the figure was not drawn"
    )
    notes: tuple[str, ...] = ()
    sources: dict[str, str] = Field(default_factory=dict)

    def table(self, table_id: str) -> TableResult:
        """The table with this id."""
        for t in self.tables:
            if t.id == table_id:
                return t
        raise KeyError(table_id)

    def analysis(self, analysis_id: str) -> AnalysisResult:
        """The analysis with this id."""
        for a in self.analyses:
            if a.id == analysis_id:
                return a
        raise KeyError(analysis_id)
