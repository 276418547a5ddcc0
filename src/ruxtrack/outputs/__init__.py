"""Rendering of study results and of bedside decisions.

Study results: tables, figures, results.json and a self-contained report.html. Nothing here
computes a new number: every value comes from :class:`ruxtrack.cohort.StudyResults` or from the
per-patient features.

Decisions (:class:`ruxtrack.protocol.Decision`): one decision rendered for every face, as
terminal text, an HTML fragment, JSON and a CDS Hooks 2.0 card.

Names are loaded on first use (PEP 562): the decision faces import only the standard library,
so ``from ruxtrack.outputs import render_decision_text`` does not pull in matplotlib or pandas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ruxtrack.outputs._decision import (
        decision_headline,
        render_decision_card,
        render_decision_html,
        render_decision_json,
        render_decision_text,
    )
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

_WHERE = {
    "decision_headline": "_decision",
    "render_decision_card": "_decision",
    "render_decision_html": "_decision",
    "render_decision_json": "_decision",
    "render_decision_text": "_decision",
    "SUPPORT_COLOURS": "_figures",
    "plot_course": "_figures",
    "plot_criteria_timeline": "_figures",
    "plot_cumulative_incidence": "_figures",
    "plot_swimmer": "_figures",
    "plot_trajectories": "_figures",
    "sample_patients": "_figures",
    "save_figure": "_figures",
    "ReportFiles": "_report",
    "build_report": "_report",
    "render_report_html": "_report",
    "results_json_schema": "_report",
    "write_results_json": "_report",
    "format_p": "_tables",
    "render_table": "_tables",
    "table_frame": "_tables",
    "write_table": "_tables",
    "latex_safe": "_tables",
    "table_notes": "_tables",
    "write_docx": "_tables",
    "write_xlsx": "_tables",
}

__all__ = [
    "SUPPORT_COLOURS",
    "ReportFiles",
    "build_report",
    "decision_headline",
    "format_p",
    "latex_safe",
    "plot_course",
    "plot_criteria_timeline",
    "plot_cumulative_incidence",
    "plot_swimmer",
    "plot_trajectories",
    "render_decision_card",
    "render_decision_html",
    "render_decision_json",
    "render_decision_text",
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


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'ruxtrack.outputs' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"ruxtrack.outputs.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
