"""Developer random effects as a secondary analysis, with a guard against silent collapse.

A linear mixed model (linear probability) on suggestion outcomes yᵢⱼ of developer i,

    yᵢⱼ = β₀ + β₁·Bᵢ + uᵢ + εᵢⱼ,   uᵢ ~ N(0, τ²),  εᵢⱼ ~ N(0, σ²),

fitted by REML with ``statsmodels.MixedLM``. β₁ is a *developer-conditional* effect: it
weights developers by precision, shrinking heavy users towards the mean, so it differs from
the pooled-rate lift of the delta method (shared/notes/experiments.md §3.1). It is a check
that "the effect holds for a typical developer", not the primary estimate.

For a count ratio (accepted of shown) the outcome rows are reconstructed exactly from each
developer's (numerator, denominator): m ones and d − m zeros; the Gaussian likelihood only
depends on per-developer counts and sums, so nothing is lost. When developers are many, a
seeded random subsample of ``max_developers`` per arm (and at most ``max_rows`` outcome rows)
is fitted, and the result says so.

**Guard.** When τ² collapses to 0, statsmodels (0.14–0.15) can return fixed effects far off
while reporting ``converged=True`` (statsmodels#10239; measured on the §1.4 toy data:
treat 0.933 instead of 0.071). If τ̂² ≤ ``1e-8``·σ̂², or the fit fails, the result reports
the cluster-robust OLS estimate instead (identical to the mixed model's β₁ when τ² = 0, and
correct regardless) with status MIXED_VARIANCE_COLLAPSED.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from codex_metrics.experiments.status import Status, status_message

__all__ = ["MixedResult", "mixed_model_effect"]

COLLAPSE_TOL = 1e-8


@dataclass(frozen=True)
class MixedResult:
    """The treatment coefficient of the mixed model (or its OLS fallback).

    Attributes:
        estimate: β₁ (absolute, linear-probability scale).
        se: its standard error.
        ci_low: lower 95% bound (normal).
        ci_high: upper 95% bound.
        random_effect_variance: τ̂² (0 when collapsed).
        developers: developers fitted (after subsampling).
        subsampled: whether a subsample was used.
        method: ``mixedlm`` or ``ols-cluster`` (fallback).
        status: OK or a MIXED_* code.
        message: plain words.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    random_effect_variance: float
    developers: int
    subsampled: bool
    method: str
    status: Status = Status.OK
    message: str = "computed"


def _rows(m: np.ndarray, d: np.ndarray, arm: int, offset: int) -> tuple[np.ndarray, ...]:
    d_int = d.astype(np.int64)
    groups = np.repeat(np.arange(offset, offset + d.size), d_int)
    within = np.arange(d_int.sum()) - np.repeat(np.cumsum(d_int) - d_int, d_int)
    y = (within < np.repeat(m.astype(np.int64), d_int)).astype(float)
    return y, np.full(y.size, float(arm)), groups


def _ols_cluster(y: np.ndarray, x: np.ndarray, groups: np.ndarray) -> tuple[float, float]:
    import statsmodels.api as sm

    fit = sm.OLS(y, sm.add_constant(x)).fit(cov_type="cluster", cov_kwds={"groups": groups})
    return float(fit.params[1]), float(fit.bse[1])


def mixed_model_effect(
    control: tuple[np.ndarray, np.ndarray],
    treatment: tuple[np.ndarray, np.ndarray],
    *,
    max_developers: int = 500,
    max_rows: int = 60_000,
    seed: int = 0,
) -> MixedResult:
    """Fit the random-intercept model on a count ratio's per-developer (numerator, denominator).

    Args:
        control: per-developer (numerator, denominator) of the control arm.
        treatment: the same for the treatment arm.
        max_developers: per-arm cap; larger arms are subsampled at random with ``seed``.
        max_rows: cap on reconstructed outcome rows over both arms; developers are
            subsampled further (same share in each arm) to stay under it.
        seed: subsampling seed.
    """
    nan = float("nan")
    arms = []
    subsampled = False
    rng = np.random.default_rng(seed)
    for m, d in (control, treatment):
        m, d = np.asarray(m, dtype=float), np.asarray(d, dtype=float)
        if m.size and (
            np.any(m < 0)
            or np.any(m > d)
            or not np.allclose(m, np.round(m))
            or not np.allclose(d, np.round(d))
        ):
            status = Status.MIXED_NOT_APPLICABLE
            return MixedResult(
                nan, nan, nan, nan, nan, 0, False, "mixedlm", status, status_message(status)
            )
        keep = d > 0
        m, d = m[keep], d[keep]
        if m.size > max_developers:
            idx = rng.choice(m.size, max_developers, replace=False)
            m, d, subsampled = m[idx], d[idx], True
        arms.append((m, d))
    rows = sum(float(d.sum()) for _, d in arms)
    if rows > max_rows:
        share = max_rows / rows
        thinned = []
        for m, d in arms:
            keep_n = max(2, int(m.size * share))
            idx = rng.choice(m.size, min(keep_n, m.size), replace=False)
            thinned.append((m[idx], d[idx]))
        arms, subsampled = thinned, True
    if min(a[0].size for a in arms) < 2:
        status = Status.TOO_FEW_DEVELOPERS
        return MixedResult(
            nan, nan, nan, nan, nan, 0, subsampled, "mixedlm", status, status_message(status)
        )
    parts = [_rows(m, d, k, 0 if k == 0 else arms[0][0].size) for k, (m, d) in enumerate(arms)]
    y, x, groups = (np.concatenate(p) for p in zip(*parts, strict=True))
    developers = int(sum(a[0].size for a in arms))
    import statsmodels.api as sm

    tau2, status = nan, Status.OK
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # boundary/singularity warnings are handled below
            fit = sm.MixedLM(y, sm.add_constant(x), groups=groups).fit(reml=True)
            tau2 = float(np.asarray(fit.cov_re).ravel()[0])
            estimate, se = float(fit.fe_params[1]), float(fit.bse_fe[1])
        if not np.isfinite(tau2) or tau2 <= COLLAPSE_TOL * float(fit.scale) or not np.isfinite(se):
            status = Status.MIXED_VARIANCE_COLLAPSED
    except (np.linalg.LinAlgError, ValueError):
        status = Status.MIXED_FAILED
    method = "mixedlm"
    if status is not Status.OK:
        estimate, se = _ols_cluster(y, x, groups)
        method, tau2 = "ols-cluster", 0.0 if status is Status.MIXED_VARIANCE_COLLAPSED else tau2
    z = 1.959964
    return MixedResult(
        estimate,
        se,
        estimate - z * se,
        estimate + z * se,
        tau2,
        developers,
        subsampled,
        method,
        status,
        status_message(status),
    )
