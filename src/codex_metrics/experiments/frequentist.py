"""Frequentist two-arm tests on sufficient statistics: Welch t, delta method, lifts, Fieller.

Conventions (pinned by the golden tests against gbstats 0.8.0 and tea-tasting 1.14.0):

* absolute lift Δ = μB − μA, Var(Δ) = vA/nA + vB/nB, where v is the per-developer variance of
  each arm's statistic (the delta-method variance for ratio metrics);
* relative lift Δ% = μB/μA − 1 with gbstats' *linear* delta method,
  Var(Δ%) = vB/(μA²·nB) + vA·μB²/(μA⁴·nA) (``frequentist_variance(relative=True)``);
  tea-tasting instead builds the relative CI on the log scale, which we do not;
* the reference distribution is Student's t with Welch–Satterthwaite degrees of freedom,
  df = (vA/nA + vB/nB)² / ((vA/nA)²/(nA − 1) + (vB/nB)²/(nB − 1)), for both lifts;
* Fieller's interval for μB/μA (Fieller 1954; Statsig's recommended relative CI) is an
  option: solve (B̄ − ρĀ)² = t²(sB² + ρ²sA²) for ρ, with s² = v/n.

Arms are any :class:`~codex_metrics.experiments.sufficient_stats.ArmStatistic` (mean,
proportion, ratio or CUPED-adjusted). Bad data returns an :class:`Effect` with a status code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
from scipy import stats as sps

from codex_metrics.errors import ParameterError
from codex_metrics.experiments.status import Status, status_message
from codex_metrics.experiments.sufficient_stats import ArmStatistic, safe_divide

__all__ = [
    "ArmComparison",
    "Effect",
    "absolute_effect",
    "compare",
    "relative_effect",
    "welch_df",
    "welch_p_values",
]

LiftKind = Literal["absolute", "relative"]
RelativeCI = Literal["delta", "fieller"]
NAN = float("nan")


@dataclass(frozen=True)
class Effect:
    """One lift with its uncertainty.

    Attributes:
        kind: ``absolute`` (μB − μA) or ``relative`` (μB/μA − 1).
        estimate: point estimate (NaN when undefined).
        se: standard error (linear delta method for relative lifts).
        ci_low: lower bound of the (1 − alpha) interval.
        ci_high: upper bound.
        p_value: two-sided p-value of "no difference".
        df: Welch–Satterthwaite degrees of freedom (inf for z-based methods).
        method: how the interval was built (``welch``, ``fieller``, ``sequential``, ...).
        status: stable status code.
        message: plain-words explanation of the status.
    """

    kind: LiftKind
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    df: float
    method: str
    status: Status = Status.OK
    message: str = "computed"

    @property
    def ok(self) -> bool:
        """Whether the numbers are usable."""
        return self.status is Status.OK

    @property
    def significant(self) -> bool:
        """Whether the interval excludes zero (only for usable results)."""
        return self.ok and (self.ci_low > 0 or self.ci_high < 0)

    @classmethod
    def failed(
        cls, kind: LiftKind, status: Status, *, method: str, estimate: float = NAN
    ) -> Effect:
        """A result carrying a status code instead of numbers."""
        return cls(kind, estimate, NAN, NAN, NAN, NAN, NAN, method, status, status_message(status))


@dataclass(frozen=True)
class ArmComparison:
    """Both arms' values and both lifts for one metric."""

    control_mean: float
    treatment_mean: float
    control_n: int
    treatment_n: int
    absolute: Effect
    relative: Effect

    @property
    def status(self) -> Status:
        """The absolute lift's status (the relative one can additionally be BASELINE_ZERO)."""
        return self.absolute.status


def _f(x: Any) -> float:
    return float(x)


def welch_df(a: ArmStatistic, b: ArmStatistic) -> Any:
    """Welch–Satterthwaite degrees of freedom from per-developer variances."""
    sa, sb = a.variance / a.n, b.variance / b.n
    return safe_divide((sa + sb) ** 2, sa**2 / (a.n - 1) + sb**2 / (b.n - 1))


def _arm_status(a: ArmStatistic, b: ArmStatistic) -> Status:
    if a.n == 0 or b.n == 0:
        return Status.EMPTY_ARM
    if a.n < 2 or b.n < 2:
        return Status.TOO_FEW_DEVELOPERS
    if not (math.isfinite(_f(a.unadjusted_mean)) and math.isfinite(_f(b.unadjusted_mean))):
        return Status.ZERO_DENOMINATOR
    va, vb = _f(a.variance), _f(b.variance)
    if not (math.isfinite(va) and math.isfinite(vb)) or va < 0 or vb < 0 or va + vb <= 0:
        return Status.ZERO_VARIANCE
    return Status.OK


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ParameterError("alpha", f"must be in (0, 1), got {alpha}")


def _t_result(
    kind: LiftKind, estimate: float, variance: float, df: float, alpha: float, test_value: float
) -> Effect:
    se = math.sqrt(variance)
    q = float(sps.t.ppf(1 - alpha / 2, df))
    p = float(2 * sps.t.sf(abs((estimate - test_value) / se), df))
    return Effect(kind, estimate, se, estimate - q * se, estimate + q * se, p, df, "welch")


