"""Power and sample size for a planned two-arm test on the relative lift.

Normal approximation for a two-sided level-α test of a relative minimum detectable effect
(MDE) δ with treatment share w (control 1 − w), per-developer variance v of the metric and
baseline value μ (a pre-period or control-arm estimate, delta-method variance for ratios):

    Var(Δ%) ≈ (v/μ²)·(1/(N(1 − w)) + 1/(N·w))·(1 − r)
    N = (z₁₋α/₂ + z_power)² · (v/μ²)·(1/(1 − w) + 1/w)·(1 − r) / δ²

where r is the expected CUPED variance reduction (0 without CUPED). Power at a given N inverts
the same relation: power = Φ(δ/se − z₁₋α/₂) (the far tail is ignored). Standard, e.g.
Kohavi, Tang & Xu, *Trustworthy Online Controlled Experiments*, ch. 17; tea-tasting's
``solve_power`` for ``RatioOfMeans`` uses the same variance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats as sps

from codex_metrics.errors import ParameterError
from codex_metrics.experiments.sufficient_stats import ArmStatistic

__all__ = ["PowerPlan", "check_mde", "power_at", "required_developers"]


@dataclass(frozen=True)
class PowerPlan:
    """A power calculation.

    Attributes:
        developers: total developers (all arms).
        relative_mde: relative minimum detectable effect δ.
        power: probability of detecting δ.
        alpha: two-sided level.
        treatment_share: share of developers in the treatment arm.
        baseline: baseline value μ of the metric.
        cv2: squared per-developer coefficient of variation v/μ², after CUPED.
    """

    developers: int
    relative_mde: float
    power: float
    alpha: float
    treatment_share: float
    baseline: float
    cv2: float


def check_mde(relative_mde: float) -> None:
    """Refuse a relative MDE that is zero or reads as a percentage (2 for 2%).

    Raises:
        ParameterError: zero, or at least 1 in absolute value (+100% or more).
    """
    if relative_mde == 0:
        raise ParameterError("relative_mde", "must not be zero")
    if abs(relative_mde) >= 1:
        raise ParameterError(
            "--mde",
            f"is a relative effect: 0.02 means +2%, so {relative_mde:g} would mean "
            f"{relative_mde:+.0%}; pass {relative_mde / 100:g} for {relative_mde:g}%",
        )


def _check(alpha: float, share: float, reduction: float) -> None:
    if not 0 < alpha < 1:
        raise ParameterError("alpha", f"must be in (0, 1), got {alpha}")
    if not 0 < share < 1:
        raise ParameterError("treatment_share", f"must be in (0, 1), got {share}")
    if not 0 <= reduction < 1:
        raise ParameterError("variance_reduction", f"must be in [0, 1), got {reduction}")


def _cv2(baseline: ArmStatistic, reduction: float) -> tuple[float, float]:
    mu, v = float(baseline.mean), float(baseline.variance)
    if not (math.isfinite(mu) and math.isfinite(v)) or mu == 0 or v <= 0:
        raise ParameterError("baseline", "needs a non-zero baseline value and a positive variance")
    return mu, v / mu**2 * (1 - reduction)


def required_developers(
    baseline: ArmStatistic,
    *,
    relative_mde: float,
    power: float = 0.8,
    alpha: float = 0.05,
    treatment_share: float = 0.5,
    variance_reduction: float = 0.0,
) -> PowerPlan:
    """Developers needed (all arms) to detect ``relative_mde`` with probability ``power``.

    Raises:
        ParameterError: an argument is out of range or the baseline has no variance.
    """
    _check(alpha, treatment_share, variance_reduction)
    if not 0 < power < 1:
        raise ParameterError("power", f"must be in (0, 1), got {power}")
    check_mde(relative_mde)
    mu, cv2 = _cv2(baseline, variance_reduction)
    z = float(sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(power))
    w = treatment_share
    n = z * z * cv2 * (1 / (1 - w) + 1 / w) / relative_mde**2
    return PowerPlan(math.ceil(n), relative_mde, power, alpha, w, mu, cv2)


def power_at(
    baseline: ArmStatistic,
    *,
    developers: int,
    relative_mde: float,
    alpha: float = 0.05,
    treatment_share: float = 0.5,
    variance_reduction: float = 0.0,
) -> PowerPlan:
    """Power of a test with ``developers`` in total to detect ``relative_mde``.

    Raises:
        ParameterError: an argument is out of range or the baseline has no variance.
    """
    _check(alpha, treatment_share, variance_reduction)
    if developers < 2:
        raise ParameterError("developers", f"must be at least 2, got {developers}")
    check_mde(relative_mde)
    mu, cv2 = _cv2(baseline, variance_reduction)
    w = treatment_share
    se = math.sqrt(cv2 * (1 / (developers * (1 - w)) + 1 / (developers * w)))
    pw = float(sps.norm.cdf(abs(relative_mde) / se - sps.norm.ppf(1 - alpha / 2)))
    return PowerPlan(developers, relative_mde, pw, alpha, w, mu, cv2)
