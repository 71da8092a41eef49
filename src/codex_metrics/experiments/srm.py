"""Sample-ratio mismatch: are the arms' developer counts what the allocation intended?

Pearson's χ² goodness of fit of observed developers per arm against the experiment's weights
(gbstats ``check_srm``; Fabijan et al., KDD 2019). Graded like Statsig: **alert** at p < 0.001,
**warn** at p < 0.01. Per-slice checks (language, editor, ...) are many tests, so their levels
use Benjamini–Hochberg-adjusted p-values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from scipy import stats as sps

from codex_metrics.errors import ParameterError
from codex_metrics.experiments.multiple_testing import benjamini_hochberg
from codex_metrics.experiments.status import Status

__all__ = ["SRM_ALERT_P", "SRM_WARN_P", "SrmLevel", "SrmResult", "srm_by_slice", "srm_check"]

SRM_ALERT_P = 0.001
SRM_WARN_P = 0.01


class SrmLevel(StrEnum):
    """How worrying a sample-ratio mismatch is."""

    OK = "ok"
    WARN = "warn"
    ALERT = "alert"


@dataclass(frozen=True)
class SrmResult:
    """χ² test of developer counts per arm.

    Attributes:
        observed: developers per arm.
        expected: developers per arm under the intended weights.
        chi2: Pearson's statistic Σ(O − E)²/E.
        p_value: upper tail of χ² with (arms − 1) degrees of freedom (adjusted for slices).
        level: ok, warn or alert.
        status: OK, or EMPTY_ARM when there are no developers at all.
    """

    observed: dict[str, int]
    expected: dict[str, float]
    chi2: float
    p_value: float
    level: SrmLevel
    status: Status = Status.OK


def _level(p: float) -> SrmLevel:
    if p < SRM_ALERT_P:
        return SrmLevel.ALERT
    if p < SRM_WARN_P:
        return SrmLevel.WARN
    return SrmLevel.OK


def _normalised(weights: Mapping[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    if not weights or total <= 0 or any(w < 0 for w in weights.values()):
        raise ParameterError(
            "weights", f"need non-negative arm weights with a positive sum, got {dict(weights)}"
        )
    return {arm: w / total for arm, w in weights.items()}


def srm_check(observed: Mapping[str, int], weights: Mapping[str, float]) -> SrmResult:
    """Test developer counts per arm against intended weights.

    Args:
        observed: developers per arm (arms missing here count as 0).
        weights: intended allocation per arm (any positive scale).

    Raises:
        ParameterError: weights are empty, negative or sum to zero, or an observed arm has
            no weight.
    """
    shares = _normalised(weights)
    unknown = set(observed) - set(shares)
    if unknown:
        raise ParameterError("observed", f"arms {sorted(unknown)} have no intended weight")
    counts = {arm: int(observed.get(arm, 0)) for arm in shares}
    total = sum(counts.values())
    expected = {arm: total * s for arm, s in shares.items()}
    if total == 0:
        return SrmResult(
            counts, expected, float("nan"), float("nan"), SrmLevel.OK, Status.EMPTY_ARM
        )
    arms = [a for a in shares if shares[a] > 0]
    obs = np.array([counts[a] for a in arms], dtype=float)
    exp = np.array([expected[a] for a in arms])
    chi2 = float(((obs - exp) ** 2 / exp).sum())
    p = float(sps.chi2.sf(chi2, len(arms) - 1)) if len(arms) > 1 else 1.0
    return SrmResult(counts, expected, chi2, p, _level(p))


def srm_by_slice(
    observed: Mapping[str, Mapping[str, int]], weights: Mapping[str, float]
) -> dict[str, SrmResult]:
    """SRM per slice value, with Benjamini–Hochberg-adjusted p-values deciding the level."""
    raw = {key: srm_check(counts, weights) for key, counts in observed.items()}
    keys = list(raw)
    adjusted = benjamini_hochberg([raw[k].p_value for k in keys])
    out = {}
    for key, p in zip(keys, adjusted, strict=True):
        r = raw[key]
        level = _level(float(p)) if np.isfinite(p) else SrmLevel.OK
        out[key] = SrmResult(r.observed, r.expected, r.chi2, float(p), level, r.status)
    return out
