"""Sufficient statistics per arm: what SQL computes in one pass, and all the statistics need.

The statistics layer never sees rows. For every metric the lake engine returns, per arm (and per
slice), the number of developers ``n`` and sums over developers of the per-developer numerator
``m`` and denominator ``d``: Σm, Σm², Σd, Σd², Σm·d. These are the columns of gbstats'
query rows (``main_sum``, ``main_sum_squares``, ``denominator_sum``, ...), so the same numbers
can be cross-checked against ``gbstats.models.statistics``. Statistics pool by addition
(``a + b``), which is how strata, days or partitions combine.

Fields may also hold NumPy arrays of equal shape (one entry per simulated replicate); every
property is then evaluated element-wise. The A/A simulation and the bootstrap use that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, Protocol, TypeVar

import numpy as np

__all__ = [
    "ArmStatistic",
    "MeanStats",
    "ProportionStats",
    "RatioStats",
    "safe_divide",
]

T = TypeVar("T")


def safe_divide(numerator: Any, denominator: Any) -> Any:
    """``numerator / denominator`` with NaN where the denominator is 0 (scalars or arrays)."""
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return float(out) if out.ndim == 0 else out


class ArmStatistic(Protocol):
    """What a test needs from one arm: developers, point estimate and per-developer variance."""

    @property
    def n(self) -> Any:
        """Number of developers (randomisation units)."""

    @property
    def mean(self) -> Any:
        """The arm's point estimate (possibly regression-adjusted)."""

    @property
    def unadjusted_mean(self) -> Any:
        """The arm's raw point estimate (the base of relative lifts)."""

    @property
    def variance(self) -> Any:
        """Per-developer variance: Var(estimate) = variance / n."""


def _add(a: T, b: T) -> T:
    if type(a) is not type(b):
        raise TypeError(f"cannot pool {type(a).__name__} with {type(b).__name__}")
    return type(a)(**{f.name: getattr(a, f.name) + getattr(b, f.name) for f in fields(a)})  # type: ignore[arg-type]


def _sample_variance(n: Any, total: Any, total_squares: Any) -> Any:
    """Unbiased sample variance from sums: (Σx² − (Σx)²/n) / (n − 1)."""
    return safe_divide(total_squares - safe_divide(total * total, n), n - 1)


def _sample_covariance(n: Any, sum_x: Any, sum_y: Any, sum_xy: Any) -> Any:
    """Unbiased sample covariance from sums: (Σxy − ΣxΣy/n) / (n − 1)."""
    return safe_divide(sum_xy - safe_divide(sum_x * sum_y, n), n - 1)


@dataclass(frozen=True)
class MeanStats:
    """A per-developer mean: n developers with values x, summarised by Σx and Σx².

    ``variance`` is the unbiased sample variance (Σx² − (Σx)²/n)/(n − 1), as in
    gbstats' ``SampleMeanStatistic``.
    """

    n: Any
    sum: Any
    sum_squares: Any

    @classmethod
    def from_values(cls, values: Sequence[float] | np.ndarray) -> MeanStats:
        """Summarise per-developer values."""
        x = np.asarray(values, dtype=float)
        return cls(n=int(x.size), sum=float(x.sum()), sum_squares=float((x * x).sum()))

    @property
    def mean(self) -> Any:
        """Σx / n."""
        return safe_divide(self.sum, self.n)

    @property
    def unadjusted_mean(self) -> Any:
        """Same as ``mean`` (no adjustment)."""
        return self.mean

    @property
    def variance(self) -> Any:
        """Unbiased per-developer variance."""
        return _sample_variance(self.n, self.sum, self.sum_squares)

    def __add__(self, other: MeanStats) -> MeanStats:
        return _add(self, other)


