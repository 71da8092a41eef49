"""True completion-latency quantiles of each experiment arm (for ``truth.json``).

Under arm a, a code-completion request of developer i has latency

    L = median · f_i · T · exp(σ·Z) · m_a,   Z ~ N(0, 1),  T = 1 (prob. 1 − s) or U(3, 6) (prob. s),

with f_i the developer's latency factor, m_a the arm's model factor and s the slow-path share.
The arm's latency distribution over the experiment is the mixture of these per-developer
distributions over **every randomised developer** (both potential outcomes, as for the pooled
acceptance estimand), weighted by each developer's expected completion requests in the
experiment period: Σ_days [adopted that day] · min(1, p_active · day factor) · activity ·
P(feature = code_completion). Its CDF is accumulated as weighted sums on a fixed log grid, so
partitions add up; the true quantile is the CDF's inverse, interpolated linearly in log latency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats as sps

from codex_metrics.telemetry.personas import Population
from codex_metrics.telemetry.scenarios import SimulationConfig

__all__ = ["LOG_GRID", "arm_quantile", "completion_latency_cdf_sums"]

#: ln(latency ms) grid of the accumulated CDFs: 1 ms to 10^6 ms in steps of 0.01 (1%).
LOG_GRID = np.arange(0.0, np.log(1e6) + 1e-9, 0.01)
#: Gauss-Legendre nodes for the slow-path factor U(3, 6).
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(16)
_SLOW = 4.5 + 1.5 * _NODES
_SLOW_W = _WEIGHTS / 2
#: Developers' log scale factors are binned this finely before the convolution with the grid.
_SCALE_STEP = 0.0005


def _expected_completions(
    cfg: SimulationConfig, pop: Population, dev: np.ndarray, day_factors: Sequence[float]
) -> np.ndarray:
    start = cfg.integer("ab.pre_days")
    total = np.zeros(dev.shape[0])
    for d in range(start, cfg.days):
        adopted = (pop.adopted_day[dev] <= d) & (pop.churned_day[dev] > d)
        total += adopted * np.minimum(1.0, pop.active_prob[dev] * day_factors[d])
    return total * pop.activity[dev] * pop.feature_cdf[dev, 0]


def _mixture_cdf(log_scale: np.ndarray, weights: np.ndarray, cfg: SimulationConfig) -> np.ndarray:
    """Σ_i w_i · P(L_i ≤ x) on LOG_GRID, for log-normal scales exp(log_scale_i)."""
    sigma, slow = cfg["latency.sigma"], cfg["latency.tail_share"]
    binned = np.round(log_scale / _SCALE_STEP).astype(np.int64)
    keys, inverse = np.unique(binned, return_inverse=True)
    mass = np.bincount(inverse, weights=weights)
    centres = keys * _SCALE_STEP
    out = np.zeros(LOG_GRID.shape[0])
    if centres.size == 0:
        return out
    # One developer's CDF is G(ln x − ln scale) for a fixed G: tabulate G once, finely.
    t = np.arange(
        LOG_GRID[0] - centres.max() - _SCALE_STEP,
        LOG_GRID[-1] - centres.min() + 2 * _SCALE_STEP,
        _SCALE_STEP,
    )
    g = (1 - slow) * sps.norm.cdf(t / sigma) + slow * sum(
        wk * sps.norm.cdf((t - np.log(u)) / sigma) for u, wk in zip(_SLOW, _SLOW_W, strict=True)
    )
    for start in range(0, centres.shape[0], 256):
        c, w = centres[start : start + 256], mass[start : start + 256]
        out += w @ np.interp(LOG_GRID[None, :] - c[:, None], t, g)
    return out


def completion_latency_cdf_sums(
    cfg: SimulationConfig,
    pop: Population,
    dev: np.ndarray,
    arms: np.ndarray,
    latency_factors: Sequence[float],
    arm_names: Sequence[str],
    day_factors: Sequence[float],
) -> dict[str, Any]:
    """This partition's weighted CDF sums per arm (additive across partitions).

    Args:
        cfg: the run's config.
        pop: the population.
        dev: this partition's developers (global indexes).
        arms: arm index per developer of the population (-1: not randomised).
        latency_factors: model latency factor per arm index.
        arm_names: names of the arms (``a``, ``b``, ...), by arm index.
        day_factors: activity factor of every day of the run.
    """
    mine = dev[arms[dev] >= 0]
    weights = _expected_completions(cfg, pop, mine, day_factors)
    base = np.log(cfg["latency.completion_median_ms"] * pop.latency_factor[mine])
    cdf = {
        name: _mixture_cdf(base + np.log(latency_factors[k]), weights, cfg).tolist()
        for k, name in enumerate(arm_names)
    }
    return {"weight": float(weights.sum()), "cdf": cdf}


def combine_cdf_sums(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """Add the partitions' CDF sums (``None`` when no part has any)."""
    present = [p for p in parts if p]
    if not present:
        return None
    weight = sum(float(p["weight"]) for p in present)
    names = list(present[0]["cdf"])
    cdf = {n: np.sum([np.asarray(p["cdf"][n]) for p in present], axis=0) for n in names}
    return {"weight": weight, "cdf": cdf}


def arm_quantile(cdf_sums: Sequence[float], weight: float, q: float) -> float | None:
    """The q-quantile of an arm's latency mixture, ms (``None`` without weight)."""
    if weight <= 0:
        return None
    cdf = np.asarray(cdf_sums, dtype=float) / weight
    cdf = np.maximum.accumulate(cdf)  # exact CDFs are monotone; guard rounding
    return float(np.exp(np.interp(q, cdf, LOG_GRID)))