def absolute_effect(
    a: ArmStatistic, b: ArmStatistic, *, alpha: float = 0.05, test_value: float = 0.0
) -> Effect:
    """Absolute lift μB − μA with a Welch t interval and two-sided p-value.

    Args:
        a: control arm.
        b: treatment arm.
        alpha: 1 − confidence level.
        test_value: the lift under the null hypothesis.
    """
    _check_alpha(alpha)
    status = _arm_status(a, b)
    if status is not Status.OK:
        est = _f(b.mean) - _f(a.mean) if status is Status.ZERO_VARIANCE else NAN
        return Effect.failed("absolute", status, method="welch", estimate=est)
    variance = _f(a.variance) / a.n + _f(b.variance) / b.n
    estimate = _f(b.mean) - _f(a.mean)
    return _t_result("absolute", estimate, variance, _f(welch_df(a, b)), alpha, test_value)


def _fieller(
    a: ArmStatistic, b: ArmStatistic, alpha: float, df: float
) -> tuple[float, float] | None:
    """Fieller's interval for μB/μA − 1 with independent arms, or None when unbounded."""
    ma, mb = _f(a.mean), _f(b.mean)
    sa2, sb2 = _f(a.variance) / a.n, _f(b.variance) / b.n
    q2 = float(sps.t.ppf(1 - alpha / 2, df)) ** 2
    lead = ma * ma - q2 * sa2
    if lead <= 0:
        return None
    half = math.sqrt((ma * mb) ** 2 - lead * (mb * mb - q2 * sb2))
    return (ma * mb - half) / lead - 1, (ma * mb + half) / lead - 1


def relative_effect(
    a: ArmStatistic,
    b: ArmStatistic,
    *,
    alpha: float = 0.05,
    ci: RelativeCI = "delta",
    test_value: float = 0.0,
) -> Effect:
    """Relative lift (μB − μA)/μA, gbstats' linear delta method (or Fieller's interval).

    The point estimate uses adjusted means over the *unadjusted* control mean (gbstats'
    ``frequentist_diff``), so CUPED-adjusted arms give CUPED relative lifts.

    Args:
        a: control arm.
        b: treatment arm.
        alpha: 1 − confidence level.
        ci: ``delta`` (gbstats, default) or ``fieller``; the p-value is the delta method's.
        test_value: the relative lift under the null hypothesis.
    """
    _check_alpha(alpha)
    if ci not in ("delta", "fieller"):
        raise ParameterError("ci", f"{ci!r} is not delta or fieller")
    method = "welch" if ci == "delta" else "fieller"
    status = _arm_status(a, b)
    base = _f(a.unadjusted_mean)
    if status is Status.OK and base == 0:
        status = Status.BASELINE_ZERO
    if status is not Status.OK:
        return Effect.failed("relative", status, method=method)
    ma, mb = _f(a.unadjusted_mean), _f(b.unadjusted_mean)
    variance = _f(b.variance) / (ma**2 * b.n) + _f(a.variance) * mb**2 / (ma**4 * a.n)
    df = _f(welch_df(a, b))
    estimate = (_f(b.mean) - _f(a.mean)) / base
    result = _t_result("relative", estimate, variance, df, alpha, test_value)
    if ci == "fieller":
        bounds = _fieller(a, b, alpha, df)
        if bounds is None:
            return replace(
                result,
                ci_low=-math.inf,
                ci_high=math.inf,
                method=method,
                status=Status.FIELLER_UNBOUNDED,
                message=status_message(Status.FIELLER_UNBOUNDED),
            )
        result = replace(result, ci_low=bounds[0], ci_high=bounds[1], method=method)
    return result


def compare(
    a: ArmStatistic, b: ArmStatistic, *, alpha: float = 0.05, relative_ci: RelativeCI = "delta"
) -> ArmComparison:
    """Both arms' values with absolute and relative lifts (control ``a``, treatment ``b``)."""
    return ArmComparison(
        control_mean=_f(a.unadjusted_mean) if a.n else NAN,
        treatment_mean=_f(b.unadjusted_mean) if b.n else NAN,
        control_n=int(a.n),
        treatment_n=int(b.n),
        absolute=absolute_effect(a, b, alpha=alpha),
        relative=relative_effect(a, b, alpha=alpha, ci=relative_ci),
    )


def welch_p_values(a: ArmStatistic, b: ArmStatistic) -> np.ndarray:
    """Vectorised two-sided Welch p-values of the absolute lift (arrays of replicates).

    Replicates with an undefined statistic (empty arm, zero variance) get NaN.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(np.asarray(a.variance / a.n + b.variance / b.n, dtype=float))
        t = (np.asarray(b.mean, dtype=float) - np.asarray(a.mean, dtype=float)) / se
        df = np.asarray(welch_df(a, b), dtype=float)
        p = 2 * sps.t.sf(np.abs(t), df)
    return np.where(np.isfinite(t) & (se > 0), p, np.nan)
