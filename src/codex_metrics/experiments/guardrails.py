"""Guardrails as non-inferiority tests with the experiment's relative margins.

A guardrail with margin δ (e.g. latency 0.05) may not get worse by more than δ relative to
control. With the relative lift Δ% (gbstats' linear delta method, Welch df) the one-sided
hypotheses are

    lower is better (latency, errors):  H0: Δ% ≥ δ   vs  H1: Δ% < δ,   p = F_t((Δ% − δ)/se)
    higher is better (acceptance):      H0: Δ% ≤ −δ  vs  H1: Δ% > −δ,  p = 1 − F_t((Δ% + δ)/se)

(Spotify Confidence's non-inferiority margins with a preferred direction). The guardrail
*passes* when its (Holm-adjusted) p-value is below α, *fails* when the metric got
significantly worse (the two-sided interval excludes 0 on the harmful side) *and* the point
estimate is beyond the margin, and is *inconclusive* otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from scipy import stats as sps

from codex_metrics.errors import ParameterError
from codex_metrics.experiments.frequentist import Effect, relative_effect
from codex_metrics.experiments.status import Status
from codex_metrics.experiments.sufficient_stats import ArmStatistic

__all__ = ["GuardrailOutcome", "NonInferiority", "guardrail_outcome", "non_inferiority"]


class GuardrailOutcome(StrEnum):
    """The verdict on one guardrail."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    NOT_COMPUTED = "not_computed"


@dataclass(frozen=True)
class NonInferiority:
    """A non-inferiority test on the relative lift.

    Attributes:
        margin: relative margin δ (> 0).
        higher_is_better: direction of the metric.
        relative: the relative lift with its two-sided interval.
        bound: the one-sided (1 − α) confidence bound on the harmful side.
        p_value: one-sided p-value of H0 "worse than the margin" (unadjusted).
    """

    margin: float
    higher_is_better: bool
    relative: Effect
    bound: float
    p_value: float

    @property
    def status(self) -> Status:
        """The status of the underlying relative lift."""
        return self.relative.status

    @property
    def harmful_beyond_margin(self) -> bool:
        """Significantly worse than control, with a point estimate beyond the margin."""
        rel = self.relative
        if not rel.ok:
            return False
        if self.higher_is_better:
            return rel.ci_high < 0 and rel.estimate < -self.margin
        return rel.ci_low > 0 and rel.estimate > self.margin


def non_inferiority(
    a: ArmStatistic,
    b: ArmStatistic,
    *,
    margin: float,
    higher_is_better: bool,
    alpha: float = 0.05,
) -> NonInferiority:
    """One-sided non-inferiority test of treatment ``b`` against control ``a``.

    Raises:
        ParameterError: ``margin`` is not positive.
    """
    if not margin > 0:
        raise ParameterError("margin", f"must be a positive relative margin, got {margin}")
    rel = relative_effect(a, b, alpha=alpha)
    if not rel.ok:
        return NonInferiority(margin, higher_is_better, rel, float("nan"), float("nan"))
    q = float(sps.t.ppf(1 - alpha, rel.df))
    if higher_is_better:
        bound = rel.estimate - q * rel.se
        p = float(sps.t.sf((rel.estimate + margin) / rel.se, rel.df))
    else:
        bound = rel.estimate + q * rel.se
        p = float(sps.t.cdf((rel.estimate - margin) / rel.se, rel.df))
    return NonInferiority(margin, higher_is_better, rel, bound, p)


def guardrail_outcome(
    test: NonInferiority, adjusted_p: float, *, alpha: float = 0.05
) -> GuardrailOutcome:
    """Pass, fail or inconclusive from the test and its multiplicity-adjusted p-value."""
    if not test.relative.ok:
        return GuardrailOutcome.NOT_COMPUTED
    if test.harmful_beyond_margin:
        return GuardrailOutcome.FAIL
    if adjusted_p < alpha:
        return GuardrailOutcome.PASS
    return GuardrailOutcome.INCONCLUSIVE