@dataclass(frozen=True)
class ProportionStats:
    """A per-developer 0/1 outcome: n developers, Σx of them with x = 1.

    ``variance`` is p(1 − p), as in gbstats' ``ProportionStatistic``.
    """

    n: Any
    sum: Any

    @property
    def mean(self) -> Any:
        """The share p = Σx / n."""
        return safe_divide(self.sum, self.n)

    @property
    def unadjusted_mean(self) -> Any:
        """Same as ``mean``."""
        return self.mean

    @property
    def variance(self) -> Any:
        """p(1 − p)."""
        p = self.mean
        return p * (1 - p)

    def __add__(self, other: ProportionStats) -> ProportionStats:
        return _add(self, other)


@dataclass(frozen=True)
class RatioStats:
    """A ratio metric Σm / Σd over the developers of an arm (e.g. accepted / shown).

    The per-developer variance is the delta method's (Deng, Knoblich & Lu, KDD 2018; gbstats
    ``RatioStatistic``):

        Var = Var(m)/μd² − 2·Cov(m, d)·μm/μd³ + μm²·Var(d)/μd⁴,

    with μm = Σm/n, μd = Σd/n and unbiased (n − 1) moments, so Var(Σm/Σd) ≈ Var / n.
    A mean metric is the special case d = 1 for every developer.
    """

    n: Any
    num_sum: Any
    num_sum_squares: Any
    den_sum: Any
    den_sum_squares: Any
    num_den_sum_products: Any

    @classmethod
    def from_arrays(
        cls, numerator: Sequence[float] | np.ndarray, denominator: Sequence[float] | np.ndarray
    ) -> RatioStats:
        """Summarise per-developer (numerator, denominator) pairs."""
        m = np.asarray(numerator, dtype=float)
        d = np.asarray(denominator, dtype=float)
        if m.shape != d.shape:
            raise ValueError(f"numerator and denominator differ in shape: {m.shape} vs {d.shape}")
        return cls(
            n=int(m.size),
            num_sum=float(m.sum()),
            num_sum_squares=float((m * m).sum()),
            den_sum=float(d.sum()),
            den_sum_squares=float((d * d).sum()),
            num_den_sum_products=float((m * d).sum()),
        )

    @classmethod
    def from_mean(cls, stats: MeanStats) -> RatioStats:
        """The ratio form of a mean metric (denominator 1 per developer)."""
        return cls(stats.n, stats.sum, stats.sum_squares, stats.n, stats.n, stats.sum)

    @property
    def mean(self) -> Any:
        """Σm / Σd (NaN when Σd = 0)."""
        return safe_divide(self.num_sum, self.den_sum)

    @property
    def unadjusted_mean(self) -> Any:
        """Same as ``mean``."""
        return self.mean

    @property
    def numerator_mean(self) -> Any:
        """μm = Σm / n."""
        return safe_divide(self.num_sum, self.n)

    @property
    def denominator_mean(self) -> Any:
        """μd = Σd / n."""
        return safe_divide(self.den_sum, self.n)

    @property
    def numerator_variance(self) -> Any:
        """Unbiased variance of per-developer numerators."""
        return _sample_variance(self.n, self.num_sum, self.num_sum_squares)

    @property
    def denominator_variance(self) -> Any:
        """Unbiased variance of per-developer denominators."""
        return _sample_variance(self.n, self.den_sum, self.den_sum_squares)

    @property
    def covariance(self) -> Any:
        """Unbiased covariance of per-developer numerators and denominators."""
        return _sample_covariance(self.n, self.num_sum, self.den_sum, self.num_den_sum_products)

    @property
    def variance(self) -> Any:
        """Per-developer delta-method variance of the ratio (see the class docstring)."""
        mu_m, mu_d = self.numerator_mean, self.denominator_mean
        return (
            safe_divide(self.numerator_variance, mu_d**2)
            - 2 * safe_divide(self.covariance * mu_m, mu_d**3)
            + safe_divide(mu_m**2 * self.denominator_variance, mu_d**4)
        )

    def __add__(self, other: RatioStats) -> RatioStats:
        return _add(self, other)
