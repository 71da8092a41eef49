"""The effect of adopting the assistant on a developer's speed: staggered difference-in-differences.

The panel is developer × week (7-day blocks from the first day of data), the outcome a
developer-week's mean log task duration, treatment "adopted" from the week of ``adopted_at`` on
(intention to treat: adopters use AI on only some of their tasks, and churn stays in).

* :func:`callaway_santanna`: Callaway & Sant'Anna (2021, J. Econometrics 225) with never-adopters
  as the comparison group: ATT(g, t) = [Ȳ_g(t) − Ȳ_g(pre)] − [Ȳ_∞(t) − Ȳ_∞(pre)], where
  "pre" is each developer's mean over the weeks before g (for post-adoption cells; less noisy
  than the single week g − 1, and still a comparison of the same weeks for both groups) and
  the week g − 1 for the pre-adoption cells of the event study. Cells aggregate to an event study (by weeks since adoption, weighted by the cohort's
  developers active in the week) and to one ATT over the post-adoption cells. Standard errors
  from per-developer influence functions (so cells sharing developers covary correctly); the
  four event weeks before adoption (−2 to −5) give a joint pre-trend test (Hotelling's
  T², see :func:`_wald_p`). Always-treated
  developers (adopted before the second week) are left out: they have no week before adoption.
* :func:`two_way_fixed_effects`: y = α_i + λ_t + β·D_it by OLS with developer-clustered errors,
  shown beside it because under staggered timing with effects varying by cohort it compares
  later adopters with earlier ones and is biased (Goodman-Bacon 2021).
* :func:`naive_adoption_difference`: adopters after adoption minus never-adopters, never shown
  alone (it mixes who adopts with what adoption does).
* :func:`placebo`: the same estimator on pre-adoption data only, with adoption moved
  ``shift`` weeks earlier; its interval should cover 0.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from codex_metrics.analysis.estimates import Estimate, normal_interval
from codex_metrics.analysis.status import AnalysisStatus

__all__ = [
    "EventStudy",
    "callaway_santanna",
    "developer_weeks",
    "naive_adoption_difference",
    "placebo",
    "two_way_fixed_effects",
]

MIN_DEVELOPERS = 5
#: Leads in the joint pre-trend test: the event weeks -2 to -5.
PRETREND_LEADS = 4
ESTIMAND = "att_adoption_log_duration"


def developer_weeks(tasks: pd.DataFrame) -> pd.DataFrame:
    """Developer-week panel: mean log duration, tasks, cohort (adoption week; NaN: never)."""
    df = tasks.assign(log_minutes=np.log(tasks["minutes"].to_numpy(float)))
    panel = (
        df.groupby(["developer_id", "week"], sort=True)
        .agg(
            y=("log_minutes", "mean"),
            tasks=("log_minutes", "size"),
            cohort=("cohort", "first"),
            experience_years=("experience_years", "first"),
        )
        .reset_index()
    )
    return panel


@dataclass(frozen=True)
class EventStudy:
    """Callaway-Sant'Anna result: overall ATT, per event week, pre-trend test."""

    overall: Estimate
    by_event_week: list[Estimate] = field(default_factory=list)
    pretrend_p: float | None = None


@dataclass
class _Cell:
    cohort: int
    week: int
    att: float
    weight: float
    influence: np.ndarray  # per developer (rows of the wide matrix)
    n_treated: int
    control_noise: np.ndarray  # controls' ΔY minus their mean (0 elsewhere): Y0 noise stand-ins

    @property
    def event(self) -> int:
        return self.week - self.cohort


