"""CUPED: variance reduction with each developer's pre-period value, for means and ratios.

For a ratio metric R = Σm/Σd with pre-period covariate X = Σx/Σy (the same metric over the
pre-period), each developer's linearised contributions are

    Lᵢ = (mᵢ − R·dᵢ)/μd        Kᵢ = (xᵢ − X·yᵢ)/μy,

and the adjusted arm estimate is R − θ·X with per-developer variance
Var(L) + θ²·Var(K) − 2θ·Cov(L, K), where θ = Cov(L, K)/Var(K) is pooled over both arms
(gbstats' ``compute_theta`` on the joint statistic). For a mean metric (d = y = 1) this is
exactly gbstats' ``RegressionAdjustedStatistic``; for ratios it is the appendix of Deng, Xu,
Kohavi & Walker (WSDM 2013) and tea-tasting's ``RatioOfMeans`` with covariates. Developers
without pre-period activity (x = y = 0) contribute Kᵢ = 0: they sit at the covariate mean.
Relative lifts divide by the *unadjusted* control value, as gbstats does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from codex_metrics.experiments.status import Status
from codex_metrics.experiments.sufficient_stats import RatioStats, safe_divide

__all__ = ["AdjustedArm", "CupedRatioStats", "CupedResult", "cuped_adjust"]


def _cov(n: Any, sx: Any, sy: Any, sxy: Any) -> Any:
    return safe_divide(sxy - safe_divide(sx * sy, n), n - 1)


@dataclass(frozen=True)
class CupedRatioStats:
    """Post-period ratio, pre-period ratio, and the four cross products linking them.

    Attributes:
        post: Σm, Σm², Σd, Σd², Σmd over the experiment period.
        pre: the same sums over each developer's pre-period (x over y).
        num_pre_num: Σ m·x.
        num_pre_den: Σ m·y.
        den_pre_num: Σ d·x.
        den_pre_den: Σ d·y.
    """

    post: RatioStats
    pre: RatioStats
    num_pre_num: Any
    num_pre_den: Any
    den_pre_num: Any
    den_pre_den: Any

    @classmethod
    def from_arrays(
        cls,
        numerator: Sequence[float] | np.ndarray,
        denominator: Sequence[float] | np.ndarray,
        pre_numerator: Sequence[float] | np.ndarray,
        pre_denominator: Sequence[float] | np.ndarray,
    ) -> CupedRatioStats:
        """Summarise per-developer post and pre (numerator, denominator) pairs."""
        m, d, x, y = (
            np.asarray(v, dtype=float)
            for v in (numerator, denominator, pre_numerator, pre_denominator)
        )
        return cls(
            RatioStats.from_arrays(m, d),
            RatioStats.from_arrays(x, y),
            float((m * x).sum()),
            float((m * y).sum()),
            float((d * x).sum()),
            float((d * y).sum()),
        )

    @property
    def n(self) -> Any:
        """Developers."""
        return self.post.n

    @property
    def post_pre_covariance(self) -> Any:
        """Cov(L, K) of the linearised post and pre ratios (see the module docstring)."""
        n, post, pre = self.n, self.post, self.pre
        r, x = post.mean, pre.mean
        c_mx = _cov(n, post.num_sum, pre.num_sum, self.num_pre_num)
        c_my = _cov(n, post.num_sum, pre.den_sum, self.num_pre_den)
        c_dx = _cov(n, post.den_sum, pre.num_sum, self.den_pre_num)
        c_dy = _cov(n, post.den_sum, pre.den_sum, self.den_pre_den)
        return safe_divide(
            c_mx - x * c_my - r * c_dx + r * x * c_dy, post.denominator_mean * pre.denominator_mean
        )

    def adjusted(self, theta: float) -> AdjustedArm:
        """The arm as seen by the tests after adjustment with ``theta`` (raw when θ = 0)."""
        post = self.post
        if theta == 0:
            return AdjustedArm(post.n, post.mean, post.mean, post.variance)
        variance = (
            post.variance + theta**2 * self.pre.variance - 2 * theta * self.post_pre_covariance
        )
        return AdjustedArm(post.n, post.mean - theta * self.pre.mean, post.mean, variance)

    def __add__(self, other: CupedRatioStats) -> CupedRatioStats:
        if not isinstance(other, CupedRatioStats):
            raise TypeError(f"cannot pool CupedRatioStats with {type(other).__name__}")
        return CupedRatioStats(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )


@dataclass(frozen=True)
class AdjustedArm:
    """A CUPED-adjusted arm: satisfies the ``ArmStatistic`` protocol of the tests."""

    n: Any
    mean: Any
    unadjusted_mean: Any
    variance: Any


@dataclass(frozen=True)
class CupedResult:
    """Both adjusted arms, the pooled θ and the variance reduction achieved.

    Attributes:
        control: adjusted control arm.
        treatment: adjusted treatment arm.
        theta: pooled regression coefficient (0 when there is no usable pre-period).
        variance_reduction: 1 − Var(adjusted lift)/Var(unadjusted lift).
        status: OK, or NO_PRE_PERIOD when CUPED could not be applied (arms are then raw).
    """

    control: AdjustedArm
    treatment: AdjustedArm
    theta: float
    variance_reduction: float
    status: Status


def cuped_adjust(a: CupedRatioStats, b: CupedRatioStats) -> CupedResult:
    """Adjust both arms with θ = Cov(L, K)/Var(K) estimated on the pooled developers."""
    pooled = a + b
    var_k = float(pooled.pre.variance) if pooled.pre.den_sum > 0 else float("nan")
    status = Status.OK
    if not np.isfinite(var_k) or var_k <= 0:
        theta, status = 0.0, Status.NO_PRE_PERIOD
    else:
        theta = float(pooled.post_pre_covariance) / var_k
        if not np.isfinite(theta):
            theta, status = 0.0, Status.NO_PRE_PERIOD
    ca, cb = a.adjusted(theta), b.adjusted(theta)
    before = safe_divide(a.post.variance, a.n) + safe_divide(b.post.variance, b.n)
    after = safe_divide(ca.variance, ca.n) + safe_divide(cb.variance, cb.n)
    reduction = float(1 - safe_divide(after, before)) if status is Status.OK else 0.0
    return CupedResult(ca, cb, theta, reduction, status)
