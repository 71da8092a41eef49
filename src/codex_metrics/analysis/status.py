"""Stable status codes of the productivity analysis (same shape as ``experiments.status``).

Bad data never raises: too few developers, no overlap, one arm only or no surveys give an
estimate whose ``status`` is one of these codes and whose ``status_reason`` says why. The codes
are part of the public contract (the dashboard and JSON key on ``status.value``); add new ones,
never rename old ones.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["AnalysisStatus", "analysis_status_message"]


class AnalysisStatus(StrEnum):
    """Outcome of one estimate of the productivity analysis."""

    OK = "ok"
    TOO_FEW_DEVELOPERS = "too_few_developers"
    ONE_ARM_ONLY = "one_arm_only"
    NO_OVERLAP = "no_overlap"
    OVERLAP_TRIMMED = "overlap_trimmed"
    NO_PRE_PERIOD = "no_pre_period"
    NO_SURVEYS = "no_surveys"
    NO_DATA = "no_data"
    PRE_TRENDS = "pre_trends"
    NOT_IDENTIFIED = "not_identified"
    FIT_FAILED = "fit_failed"


_MESSAGES: dict[AnalysisStatus, str] = {
    AnalysisStatus.OK: "computed",
    AnalysisStatus.TOO_FEW_DEVELOPERS: "too few developers for this estimate",
    AnalysisStatus.ONE_ARM_ONLY: "only one arm (all treated or all untreated); nothing to compare",
    AnalysisStatus.NO_OVERLAP: "treated and untreated do not overlap in their covariates",
    AnalysisStatus.OVERLAP_TRIMMED: (
        "some units had propensities outside the overlap bounds and were trimmed; the estimate "
        "is for the trimmed population"
    ),
    AnalysisStatus.NO_PRE_PERIOD: "no week before adoption to compare with",
    AnalysisStatus.NO_SURVEYS: "no survey answers in the lake",
    AnalysisStatus.NO_DATA: "the tables this estimate reads are empty",
    AnalysisStatus.PRE_TRENDS: "the pre-adoption trends differ (joint pre-trend test p < 0.05)",
    AnalysisStatus.NOT_IDENTIFIED: "this estimand is not identified by the data at hand",
    AnalysisStatus.FIT_FAILED: "the model did not fit",
}


def analysis_status_message(status: AnalysisStatus) -> str:
    """The plain-words explanation of ``status``."""
    return _MESSAGES[status]
