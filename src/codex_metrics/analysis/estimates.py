"""One estimate of the productivity analysis: value, interval, estimand, method and status.

Every number the analysis reports is an :class:`Estimate`; the JSON report, the HTML report and
the ``analysis_results`` rows are all made from them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from scipy import stats

from codex_metrics.analysis.status import AnalysisStatus, analysis_status_message

__all__ = ["Analysis", "Estimate", "normal_interval"]

Analysis = Literal[
    "acceptance_model", "latency_satisfaction", "causal_effect", "segments", "failure_taxonomy"
]
Z95 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class Estimate:
    """One estimate with its interval, or a status saying why there is none.

    Attributes:
        analysis: which part of the analysis.
        estimand: what is estimated, e.g. ``att_log_duration``.
        method: how, e.g. ``aipw``, ``callaway_santanna``, ``twfe``, ``naive``.
        subgroup: ``dim=value`` or ``None`` for everyone.
        estimate: point estimate (``None`` when the status says why).
        ci_low: lower 95% bound.
        ci_high: upper 95% bound.
        std_error: standard error.
        p_value: two-sided p-value against 0, where the method gives one.
        n_units: developers (or tasks, see ``details``) the estimate rests on.
        unit: unit of the estimate.
        status: stable status code.
        status_reason: why, when not ok.
        truth: the simulator's true value, when known.
        details: diagnostics (overlap, pre-trends, sample sizes).
    """

    analysis: Analysis
    estimand: str
    method: str
    estimate: float | None
    std_error: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    n_units: int | None = None
    unit: str = ""
    subgroup: str | None = None
    status: AnalysisStatus = AnalysisStatus.OK
    status_reason: str | None = None
    truth: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def failed(
        cls,
        analysis: Analysis,
        estimand: str,
        method: str,
        status: AnalysisStatus,
        reason: str | None = None,
        **kwargs: Any,
    ) -> Estimate:
        """An estimate that could not be computed, with its status and reason."""
        return cls(
            analysis,
            estimand,
            method,
            None,
            status=status,
            status_reason=reason or analysis_status_message(status),
            **kwargs,
        )

    def with_truth(self, truth: float | None) -> Estimate:
        """The same estimate with the simulator's true value beside it."""
        return replace(self, truth=truth)

    @property
    def covers_truth(self) -> bool | None:
        """Whether the interval covers the truth (``None`` when either is missing)."""
        if self.truth is None or self.ci_low is None or self.ci_high is None:
            return None
        return self.ci_low <= self.truth <= self.ci_high

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (status as its code)."""
        doc = asdict(self)
        doc["status"] = self.status.value
        doc["ci_level"] = 0.95 if self.ci_low is not None else None
        return doc


def normal_interval(estimate: float, std_error: float) -> dict[str, Any]:
    """95% normal interval and two-sided p-value, as keyword arguments of :class:`Estimate`."""
    if not math.isfinite(std_error) or std_error <= 0:
        return {"std_error": None, "ci_low": None, "ci_high": None, "p_value": None}
    z = estimate / std_error
    return {
        "std_error": std_error,
        "ci_low": estimate - Z95 * std_error,
        "ci_high": estimate + Z95 * std_error,
        "p_value": float(2 * stats.norm.sf(abs(z))),
    }
