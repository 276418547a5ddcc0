"""Clinical criteria, scores, grades and formulas, evaluated from raw values and over a timeline.

Every evaluation reports each component with its status (``met`` / ``not_met`` /
``unknown``), the value and time it used, and a conclusion (``established`` / ``excluded`` /
``undecidable``): an absent input is unknown, never normal. Thresholds, points, bins and
coefficients live in ``ruxtrack/knowledge/criteria/*.yaml`` with their sources.

>>> from ruxtrack.criteria import evaluate
>>> round(evaluate("mosteller_bsa", {"weight": "70 kg", "height": "175 cm"}).value, 3)
1.845
"""

from __future__ import annotations

from ruxtrack.criteria._model import (
    Component,
    Conclusion,
    CriterionInfo,
    Evaluation,
    InputSpec,
    Probability,
    SourceInfo,
    Status,
)
from ruxtrack.criteria._registry import (
    UnknownCriterionError,
    describe,
    evaluate,
    list_criteria,
)
from ruxtrack.criteria._timeline import evaluate_days, evaluate_timeline
from ruxtrack.criteria._values import CriterionInputError

__all__ = [
    "Component",
    "Conclusion",
    "CriterionInfo",
    "CriterionInputError",
    "Evaluation",
    "InputSpec",
    "Probability",
    "SourceInfo",
    "Status",
    "UnknownCriterionError",
    "describe",
    "evaluate",
    "evaluate_days",
    "evaluate_timeline",
    "list_criteria",
]
