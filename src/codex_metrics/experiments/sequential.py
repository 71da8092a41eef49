"""Always-valid inference for dashboards looked at daily: asymptotic confidence sequences.

Waudby-Smith, Arnold, Wu, Lindon, Ramdas & Ramdas, *Time-uniform central limit theory and
asymptotic confidence sequences* (arXiv 2103.06476v7), as implemented by gbstats'
``SequentialTwoSidedTTest``. With N = nA + nB developers, per-developer variance
s² = Var(lift)·N and tuning

    ρ = sqrt((−2·ln α + ln(−2·ln α + 1)) / N*)                        (eq. 161)
    half-width = s · sqrt(2(Nρ² + 1)/(N²ρ²) · ln(sqrt(Nρ² + 1)/α))   (eq. 9)
    p = min(1, 1/E),  E = exp(ρ²·N·(Δ/σ)²/(2(Nρ² + 1))) / sqrt(Nρ² + 1)  (eq. 155).

N* is the number of developers at which the interval is tightest; set it to the experiment's
``planned_developers`` (gbstats' default 5000 makes a 16-developer interval ~7× wider).
The interval is valid at every look, so a daily dashboard can stop the first day it excludes 0.
"""

from __future__ import annotations

import math
from dataclasses import replace

from codex_metrics.errors import ParameterError
from codex_metrics.experiments.frequentist import Effect, LiftKind, absolute_effect, relative_effect
from codex_metrics.experiments.sufficient_stats import ArmStatistic

__all__ = ["confidence_sequence_half_width", "sequential_effect", "sequential_rho"]


def sequential_rho(alpha: float, planned_n: float) -> float:
    """Tuning ρ of the normal-mixture boundary for a target sample size N* (eq. 161)."""
    return math.sqrt((-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / planned_n)


def confidence_sequence_half_width(
    per_unit_variance: float, n: float, *, alpha: float, planned_n: float
) -> float:
    """Half-width of the asymptotic confidence sequence after ``n`` units (eq. 9)."""
    rho = sequential_rho(alpha, planned_n)
    nr2 = n * rho * rho + 1
    return math.sqrt(per_unit_variance) * math.sqrt(
        2 * nr2 * math.log(math.sqrt(nr2) / alpha) / (n * rho) ** 2
    )


def sequential_effect(
    a: ArmStatistic,
    b: ArmStatistic,
    *,
    planned_developers: int,
    kind: LiftKind = "absolute",
    alpha: float = 0.05,
    test_value: float = 0.0,
) -> Effect:
    """A lift with an always-valid confidence sequence and sequential p-value.

    Args:
        a: control arm.
        b: treatment arm.
        planned_developers: N*, the planned total number of developers (all arms).
        kind: ``absolute`` or ``relative`` (gbstats' linear delta for the relative variance).
        alpha: 1 − confidence level.
        test_value: lift under the null hypothesis.

    Raises:
        ParameterError: ``planned_developers`` is not positive.
    """
    if planned_developers < 1:
        raise ParameterError("planned_developers", f"must be positive, got {planned_developers}")
    fixed = (
        absolute_effect(a, b, alpha=alpha)
        if kind == "absolute"
        else relative_effect(a, b, alpha=alpha)
    )
    if not fixed.ok:
        return replace(fixed, method="sequential")
    n = float(a.n + b.n)
    s2 = fixed.se**2 * n
    half = confidence_sequence_half_width(s2, n, alpha=alpha, planned_n=planned_developers)
    rho = sequential_rho(alpha, planned_developers)
    nr2 = n * rho * rho + 1
    st2 = (fixed.estimate - test_value) ** 2 * n / fixed.se**2  # S_t² of eq. 155
    log_e = rho * rho * st2 / (2 * nr2) - 0.5 * math.log(nr2)
    p = 1.0 if log_e <= 0 else math.exp(-log_e)
    return replace(
        fixed,
        ci_low=fixed.estimate - half,
        ci_high=fixed.estimate + half,
        p_value=min(1.0, p),
        df=math.inf,
        method="sequential",
    )