def _cells(panel: pd.DataFrame) -> tuple[list[_Cell], int, int] | AnalysisStatus:
    wide = panel.pivot(index="developer_id", columns="week", values="y")
    cohort = panel.groupby("developer_id")["cohort"].first().reindex(wide.index)
    weeks = list(wide.columns)
    never = cohort.isna().to_numpy()
    treated_cohorts = sorted(int(g) for g in cohort.dropna().unique() if 1 <= g <= max(weeks))
    if not treated_cohorts:
        return AnalysisStatus.NO_PRE_PERIOD
    if never.sum() < MIN_DEVELOPERS:
        return AnalysisStatus.ONE_ARM_ONLY
    y = wide.to_numpy(float)
    col = {w: k for k, w in enumerate(weeks)}
    n_dev = y.shape[0]
    cells: list[_Cell] = []
    g_arr = cohort.to_numpy(float)
    for g in treated_cohorts:
        base = g - 1
        if base not in col:
            continue
        in_g = g_arr == g
        pre_cols = [col[w] for w in weeks if w < g]
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: no pre-period
            pre_mean = np.nanmean(y[:, pre_cols], axis=1)
        for t in weeks:
            if t == base:
                continue
            # Post-adoption cells compare with the mean of every week before adoption (less
            # noise than one week); pre-adoption cells with the week before adoption.
            reference = pre_mean if t >= g else y[:, col[base]]
            delta = y[:, col[t]] - reference
            ok = ~np.isnan(delta)
            tr, co = in_g & ok, never & ok
            n_t, n_c = int(tr.sum()), int(co.sum())
            if n_t < 2 or n_c < 2:
                continue
            mean_t, mean_c = delta[tr].mean(), delta[co].mean()
            influence = np.zeros(n_dev)
            influence[tr] = (delta[tr] - mean_t) / n_t
            influence[co] = -(delta[co] - mean_c) / n_c
            active = int((in_g & ~np.isnan(y[:, col[t]])).sum())
            noise = np.zeros(n_dev)
            noise[co] = delta[co] - mean_c
            cells.append(
                _Cell(g, int(t), float(mean_t - mean_c), float(active), influence, n_t, noise)
            )
    return cells, int((g_arr >= 1).sum()), int(never.sum())


def _weighted(cells: list[_Cell]) -> tuple[np.ndarray, float, np.ndarray]:
    """The cells' weights (summing to 1), weighted ATT and per-developer influence function."""
    w = np.array([c.weight for c in cells])
    w = w / w.sum()
    theta = float(sum(wk * c.att for wk, c in zip(w, cells, strict=True)))
    influence = np.asarray(sum(wk * c.influence for wk, c in zip(w, cells, strict=True)))
    return w, theta, influence


def _aggregate(cells: list[_Cell], *, sample: bool = True) -> tuple[float, float]:
    """Weighted ATT of ``cells`` and its standard error.

    ``sample=False``: the population SE from the influence functions. ``sample=True`` (the
    default): the SE of the sample ATT, the effect on these developer-weeks, which the
    simulator's truth is. Given the sample, the treated developers' effects are fixed and only
    their untreated outcomes are random; their variance (and its covariance across the cells
    of one cohort, which share the base week) is taken from the never-adopters, whose ΔY is
    pure untreated noise: per cohort, n_g × mean over never-adopters of (Σ_c a_c·noise_c)²
    with a_c = w_c / n_c. The never-adopters' own part keeps its influence function.
    """
    w, theta, influence = _weighted(cells)
    if not sample:
        return theta, float(math.sqrt(np.sum(influence**2)))
    controls = np.asarray(sum(c.control_noise != 0 for c in cells)) > 0
    control_part = np.where(controls, influence, 0.0)
    var = float(np.sum(control_part**2))
    for g in sorted({c.cohort for c in cells}):
        mine = [(wk, c) for wk, c in zip(w, cells, strict=True) if c.cohort == g]
        stand_in = np.asarray(sum(wk / c.n_treated * c.control_noise for wk, c in mine))
        n_g = max(c.n_treated for _, c in mine)
        var += n_g * float(np.mean(stand_in[controls] ** 2))
    return theta, float(math.sqrt(var))


