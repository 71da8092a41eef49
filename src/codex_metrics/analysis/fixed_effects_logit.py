"""Logistic regression with one intercept per developer (fixed effects), by Newton's method.

Acceptance differs a lot between developers; a pooled logit would average over them and
attenuate every slope (logistic models are not collapsible), so slopes such as "acceptance
log-odds per doubling of latency" are estimated within developer. The developer block of the
Hessian is diagonal, so each Newton step solves the k × k Schur complement
S = A − B·D⁻¹·Bᵀ for the common coefficients and then the intercepts. Developers whose
outcomes are all 0 or all 1 carry no information about the slopes and are dropped.

Standard errors: cluster-robust by developer on the profile scores
u_j = Σ_{i∈j} (x_i − B_j / D_j)(y_i − p_i), V = S⁻¹ (Σ_j u_j u_jᵀ) S⁻¹.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FixedEffectsLogit", "fit_fixed_effects_logit"]


@dataclass(frozen=True)
class FixedEffectsLogit:
    """Common coefficients, their clustered covariance, and the per-row fitted probabilities."""

    coef: np.ndarray
    cov: np.ndarray
    probability: np.ndarray
    kept: np.ndarray  # rows used (their developer has both outcomes)
    developers: int
    converged: bool


def _group_sums(values: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    if values.ndim == 1:
        return np.bincount(group, values, minlength=n)
    return np.column_stack(
        [np.bincount(group, values[:, k], minlength=n) for k in range(values.shape[1])]
    )


def fit_fixed_effects_logit(
    x: np.ndarray, y: np.ndarray, group: np.ndarray, *, max_iter: int = 50, tol: float = 1e-8
) -> FixedEffectsLogit:
    """Fit y ~ x + one intercept per ``group`` (integer codes 0..G-1)."""
    y = y.astype(float)
    n_groups = int(group.max()) + 1 if group.size else 0
    positives = np.bincount(group, y, minlength=n_groups)
    totals = np.bincount(group, minlength=n_groups)
    informative = (positives > 0) & (positives < totals)
    kept = informative[group]
    x, y, g = x[kept], y[kept], group[kept]
    _, g = np.unique(g, return_inverse=True)
    n_g = int(g.max()) + 1 if g.size else 0
    k = x.shape[1]
    beta = np.zeros(k)
    rate = np.bincount(g, y, minlength=n_g) / np.bincount(g, minlength=n_g)
    alpha = np.log(rate / (1 - rate))
    converged = False
    schur = np.eye(k)
    for _ in range(max_iter):
        eta = x @ beta + alpha[g]
        p = 1 / (1 + np.exp(-eta))
        w = p * (1 - p)
        r = y - p
        grad_b = x.T @ r
        grad_a = np.bincount(g, r, minlength=n_g)
        a_block = (x * w[:, None]).T @ x
        b_block = _group_sums(x * w[:, None], g, n_g)  # G × k
        d = np.bincount(g, w, minlength=n_g)
        schur = a_block - (b_block / d[:, None]).T @ b_block
        step_b = np.linalg.solve(schur, grad_b - (b_block / d[:, None]).T @ grad_a)
        step_a = (grad_a - b_block @ step_b) / d
        beta += step_b
        alpha += step_a
        if np.max(np.abs(step_b)) < tol:
            converged = True
            break
    eta = x @ beta + alpha[g]
    p = 1 / (1 + np.exp(-eta))
    w = p * (1 - p)
    b_block = _group_sums(x * w[:, None], g, n_g)
    d = np.bincount(g, w, minlength=n_g)
    centred = x - (b_block / d[:, None])[g]
    scores = _group_sums(centred * (y - p)[:, None], g, n_g)
    bread = np.linalg.inv(schur)
    cov = bread @ (scores.T @ scores) @ bread * n_g / max(n_g - 1, 1)
    full_p = np.full(kept.shape[0], np.nan)
    full_p[kept] = p
    return FixedEffectsLogit(beta, cov, full_p, kept, n_g, converged)
