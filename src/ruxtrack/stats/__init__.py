"""Small-cohort statistics with R's conventions, each result naming its method and its n.

Pure functions on arrays / Series / DataFrames (one row per patient) returning frozen result
objects with ``to_dict()`` for ``results.json``. Everything is pinned to R reference values
(``tests/stats/reference``); every default that differs from scipy / lifelines / statsmodels is
listed in ``docs/statistics.md``.

Families
--------
- descriptives: :func:`summarize_numeric`, :func:`summarize_binary`,
  :func:`summarize_categorical`, :func:`proportion`
- paired time points: :func:`friedman_test` (+ pairwise :func:`wilcoxon_signed_rank`, Holm)
- independent groups: :func:`kruskal_wallis` (+ Dunn, Holm), :func:`mann_whitney`
- contingency tables: :func:`fisher_exact` (2x2 with conditional-MLE odds ratio; exact r x c),
  :func:`chisq_test` (Pearson's chi-squared, for large samples)
- time to event: :func:`kaplan_meier` with :func:`logrank_test`, :func:`cumulative_incidence`
  (competing risks) with :func:`gray_test`
- regression: :func:`firth_logistic`
- multiplicity: :func:`adjust_pvalues`
"""

from ._chisq import ChiSquaredResult, chisq_test
from ._competing import CumulativeIncidenceCurve, CumulativeIncidenceResult, cumulative_incidence
from ._descriptive import (
    CategoricalSummary,
    NumericSummary,
    Proportion,
    proportion,
    summarize_binary,
    summarize_categorical,
    summarize_numeric,
)
from ._fisher import FisherResult, fisher_exact
from ._friedman import FriedmanResult, PairedComparison, friedman_test
from ._gray import GrayTestResult, gray_test
from ._kruskal import DunnComparison, GroupSize, KruskalWallisResult, kruskal_wallis
from ._logistic import FirthCoefficient, FirthLogisticResult, firth_logistic
from ._logrank import LogRankGroup, LogRankResult, logrank_test
from ._multiplicity import adjust_pvalues
from ._survival import KaplanMeierCurve, KaplanMeierResult, kaplan_meier
from ._warnings import ApproximationWarning, SmallSampleWarning, StatisticalWarning
from ._wilcoxon import RankSumResult, SignedRankResult, mann_whitney, wilcoxon_signed_rank

__all__ = [
    "ApproximationWarning",
    "CategoricalSummary",
    "ChiSquaredResult",
    "CumulativeIncidenceCurve",
    "CumulativeIncidenceResult",
    "DunnComparison",
    "FirthCoefficient",
    "FirthLogisticResult",
    "FisherResult",
    "FriedmanResult",
    "GrayTestResult",
    "GroupSize",
    "KaplanMeierCurve",
    "KaplanMeierResult",
    "KruskalWallisResult",
    "LogRankGroup",
    "LogRankResult",
    "NumericSummary",
    "PairedComparison",
    "Proportion",
    "RankSumResult",
    "SignedRankResult",
    "SmallSampleWarning",
    "StatisticalWarning",
    "adjust_pvalues",
    "chisq_test",
    "cumulative_incidence",
    "firth_logistic",
    "fisher_exact",
    "friedman_test",
    "gray_test",
    "kaplan_meier",
    "kruskal_wallis",
    "logrank_test",
    "mann_whitney",
    "proportion",
    "summarize_binary",
    "summarize_categorical",
    "summarize_numeric",
    "wilcoxon_signed_rank",
]
