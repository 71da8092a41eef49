"""Doubly robust (AIPW) effect of using the assistant on a task, with cross-fitting.

Augmented inverse-propensity weighting (Robins, Rotnitzky & Zhao 1994; the cross-fitted form of
Chernozhukov et al. 2018, "Double/debiased machine learning"). With treatment T (task done with
AI), outcome Y (log minutes or minutes), propensity e(x) and outcome models m0(x), m1(x), each
fitted on the other folds (folds are whole developers):

    ATE = mean[ m1 - m0 + T (Y - m1) / e - (1 - T) (Y - m0) / (1 - e) ]
    ATT = sum[ T (Y - m0) - (1 - T) e / (1 - e) (Y - m0) ] / sum[T]

Standard errors come from the influence functions summed per developer (tasks of one developer
are not independent). Overlap: propensities outside [0.01, 0.99] are trimmed and the count
reported (status ``overlap_trimmed`` when more than 1% of tasks are); no task with T = 1 (or
T = 0) gives ``one_arm_only``. The sensitivity to an unmeasured confounder is the E-value of
VanderWeele & Ding (2017) for a standardised mean difference d (RR ≈ exp(0.91·d)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import SplineTransformer

from codex_metrics.analysis.estimates import Estimate, normal_interval
from codex_metrics.analysis.status import AnalysisStatus

__all__ = ["AipwFit", "aipw", "e_value", "effect_by_experience"]

TRIM = 0.01
MIN_DEVELOPERS = 10
EXPERIENCE_LEVELS = (1.0, 5.0, 15.0)


@dataclass(frozen=True)
class AipwFit:
    """Cross-fitted nuisances of one AIPW run (per task, aligned with the input rows)."""

    treated: np.ndarray
    outcome: np.ndarray
    propensity: np.ndarray
    m0: np.ndarray
    m1: np.ndarray
    groups: np.ndarray

    def keep(self, target: Literal["att", "ate"]) -> np.ndarray:
        """Tasks inside the overlap bounds: the ATT needs e < 0.99 only, the ATE both bounds."""
        upper = self.propensity <= 1 - TRIM
        return upper if target == "att" else upper & (self.propensity >= TRIM)


def _design(df: pd.DataFrame, knots: np.ndarray | None = None) -> np.ndarray:
    exp = np.log1p(df["experience_years"].to_numpy(float))[:, None]
    spline = SplineTransformer(n_knots=5, degree=3, extrapolation="linear")
    basis = spline.fit_transform(exp)
    cats = pd.get_dummies(df[["editor", "plan"]], drop_first=True, dtype=float).to_numpy()
    return np.column_stack([basis, cats])


def fit_nuisances(df: pd.DataFrame, outcome: np.ndarray, *, folds: int = 5) -> AipwFit:
    """Cross-fit propensity and outcome models, folds grouped by developer."""
    x = _design(df)
    t = df["with_ai"].to_numpy(bool)
    groups = df["developer_id"].to_numpy()
    e = np.empty(len(df))
    m0 = np.empty(len(df))
    m1 = np.empty(len(df))
    for train, test in GroupKFold(n_splits=folds).split(x, t, groups):
        tt = t[train]
        ps = LogisticRegression(C=1e4, solver="newton-cholesky", max_iter=200).fit(x[train], tt)
        e[test] = ps.predict_proba(x[test])[:, 1]
        m0[test] = LinearRegression().fit(x[train][~tt], outcome[train][~tt]).predict(x[test])
        m1[test] = LinearRegression().fit(x[train][tt], outcome[train][tt]).predict(x[test])
    return AipwFit(t, outcome, e, m0, m1, groups)


def _clustered_se(psi: np.ndarray, groups: np.ndarray) -> float:
    """SE of a mean of influence values ``psi`` (already centred), summed per cluster."""
    per = pd.Series(psi).groupby(groups).sum().to_numpy()
    return float(math.sqrt((per**2).sum()) / len(psi))


def _sample_att_se(
    t: np.ndarray, e: np.ndarray, m0: np.ndarray, y: np.ndarray, groups: np.ndarray
) -> float:
    """Standard error of the ATT conditional on the sample's treated tasks (the sample ATT).

    Given the tasks, θ̂ − SATT = [Σ_T (Y0 − m0) − Σ_C e/(1 − e)·(Y − m0)] / n_T: the effects
    themselves are not random, only the durations without AI are (Imbens 2004, "conditional"
    variance). The treated tasks' Y0 residual variance is unobserved; under unconfoundedness it
    equals the controls' at the same covariates, estimated by regressing squared control
    residuals on m0. Within-developer correlation enters as the controls' design effect
    (clustered over independent variance of their residual sums), applied to both parts.
    """
    resid = y - m0
    control = ~t
    w = e / (1 - e)
    r_c = resid[control]
    sq = r_c**2
    slope_x = np.column_stack([np.ones(control.sum()), m0[control]])
    coef = np.linalg.lstsq(slope_x, sq, rcond=None)[0]
    sigma2_treated = np.clip(coef[0] + coef[1] * m0[t], 0.1 * sq.mean(), None)
    per_dev = pd.Series(r_c).groupby(groups[control]).sum().to_numpy()
    design_effect = max(float((per_dev**2).sum() / sq.sum()), 1.0)
    control_part = pd.Series(w[control] * r_c).groupby(groups[control]).sum().to_numpy()
    var = (control_part**2).sum() + design_effect * sigma2_treated.sum()
    return float(math.sqrt(var) / t.sum())


def e_value(estimate: float, bound: float | None, outcome_sd: float) -> dict[str, float | None]:
    """E-values of a mean difference on a continuous outcome (VanderWeele & Ding 2017).

    The difference is standardised (d = estimate / outcome SD), turned into an approximate
    risk ratio RR = exp(0.91·|d|), and E = RR + sqrt(RR·(RR − 1)): how strongly an unmeasured
    confounder would have to be associated with both treatment and outcome (risk-ratio scale)
    to explain the estimate away. ``bound``: the CI limit nearer 0 (E = 1 when the CI covers 0).
    """

    def one(value: float) -> float:
        rr = math.exp(0.91 * abs(value) / outcome_sd)
        return rr + math.sqrt(rr * (rr - 1))

    ci = None
    if bound is not None:
        ci = 1.0 if bound * estimate <= 0 else one(bound)
    return {"e_value": one(estimate), "e_value_ci": ci}


def aipw(
    df: pd.DataFrame,
    *,
    outcome: Literal["log_minutes", "minutes"] = "log_minutes",
    target: Literal["att", "ate"] = "att",
    folds: int = 5,
    fit: AipwFit | None = None,
) -> Estimate:
    """AIPW estimate of the effect of ``with_ai`` on a task's duration (see module docstring)."""
    estimand = f"{target}_{'log_duration' if outcome == 'log_minutes' else 'minutes'}"
    unit = "log ratio" if outcome == "log_minutes" else "minutes"
    base: dict[str, Any] = {
        "analysis": "causal_effect",
        "estimand": estimand,
        "method": "aipw",
        "unit": unit,
    }
    status = _usable(df)
    if status is not None:
        return Estimate.failed(**base, status=status[0], reason=status[1])
    y = df["minutes"].to_numpy(float)
    y = np.log(y) if outcome == "log_minutes" else y
    fit = fit or fit_nuisances(df, y, folds=folds)
    k = fit.keep(target)
    t, e, m0, m1, yk, g = (
        fit.treated[k],
        fit.propensity[k],
        fit.m0[k],
        fit.m1[k],
        y[k],
        fit.groups[k],
    )
    if t.all() or not t.any():
        return Estimate.failed(**base, status=AnalysisStatus.NO_OVERLAP)
    if target == "ate":
        phi = m1 - m0 + t * (yk - m1) / e - (1 - t) * (yk - m0) / (1 - e)
        theta = float(phi.mean())
        psi = phi - theta
    else:
        share = t.mean()
        w = t - (1 - t) * e / (1 - e)
        theta = float((w * (yk - m0)).sum() / t.sum())
        psi = (w * (yk - m0) - t * theta) / share
    se = _clustered_se(psi, g)
    population_se = se
    if target == "att":
        se = _sample_att_se(t, e, m0, yk, g)
    trimmed = int((~k).sum())
    interval = normal_interval(theta, se)
    details = {
        "interval": (
            "sample ATT (the effect on these tasks): only the durations without AI are random"
            if target == "att"
            else "population ATE (influence function, developer-clustered)"
        ),
        "population_std_error": population_se,
        "tasks": int(len(df)),
        "tasks_with_ai": int(fit.treated.sum()),
        "trimmed_tasks": trimmed,
        "propensity_range": [float(fit.propensity.min()), float(fit.propensity.max())],
        "propensity_histogram": _histogram(fit.propensity, fit.treated),
        "covariates": "experience (spline of log years), editor, plan",
        "folds": folds,
        **e_value(theta, _nearer_zero(interval), float(np.std(y))),
    }
    status_code = AnalysisStatus.OK
    reason = None
    if target == "ate":
        # Identification of the ATE needs the effect to be unrelated to unmeasured drivers of
        # use given the covariates; in the simulator it is not (agent tasks by persona).
        status_code = AnalysisStatus.NOT_IDENTIFIED
        reason = (
            "the ATE assumes that who uses AI on which task is unrelated to how much AI helps "
            "given experience, editor and plan; personas that use AI more also use agents, so "
            "read the ATT"
        )
    elif trimmed > 0.01 * len(df):
        status_code = AnalysisStatus.OVERLAP_TRIMMED
        reason = f"{trimmed:,} of {len(df):,} tasks had propensities outside [{TRIM}, {1 - TRIM}]"
    return Estimate(
        **base,
        estimate=theta,
        n_units=int(pd.unique(fit.groups).shape[0]),
        status=status_code,
        status_reason=reason,
        details=details,
        **interval,
    )


