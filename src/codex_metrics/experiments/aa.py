"""A/A simulation: how often does a test cry wolf on this data?

Developers are re-randomised into two arms many times (Bernoulli assignment with the
experiment's treatment share); with no real difference, a correct level-α test rejects in about
α of the replicates. Everything is vectorised: the replicate arm sums are one matrix product of
the assignment matrix (R × n) with the per-developer columns [m, d, m², d², m·d].

Two tests are compared on the same splits:

* the **delta method** on per-developer sums (what codex-metrics uses), and
* the **naive per-suggestion** two-proportion z-test, which treats every suggestion as
  independent: Var = p(1 − p)(1/Σd_A + 1/Σd_B). Suggestions of one developer are correlated
  (developers differ in their acceptance rate), so its variance is too small by the design
  effect 1 + (k̄ − 1)·ICC and it rejects far too often (64% at nominal 5% in
  shared/notes/experiments.md §3.3). It is computed only to show why we never use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from codex_metrics.errors import ParameterError
from codex_metrics.experiments.frequentist import welch_p_values
from codex_metrics.experiments.sufficient_stats import RatioStats

__all__ = ["AaResult", "aa_false_positive_rate", "heterogeneous_developers"]


@dataclass(frozen=True)
class AaResult:
    """False-positive rates of an A/A simulation.

    Attributes:
        developers: developers re-randomised.
        replicates: A/A splits simulated (usable ones).
        alpha: nominal level.
        delta_fpr: share of splits where the delta-method test rejected.
        delta_fpr_ci: 95% Wilson interval of ``delta_fpr``.
        naive_fpr: the per-suggestion z-test's rate (None unless numerators are counts ≤
            denominators).
    """

    developers: int
    replicates: int
    alpha: float
    delta_fpr: float
    delta_fpr_ci: tuple[float, float]
    naive_fpr: float | None

    @property
    def calibrated(self) -> bool:
        """Whether the nominal level lies inside the interval of the observed rate."""
        low, high = self.delta_fpr_ci
        return low <= self.alpha <= high

    def describe(self) -> str:
        """One sentence for people."""
        low, high = self.delta_fpr_ci
        naive = (
            ""
            if self.naive_fpr is None
            else f"; the naive per-suggestion z-test (never used) would reject in {self.naive_fpr:.1%}"
        )
        return (
            f"{self.developers:,} developers, {self.replicates:,} A/A splits: delta-method "
            f"false-positive rate {self.delta_fpr:.1%} (95% CI {low:.1%}-{high:.1%}) at nominal "
            f"{self.alpha:.0%}{naive}"
        )


def _wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def heterogeneous_developers(
    n: int, *, seed: int = 0, mean_suggestions: float = 150.0, dispersion: float = 2.0
) -> tuple[np.ndarray, np.ndarray]:
    """Per-developer (accepted, shown) with realistic heterogeneity (§3.3 of the notes).

    Suggestions ~ negative binomial with the given mean and shape ``dispersion``; each
    developer's acceptance rate ~ Beta(3, 9) (mean 25%).
    """
    rng = np.random.default_rng(seed)
    p = dispersion / (dispersion + mean_suggestions)
    shown = rng.negative_binomial(dispersion, p, n) + 1
    accepted = rng.binomial(shown, rng.beta(3, 9, n))
    return accepted.astype(float), shown.astype(float)


def aa_false_positive_rate(
    numerator: np.ndarray,
    denominator: np.ndarray,
    *,
    replicates: int = 2000,
    alpha: float = 0.05,
    treatment_share: float = 0.5,
    seed: int = 0,
) -> AaResult:
    """Re-randomise developers ``replicates`` times and count false positives.

    Args:
        numerator: per-developer numerators (e.g. accepted suggestions).
        denominator: per-developer denominators (e.g. shown suggestions).
        replicates: number of A/A splits.
        alpha: nominal level of the two-sided tests.
        treatment_share: probability a developer lands in arm B.
        seed: random seed.

    Raises:
        ParameterError: fewer than 4 developers, an argument out of range, or no split gave a
            usable test (every developer has the same value).
    """
    m = np.asarray(numerator, dtype=float)
    d = np.asarray(denominator, dtype=float)
    if m.shape != d.shape or m.ndim != 1 or m.size < 4:
        raise ParameterError("numerator", "need matching 1-d arrays for at least 4 developers")
    if replicates < 10 or not 0 < alpha < 1 or not 0 < treatment_share < 1:
        raise ParameterError("replicates", "need replicates >= 10, alpha and share in (0, 1)")
    rng = np.random.default_rng(seed)
    columns = np.column_stack([np.ones_like(m), m, m * m, d, d * d, m * d])
    chunk = max(1, 4_000_000 // m.size)
    delta_p, naive_p = [], []
    for start in range(0, replicates, chunk):
        r = min(chunk, replicates - start)
        in_b = (rng.random((r, m.size)) < treatment_share).astype(np.float64)
        sb = in_b @ columns
        sa = columns.sum(axis=0) - sb
        arms = [RatioStats(*(s[:, k] for k in range(6))) for s in (sa, sb)]
        delta_p.append(welch_p_values(*arms))
        p_pool = (sa[:, 1] + sb[:, 1]) / (sa[:, 3] + sb[:, 3])
        with np.errstate(invalid="ignore", divide="ignore"):
            se = np.sqrt(p_pool * (1 - p_pool) * (1 / sa[:, 3] + 1 / sb[:, 3]))
            z = (sb[:, 1] / sb[:, 3] - sa[:, 1] / sa[:, 3]) / se
        naive_p.append(2 * sps.norm.sf(np.abs(z)))
    p = np.concatenate(delta_p)
    usable = np.isfinite(p)
    if not usable.any():
        raise ParameterError(
            "--metric",
            f"none of the {replicates:,} A/A splits of {m.size:,} developers gave a usable test: "
            "the metric does not vary between developers (or its denominator is always 0); "
            "pick a window or metric where developers differ",
        )
    hits = int((p[usable] < alpha).sum())
    counts = bool(np.all(m <= d) and np.all(m >= 0) and np.allclose(m, np.round(m)))
    naive = np.concatenate(naive_p)
    naive_fpr = float((naive[np.isfinite(naive)] < alpha).mean()) if counts else None
    n_ok = int(usable.sum())
    return AaResult(int(m.size), n_ok, alpha, hits / n_ok, _wilson(hits, n_ok), naive_fpr)
