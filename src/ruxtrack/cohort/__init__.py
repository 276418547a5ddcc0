"""Cohort analytics: study definitions, input adapters and per-patient features on Ibis.

A study YAML (:func:`load_study`) says what to read per patient; :func:`open_tables` turns a store,
a CSV/Parquet folder or frames into Ibis tables on DuckDB (default) or PySpark; :func:`open_omop`
does the same over an OMOP CDM where it lives (DuckDB, PostgreSQL, or CDM files on an engine);
:func:`compute_features` runs the one feature expression and returns one row per patient;
:func:`read_wide` reads a wide spreadsheet into the same feature table.
"""

from ruxtrack.cohort._analysis import analyse, time_to_event
from ruxtrack.cohort._features import (
    FeatureTable,
    FlowStep,
    apply_derived,
    compute_features,
    event_column,
    extract_base,
    feature_expr,
)
from ruxtrack.cohort._figure_data import (
    FigureData,
    TrajectoryData,
    anchor_label,
    criteria_grid,
    figure_data,
    freshness_notes,
    sample_patients,
    trajectory_data,
)
from ruxtrack.cohort._inputs import TABLE_SCHEMAS, CohortTables, Engine, connect_engine, open_tables
from ruxtrack.cohort._omop import open_omop
from ruxtrack.cohort._omop_spec import OmopConceptSet, OmopEventSpec, OmopStudySpec
from ruxtrack.cohort._results import (
    AnalysisResult,
    Cell,
    FlowRecord,
    RowResult,
    StudyResults,
    TableResult,
    TestResult,
)
from ruxtrack.cohort._run import (
    StudyRun,
    describe_origin,
    event_days,
    patient_course,
    run_study,
    support_days,
)
from ruxtrack.cohort._study import (
    AnalysisSpec,
    Condition,
    DerivedVar,
    FigureSpec,
    GroupSpec,
    MarkerSpec,
    Study,
    TableRow,
    TableSpec,
    TimePoint,
    available_studies,
    load_study,
)
from ruxtrack.cohort._wide import is_spreadsheet, read_wide

__all__ = [
    "TABLE_SCHEMAS",
    "AnalysisResult",
    "AnalysisSpec",
    "Cell",
    "CohortTables",
    "Condition",
    "DerivedVar",
    "Engine",
    "FeatureTable",
    "FigureData",
    "FigureSpec",
    "FlowRecord",
    "FlowStep",
    "GroupSpec",
    "MarkerSpec",
    "OmopConceptSet",
    "OmopEventSpec",
    "OmopStudySpec",
    "RowResult",
    "Study",
    "StudyResults",
    "StudyRun",
    "TableResult",
    "TableRow",
    "TableSpec",
    "TestResult",
    "TimePoint",
    "TrajectoryData",
    "analyse",
    "anchor_label",
    "apply_derived",
    "available_studies",
    "compute_features",
    "connect_engine",
    "criteria_grid",
    "describe_origin",
    "event_column",
    "event_days",
    "extract_base",
    "feature_expr",
    "figure_data",
    "freshness_notes",
    "is_spreadsheet",
    "load_study",
    "open_omop",
    "open_tables",
    "patient_course",
    "read_wide",
    "run_study",
    "sample_patients",
    "support_days",
    "time_to_event",
    "trajectory_data",
]