def _nearer_zero(interval: dict[str, float | None]) -> float | None:
    lo, hi = interval["ci_low"], interval["ci_high"]
    if lo is None or hi is None:
        return None
    return lo if abs(lo) < abs(hi) else hi


def _histogram(p: np.ndarray, t: np.ndarray) -> dict[str, list[float]]:
    edges = np.linspace(0, 1, 21)
    return {
        "edges": edges.tolist(),
        "treated": np.histogram(p[t], edges)[0].astype(float).tolist(),
        "untreated": np.histogram(p[~t], edges)[0].astype(float).tolist(),
    }


def _usable(df: pd.DataFrame) -> tuple[AnalysisStatus, str] | None:
    if df.empty:
        return AnalysisStatus.NO_DATA, "no tasks joined with developers' experience"
    devs = df["developer_id"].nunique()
    if devs < MIN_DEVELOPERS:
        return AnalysisStatus.TOO_FEW_DEVELOPERS, f"{devs} developers; at least {MIN_DEVELOPERS}"
    treated = df["with_ai"].astype(bool)
    if treated.all() or not treated.any():
        which = "with" if treated.all() else "without"
        return AnalysisStatus.ONE_ARM_ONLY, f"every task was done {which} AI"
    return None


def effect_by_experience(df: pd.DataFrame, *, folds: int = 5) -> list[Estimate]:
    """The effect on a coding task's log duration at 1, 5 and 15 years of experience.

    Coding tasks only (agent tasks exist only with AI, so they have no untreated twin); the
    doubly robust pseudo-outcome of the ATE is regressed on experience (linear: a spline was
    unstable in the sparse senior tail), with
    developer-clustered errors, and read at each level.
    """
    coding = df[df["task_kind"] != "agent"].reset_index(drop=True)
    base: dict[str, Any] = {
        "analysis": "causal_effect",
        "estimand": "effect_log_duration_coding_task",
        "method": "aipw_cate",
        "unit": "log ratio",
    }
    status = _usable(coding)
    if status is not None:
        return [
            Estimate.failed(
                **base, status=status[0], reason=status[1], subgroup=f"experience_years={v:g}"
            )
            for v in EXPERIENCE_LEVELS
        ]
    y = np.log(coding["minutes"].to_numpy(float))
    fit = fit_nuisances(coding, y, folds=folds)
    k = fit.keep("ate")
    t, e, m0, m1 = fit.treated[k], fit.propensity[k], fit.m0[k], fit.m1[k]
    phi = m1 - m0 + t * (y[k] - m1) / e - (1 - t) * (y[k] - m0) / (1 - e)
    exp = coding["experience_years"].to_numpy(float)[k]
    x = np.column_stack([np.ones_like(exp), exp])
    xtx_inv = np.linalg.inv(x.T @ x)
    beta = xtx_inv @ x.T @ phi
    resid = phi - x @ beta
    scores = pd.DataFrame(x * resid[:, None]).groupby(fit.groups[k]).sum().to_numpy()
    cov = xtx_inv @ (scores.T @ scores) @ xtx_inv
    out = []
    for v in EXPERIENCE_LEVELS:
        point = np.array([1.0, v])
        value = float(point @ beta)
        out.append(
            Estimate(
                **base,
                estimate=value,
                subgroup=f"experience_years={v:g}",
                n_units=int(pd.unique(fit.groups).shape[0]),
                details={"model": "DR pseudo-outcome ~ 1 + years"},
                **normal_interval(value, float(math.sqrt(point @ cov @ point))),
            )
        )
    return out
