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

**Guards.** statsmodels' default optimiser can end at τ² = 0 while reporting
``converged=True``, with a REML log-likelihood of +inf and a treatment SE of 10⁵ (measured on
a simulated 300-developer experiment kept as tests/experiments/data/mixed_optimiser_case.csv,
where Powell and Nelder-Mead find τ² = 0.0142, next to the moment estimate); at τ² = 0 its
fixed effects are unreliable too (statsmodels#10239). So:

1. a fit whose τ̂² ≤ ``1e-6``·σ̂², or whose log-likelihood or SE is not finite, is retried with
   Powell and then Nelder-Mead, and the fit with the highest finite REML log-likelihood wins;
2. the method-of-moments estimate of τ² (one-way ANOVA with unbalanced groups, arm means
   removed: (MSB − MSW)/n₀) is computed as a referee;
3. if the winning fit still has τ² ≈ 0 and so does the moment estimate, the variance truly is
   zero: status MIXED_VARIANCE_COLLAPSED with the cluster-robust OLS estimate (identical to the
   mixed model's β₁ when τ² = 0, and correct regardless);
4. if the moment estimate says τ² > 0 but no optimiser found it, the OLS estimate is reported
   as a labelled fallback (``ols-cluster (fallback)``, status MIXED_OPTIMISER_FAILED), never as
   the mixed-model estimate.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from codex_metrics.experiments.status import Status, status_message

__all__ = ["MixedResult", "mixed_model_effect"]

COLLAPSE_TOL = 1e-6


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
        method: ``mixedlm``, ``mixedlm (powell)``/``(nm)`` when another optimiser found the
            fit, ``ols-cluster`` (τ² = 0) or ``ols-cluster (fallback)``.
        status: OK or a MIXED_* code.
        message: plain words.
        moment_variance: method-of-moments τ² (the referee of a collapse).
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
    moment_variance: float = float("nan")


def moment_variance(y: np.ndarray, arm: np.ndarray, groups: np.ndarray) -> float:
    """Method-of-moments τ²: (MSB − MSW)/n₀ around each arm's mean (one-way ANOVA, unbalanced)."""
    _, g = np.unique(groups, return_inverse=True)
    n_i = np.bincount(g).astype(float)
    mean_i = np.bincount(g, weights=y) / n_i
    arm_of = np.zeros(n_i.size)
    arm_of[g] = arm
    total, k = float(n_i.sum()), n_i.size
    ssb = ssw = 0.0
    n0_sum = 0.0
    for a in np.unique(arm_of):
        sel = arm_of == a
        arm_mean = float((mean_i[sel] * n_i[sel]).sum() / n_i[sel].sum())
        ssb += float((n_i[sel] * (mean_i[sel] - arm_mean) ** 2).sum())
        n0_sum += float((n_i[sel] ** 2).sum() / n_i[sel].sum())
    ssw = float(((y - mean_i[g]) ** 2).sum())
    arms = np.unique(arm_of).size
    if k - arms <= 0 or total - k <= 0:
        return float("nan")
    msb, msw = ssb / (k - arms), ssw / (total - k)
    n0 = (total - n0_sum) / (k - arms)
    return max(0.0, (msb - msw) / n0)


def _fit(
    y: np.ndarray, x: np.ndarray, groups: np.ndarray
) -> tuple[float, float, float, float, str]:
    """(τ², β₁, se, scale, optimiser) of the best REML fit: default first, then Powell, NM."""
    import statsmodels.api as sm

    best: tuple[float, float, float, float, str] | None = None
    best_llf = -np.inf
    model = sm.MixedLM(y, sm.add_constant(x), groups=groups)
    for method in (None, "powell", "nm"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # boundary/singularity warnings: judged below
                fit = (
                    model.fit(reml=True) if method is None else model.fit(reml=True, method=method)
                )
                tau2 = float(np.asarray(fit.cov_re).ravel()[0])
                se, llf, scale = float(fit.bse_fe[1]), float(fit.llf), float(fit.scale)
        except (np.linalg.LinAlgError, ValueError):
            continue
        usable = np.isfinite(tau2) and np.isfinite(se) and np.isfinite(llf)
        if usable and llf > best_llf:
            best, best_llf = (tau2, float(fit.fe_params[1]), se, scale, method or ""), llf
        if usable and tau2 > COLLAPSE_TOL * scale:
            break  # a sound fit: no need to try other optimisers
    if best is None:
        raise ValueError("no optimiser produced a usable fit")
    return best


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
    referee = moment_variance(y, x, groups)
    tau2, status, method = nan, Status.OK, "mixedlm"
    try:
        tau2, estimate, se, scale, optimiser = _fit(y, x, groups)
        method = f"mixedlm ({optimiser})" if optimiser else "mixedlm"
        if tau2 <= COLLAPSE_TOL * scale:
            # Zero by every optimiser: believe it only if the moment estimate agrees.
            zero = not np.isfinite(referee) or referee <= 1e-4 * scale
            status = Status.MIXED_VARIANCE_COLLAPSED if zero else Status.MIXED_OPTIMISER_FAILED
    except (np.linalg.LinAlgError, ValueError):
        status = Status.MIXED_FAILED
    if status is not Status.OK:
        estimate, se = _ols_cluster(y, x, groups)
        collapsed = status is Status.MIXED_VARIANCE_COLLAPSED
        method = "ols-cluster" if collapsed else "ols-cluster (fallback)"
        tau2 = 0.0 if collapsed else tau2
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
        referee,
    )
