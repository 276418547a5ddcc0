"""The criteria ruxtrack evaluates, and the pure entry points ``evaluate`` / ``describe``."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from ruxtrack.criteria import _ctcae, _formulas, _hlh2004, _hscore, _ips, _magic, _steroids, _who
from ruxtrack.criteria._common import Criterion
from ruxtrack.criteria._model import CriterionInfo, Evaluation
from ruxtrack.criteria._values import parse_inputs
from ruxtrack.errors import EvaluationError

__all__ = ["describe", "evaluate", "get_criterion", "list_criteria"]

_ALL: tuple[Criterion, ...] = (
    _hlh2004.CRITERION,
    _hscore.CRITERION,
    _ctcae.CRITERION,
    _magic.CRITERION,
    _ips.CRITERION,
    _who.CPS,
    _who.SEVERITY,
    *_formulas.CRITERIA,
    _steroids.CRITERION,
)
CRITERIA: dict[str, Criterion] = {c.id: c for c in _ALL}


class UnknownCriterionError(EvaluationError, LookupError):
    """No criterion has this id."""

    def __init__(self, criterion_id: str) -> None:
        self.criterion_id = criterion_id
        close = difflib.get_close_matches(criterion_id, list(CRITERIA), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        super().__init__(f"unknown criterion {criterion_id!r}{hint} (known: {', '.join(CRITERIA)})")

    def __str__(self) -> str:
        return str(self.args[0])


def get_criterion(criterion_id: str) -> Criterion:
    """The registered criterion with this id (:class:`UnknownCriterionError` otherwise)."""
    try:
        return CRITERIA[criterion_id]
    except KeyError:
        raise UnknownCriterionError(criterion_id) from None


def list_criteria() -> tuple[CriterionInfo, ...]:
    """Every criterion ruxtrack evaluates, with its source and accepted inputs.

    Examples
    --------
    >>> [c.id for c in list_criteria()][:3]
    ['hlh2004', 'hscore', 'ctcae']
    """
    return tuple(c.info() for c in _ALL)


def describe(criterion_id: str) -> CriterionInfo:
    """The inputs one criterion accepts (key, kind, unit, choices) and its sources.

    Examples
    --------
    >>> [i.key for i in describe("mosteller_bsa").inputs]
    ['weight', 'height']
    """
    return get_criterion(criterion_id).info()


def evaluate(criterion_id: str, inputs: Mapping[str, Any]) -> Evaluation:
    """Evaluate one criterion on a mapping of inputs; an absent key is unknown.

    Parameters
    ----------
    criterion_id
        One of the ids of :func:`list_criteria` (``hlh2004``, ``hscore``, ``ctcae``, ...).
    inputs
        Lab codes with values as ``"17509 ng/mL"`` strings, ``{"value": ..., "unit": ...}``
        mappings or numbers already in the canonical unit, and finding names with booleans or
        enumeration values (see :func:`describe`).

    Returns
    -------
    Evaluation
        Each component with its status, the total or value, and the conclusion.

    Raises
    ------
    EvaluationError
        Unknown criterion, or an input that cannot be used (the message names the key).

    Examples
    --------
    >>> e = evaluate("hlh2004", {"fever": True, "splenomegaly": True, "ferritin": "17509 ng/mL"})
    >>> e.total, e.conclusion.value
    (3, 'undecidable')
    """
    crit = get_criterion(criterion_id)
    return crit.evaluate(parse_inputs(inputs, crit.inputs()))
