"""Warning classes for statistical caveats.

The tree::

    UserWarning
    └── StatisticalWarning       a caveat about a result that was still computed
        ├── ApproximationWarning an approximation was used where an exact method was wanted
        │                        (ties, Monte Carlo fallback, chi-squared reference distribution)
        └── SmallSampleWarning   the sample is below the size a method's documentation asks for

Filter them by class (``warnings.simplefilter("error", ApproximationWarning)``) to make a
pipeline refuse approximate p-values.
"""

from __future__ import annotations

__all__ = ["ApproximationWarning", "SmallSampleWarning", "StatisticalWarning"]


class StatisticalWarning(UserWarning):
    """A statistical caveat about a result that was still computed."""


class ApproximationWarning(StatisticalWarning):
    """An approximate method was used where an exact one was requested or customary."""


class SmallSampleWarning(StatisticalWarning):
    """The sample is smaller than the method's documentation asks for."""
