"""A Bayesian view of a lift: chance to beat control and expected loss (gbstats' effect model).

gbstats 0.8.0 ``EffectBayesianABTest``: the data give a normal likelihood for the lift Δ with
the frequentist point estimate and variance (relative lift: gbstats' linear delta method,
:func:`~codex_metrics.experiments.frequentist.relative_effect`; absolute: Var = vA/nA + vB/nB).
With a Gaussian prior N(μ₀, σ₀²) on Δ the posterior is normal with

    precision = 1/Var + 1/σ₀²,   mean = (Δ̂/Var + μ₀/σ₀²) / precision,

and with the flat prior (``proper=False``) it is N(Δ̂, Var). Then

* chance to beat control = P(Δ > 0) (P(Δ < 0) for metrics where lower is better);
* expected loss (gbstats' "risk") of choosing control = P(Δ > 0)·E[Δ | Δ > 0], of choosing
  treatment = −P(Δ < 0)·E[Δ | Δ < 0] (swapped when lower is better);
* the credible interval is the posterior's central (1 − α) interval.

The default prior is proper, N(0, 0.3²) on the relative lift: a model-version change rarely
moves a metric by more than ±60% (two prior SDs), and the prior keeps a small noisy arm from
claiming a huge lift. Pass ``BayesianPrior.flat()`` for gbstats' improper default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy import stats as sps

from codex_metrics.errors import ParameterError
from codex_metrics.experiments.frequentist import absolute_effect, relative_effect
from codex_metrics.experiments.status import Status, status_message
from codex_metrics.experiments.sufficient_stats import ArmStatistic

__all__ = ["BayesianPrior", "BayesianResult", "bayesian_effect"]

NAN = float("nan")


@dataclass(frozen=True)
class BayesianPrior:
    """A Gaussian prior on the lift, or the flat (improper) prior.

    Attributes:
        mean: prior mean μ₀.
        sd: prior standard deviation σ₀ (ignored when not ``proper``).
        proper: whether the prior is used at all (``False``: flat prior).
    """

    mean: float = 0.0
    sd: float = 0.3
    proper: bool = True

    def __post_init__(self) -> None:
        if self.proper and not self.sd > 0:
            raise ParameterError("--prior-sd", f"must be positive, got {self.sd}")

    @classmethod
    def flat(cls) -> BayesianPrior:
        """The improper flat prior (posterior = likelihood)."""
        return cls(0.0, 1.0, False)

    def describe(self) -> str:
        """The prior in words."""
        return f"N({self.mean:g}, {self.sd:g}²)" if self.proper else "flat (improper)"


@dataclass(frozen=True)
class BayesianResult:
    """The posterior of one lift.

    Attributes:
        kind: ``relative`` or ``absolute``.
        expected: posterior mean of the lift.
        sd: posterior standard deviation.
        ci_low: lower bound of the central credible interval.
        ci_high: upper bound.
        chance_to_win: posterior probability that treatment beats control.
        risk_control: expected loss of keeping control.
        risk_treatment: expected loss of shipping treatment.
        prior: the prior used.
        status: OK, or why there is no posterior.
        message: plain words.
    """

    kind: Literal["relative", "absolute"]
    expected: float
    sd: float
    ci_low: float
    ci_high: float
    chance_to_win: float
    risk_control: float
    risk_treatment: float
    prior: BayesianPrior
    status: Status = Status.OK
    message: str = "computed"


def _truncated_mean(mu: float, sigma: float, *, positive: bool) -> float:
    a, b = ((0.0 - mu) / sigma, math.inf) if positive else (-math.inf, (0.0 - mu) / sigma)
    return float(sps.truncnorm.mean(a, b, loc=mu, scale=sigma))


def bayesian_effect(
    a: ArmStatistic,
    b: ArmStatistic,
    *,
    prior: BayesianPrior | None = None,
    higher_is_better: bool = True,
    kind: Literal["relative", "absolute"] = "relative",
    alpha: float = 0.05,
) -> BayesianResult:
    """Posterior of treatment ``b``'s lift over control ``a`` (see the module docstring).

    A relative prior is used as it is for the relative lift and scaled by the control value
    for the absolute one, as gbstats does.
    """
    prior = prior or BayesianPrior()
    data = (
        relative_effect(a, b, alpha=alpha)
        if kind == "relative"
        else absolute_effect(a, b, alpha=alpha)
    )
    if not data.ok:
        return BayesianResult(
            kind, NAN, NAN, NAN, NAN, NAN, NAN, NAN, prior, data.status, status_message(data.status)
        )
    mu0, var0 = prior.mean, prior.sd**2
    if kind == "absolute":
        base = float(a.unadjusted_mean)
        mu0, var0 = mu0 * abs(base), var0 * base * base
    variance = data.se**2
    precision = 1 / variance + (1 / var0 if prior.proper else 0.0)
    mean = (data.estimate / variance + mu0 / var0) / precision if prior.proper else data.estimate
    sd = math.sqrt(1 / precision)
    p_positive = float(sps.norm.sf(0, mean, sd))
    p_negative = 1 - p_positive
    risk_control = p_positive * _truncated_mean(mean, sd, positive=True)
    risk_treatment = -p_negative * _truncated_mean(mean, sd, positive=False)
    if not higher_is_better:
        p_positive, risk_control, risk_treatment = p_negative, risk_treatment, risk_control
    low, high = sps.norm.ppf([alpha / 2, 1 - alpha / 2], mean, sd)
    return BayesianResult(
        kind, mean, sd, float(low), float(high), p_positive, risk_control, risk_treatment, prior
    )