def callaway_santanna(panel: pd.DataFrame, *, method: str = "callaway_santanna") -> EventStudy:
    """Event study and overall ATT of adoption (see the module docstring)."""
    base: dict[str, Any] = {
        "analysis": "causal_effect",
        "estimand": ESTIMAND,
        "method": method,
        "unit": "log ratio",
    }
    if panel.empty:
        return EventStudy(Estimate.failed(**base, status=AnalysisStatus.NO_DATA))
    result = _cells(panel)
    if isinstance(result, AnalysisStatus):
        why = {
            AnalysisStatus.NO_PRE_PERIOD: "no developer adopted after the first week of data",
            AnalysisStatus.ONE_ARM_ONLY: "fewer than 5 never-adopters to compare with",
        }[result]
        return EventStudy(Estimate.failed(**base, status=result, reason=why))
    cells, n_treated, n_never = result
    post = [c for c in cells if c.event >= 0]
    if not post:
        return EventStudy(Estimate.failed(**base, status=AnalysisStatus.NO_PRE_PERIOD))
    theta, se = _aggregate(post)
    _, population_se = _aggregate(post, sample=False)
    by_event = []
    for e in sorted({c.event for c in cells}):
        group = [c for c in cells if c.event == e]
        value, e_se = _aggregate(group)
        by_event.append(
            Estimate(
                **base,
                estimate=value,
                subgroup=f"event_week={e}",
                n_units=int(sum(c.weight for c in group)),
                details={"cohorts": sorted(c.cohort for c in group)},
                **normal_interval(value, e_se),
            )
        )
    pre = [c for c in cells if c.event <= -2]
    pretrend_p = _wald_p(pre)
    status = AnalysisStatus.OK
    reason: str | None = None
    if pretrend_p is not None and pretrend_p < 0.05:
        status = AnalysisStatus.PRE_TRENDS
        leads = min(len({c.event for c in pre}), PRETREND_LEADS)
        reason = f"joint test of the {leads} leads nearest adoption: p = {pretrend_p:.3g}"
    overall = Estimate(
        **base,
        estimate=theta,
        n_units=n_treated + n_never,
        status=status,
        status_reason=reason,
        details={
            "adopters": n_treated,
            "never_adopters": n_never,
            "cells": len(cells),
            "pretrend_p": pretrend_p,
            "comparison": "never adopters",
            "interval": "sample ATT (untreated outcomes random, effects fixed)",
            "population_std_error": population_se,
            "base_period": "mean of the weeks before adoption (leads: the week before)",
        },
        **normal_interval(theta, se),
    )
    return EventStudy(overall, by_event, pretrend_p)


def _wald_p(cells: list[_Cell]) -> float | None:
    """Joint test that the event study's leads nearest adoption (event weeks -2 to -5) are 0.

    One lead per event week (its cells aggregated as in the event study), not one per
    (cohort, week) cell, and only the :data:`PRETREND_LEADS` weeks nearest adoption (where
    anticipation and selection show, and where every cohort has support): with tens of
    developers per cohort the covariance of every cell, or of every lead, is too noisy to
    invert, and the test rejected 59% (every cell) and 12-17% (every lead) of pure-noise
    panels of 120 developers at the 5% level. The Wald statistic of the leads'
    influence-function covariance is read as Hotelling's T² (an F with k and N - k degrees
    of freedom, N the developers): 5.5% of those panels, 4% with 600 developers.
    """
    if not cells:
        return None
    theta, influence = [], []
    for e in sorted({c.event for c in cells}, reverse=True)[:PRETREND_LEADS]:
        _, lead, lead_influence = _weighted([c for c in cells if c.event == e])
        theta.append(lead)
        influence.append(lead_influence)
    infl = np.column_stack(influence)
    n = int(np.count_nonzero(np.any(infl != 0, axis=1)))
    k = len(theta)
    if n <= k + 1:
        return None
    cov = infl.T @ infl * n / (n - 1)
    try:
        t2 = float(np.asarray(theta) @ np.linalg.pinv(cov) @ np.asarray(theta))
    except np.linalg.LinAlgError:
        return None
    return float(stats.f.sf(t2 * (n - k) / (k * (n - 1)), k, n - k))


