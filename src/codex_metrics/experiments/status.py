"""Stable status codes for statistical results.

Bad data never raises: an empty arm, zero variance or too few developers produce a result whose
``status`` is one of these codes and whose ``message`` says what happened in plain words. The
codes are part of the public contract (the dashboard and JSON reports key on ``status.value``);
add new ones, never rename old ones.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Status", "status_message"]


class Status(StrEnum):
    """Outcome of one statistical computation."""

    OK = "ok"
    EMPTY_ARM = "empty_arm"
    TOO_FEW_DEVELOPERS = "too_few_developers"
    ZERO_VARIANCE = "zero_variance"
    ZERO_DENOMINATOR = "zero_denominator"
    BASELINE_ZERO = "baseline_zero"
    FIELLER_UNBOUNDED = "fieller_unbounded"
    NO_PRE_PERIOD = "no_pre_period"
    MIXED_VARIANCE_COLLAPSED = "mixed_variance_collapsed"
    MIXED_NOT_APPLICABLE = "mixed_not_applicable"
    MIXED_FAILED = "mixed_failed"
    METRIC_UNAVAILABLE = "metric_unavailable"
    QUANTILE_TOO_FEW_EVENTS = "quantile_too_few_events"
    MIXED_OPTIMISER_FAILED = "mixed_optimiser_failed"
    NOT_APPLICABLE = "not_applicable"


_MESSAGES: dict[Status, str] = {
    Status.OK: "computed",
    Status.EMPTY_ARM: "an arm has no developers with data for this metric",
    Status.TOO_FEW_DEVELOPERS: "an arm has fewer than 2 developers; no variance can be estimated",
    Status.ZERO_VARIANCE: "the metric does not vary between developers in either arm",
    Status.ZERO_DENOMINATOR: "the metric's denominator sums to zero in an arm",
    Status.BASELINE_ZERO: "the control arm's value is zero, so a relative lift is undefined",
    Status.FIELLER_UNBOUNDED: (
        "the control mean is not significantly different from zero, so Fieller's interval "
        "for the relative lift is unbounded"
    ),
    Status.NO_PRE_PERIOD: "no pre-period data; CUPED was not applied",
    Status.MIXED_VARIANCE_COLLAPSED: (
        "the developer random-effect variance is zero (every optimiser and the moment estimate "
        "agree); the mixed model's fixed effects are unreliable there (statsmodels#10239), so "
        "the cluster-robust OLS estimate is reported instead"
    ),
    Status.MIXED_NOT_APPLICABLE: "the mixed model needs a count ratio (numerator <= denominator)",
    Status.MIXED_FAILED: "the mixed model did not fit",
    Status.METRIC_UNAVAILABLE: "the metric could not be computed from the lake",
    Status.QUANTILE_TOO_FEW_EVENTS: (
        "an arm has too few events for this quantile: its confidence bounds would fall outside "
        "the data (gbstats' rule n > 3.84·ν/(1 − ν))"
    ),
    Status.MIXED_OPTIMISER_FAILED: (
        "no optimiser found the developer variance that the moment estimate shows; the "
        "cluster-robust OLS estimate is reported as a fallback, not as the mixed model"
    ),
    Status.NOT_APPLICABLE: "this cross-check does not apply to the metric's kind",
}


def status_message(status: Status) -> str:
    """The default plain-words explanation of ``status``."""
    return _MESSAGES[status]
