"""Rendering of study results: tables, figures, results.json and a self-contained report.html.

Nothing here computes a new number: every value comes from :class:`ruxtrack.cohort.StudyResults`
or from the per-patient features.
"""

from ruxtrack.outputs._figures import (
    SUPPORT_COLOURS,
    plot_course,
    plot_criteria_timeline,
    plot_cumulative_incidence,
    plot_swimmer,
    plot_trajectories,
    sample_patients,
    save_figure,
)
from ruxtrack.outputs._report import (
    ReportFiles,
    build_report,
    render_report_html,
    results_json_schema,
    write_results_json,
)
from ruxtrack.outputs._tables import (
    format_p,
    latex_safe,
    render_table,
    table_frame,
    table_notes,
    write_docx,
    write_table,
    write_xlsx,
)

__all__ = [
    "SUPPORT_COLOURS",
    "ReportFiles",
    "build_report",
    "format_p",
    "latex_safe",
    "plot_course",
    "plot_criteria_timeline",
    "plot_cumulative_incidence",
    "plot_swimmer",
    "plot_trajectories",
    "render_report_html",
    "render_table",
    "results_json_schema",
    "sample_patients",
    "save_figure",
    "table_frame",
    "table_notes",
    "write_docx",
    "write_results_json",
    "write_table",
    "write_xlsx",
]