def _demean(
    values: np.ndarray, dev: np.ndarray, week: np.ndarray, *, iters: int = 200
) -> np.ndarray:
    """Remove developer and week means by alternating projections (unbalanced panel)."""
    out = values.astype(float).copy()
    for _ in range(iters):
        before = out.copy()
        out -= np.bincount(dev, out)[dev] / np.bincount(dev)[dev]
        out -= np.bincount(week, out)[week] / np.bincount(week)[week]
        if np.max(np.abs(out - before)) < 1e-10:
            break
    return out


def two_way_fixed_effects(panel: pd.DataFrame) -> Estimate:
    """Plain TWFE: y ~ developer + week + adopted, developer-clustered SE (every developer)."""
    base: dict[str, Any] = {
        "analysis": "causal_effect",
        "estimand": ESTIMAND,
        "method": "twfe",
        "unit": "log ratio",
    }
    treated = (panel["cohort"].notna() & (panel["week"] >= panel["cohort"])).to_numpy(float)
    if panel.empty or treated.all() or not treated.any():
        return Estimate.failed(**base, status=AnalysisStatus.ONE_ARM_ONLY)
    dev = pd.factorize(panel["developer_id"])[0]
    week = pd.factorize(panel["week"])[0]
    y = _demean(panel["y"].to_numpy(float), dev, week)
    d = _demean(treated, dev, week)
    sdd = float(d @ d)
    beta = float(d @ y) / sdd
    resid = y - beta * d
    per_dev = np.bincount(dev, d * resid)
    se = math.sqrt(float(per_dev @ per_dev)) / sdd
    return Estimate(
        **base,
        estimate=beta,
        n_units=int(dev.max() + 1),
        details={"bias_note": "biased under staggered adoption with heterogeneous effects"},
        **normal_interval(beta, se),
    )


def naive_adoption_difference(panel: pd.DataFrame) -> Estimate:
    """Adopters' developer-weeks after adoption minus never-adopters' (developer means)."""
    base: dict[str, Any] = {
        "analysis": "causal_effect",
        "estimand": ESTIMAND,
        "method": "naive",
        "unit": "log ratio",
    }
    post = panel[panel["cohort"].notna() & (panel["week"] >= panel["cohort"])]
    never = panel[panel["cohort"].isna()]
    if post.empty or never.empty:
        return Estimate.failed(**base, status=AnalysisStatus.ONE_ARM_ONLY)
    a = post.groupby("developer_id")["y"].mean().to_numpy()
    b = never.groupby("developer_id")["y"].mean().to_numpy()
    value = float(a.mean() - b.mean())
    se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    return Estimate(
        **base,
        estimate=value,
        n_units=len(a) + len(b),
        details={
            "adopters": len(a),
            "never_adopters": len(b),
            "adopters_mean_experience": float(
                post.groupby("developer_id")["experience_years"].first().mean()
            ),
            "never_adopters_mean_experience": float(
                never.groupby("developer_id")["experience_years"].first().mean()
            ),
        },
        **normal_interval(value, se),
    )


def placebo(panel: pd.DataFrame, *, shift: int = 4) -> Estimate:
    """Callaway-Sant'Anna on pre-adoption weeks only, adoption moved ``shift`` weeks earlier."""
    pre = panel[panel["cohort"].isna() | (panel["week"] < panel["cohort"])]
    moved = pre.assign(cohort=pre["cohort"] - shift)
    result = callaway_santanna(moved, method=f"placebo_{shift}_weeks_earlier").overall
    if result.status == AnalysisStatus.NO_PRE_PERIOD:
        return Estimate.failed(
            "causal_effect",
            ESTIMAND,
            f"placebo_{shift}_weeks_earlier",
            AnalysisStatus.NO_PRE_PERIOD,
            f"no developer adopted more than {shift + 1} weeks after the first week of data",
            unit="log ratio",
        )
    if result.status == AnalysisStatus.PRE_TRENDS:
        # The placebo is itself the check; its own pre-trend test stays in the details.
        return replace(result, status=AnalysisStatus.OK, status_reason=None)
    return result
