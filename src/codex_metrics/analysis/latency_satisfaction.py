"""Latency against acceptance, satisfaction and engagement: slopes per doubling of latency.

* Acceptance: a logit of "accepted" on log2(latency) with developer fixed effects and feature,
  language and model version (:mod:`~codex_metrics.analysis.fixed_effects_logit`) on shown
  suggestions of a developer sample; the slope is the change in acceptance log-odds per
  doubling of latency, with a developer-clustered interval. Where along the latency range it
  matters most: the average marginal effect on the acceptance probability (β·p·(1 − p)) per
  latency decile.
* Satisfaction: each developer's completion-latency P50 and P90 from the quantile API
  (per-developer latency histograms), survey answers regressed on log2(P50) adjusted for
  activity (log suggestions per active day), developer-clustered (statsmodels OLS).
* Engagement: share of days active on log2(P50), adjusted for activity level, one row per
  developer.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm

from codex_metrics.analysis.estimates import Estimate, normal_interval
from codex_metrics.analysis.fixed_effects_logit import fit_fixed_effects_logit
from codex_metrics.analysis.frames import Frames
from codex_metrics.analysis.status import AnalysisStatus
from codex_metrics.metrics.quantiles import developer_latency_histograms, histogram_quantiles

__all__ = [
    "acceptance_latency_slope",
    "developer_latency",
    "satisfaction_latency_slopes",
    "shown_suggestions_sample",
]

MAX_ROWS = 1_000_000
MIN_DEVELOPERS = 10


def shown_suggestions_sample(frames: Frames, *, max_rows: int = MAX_ROWS) -> pd.DataFrame:
    """Shown suggestions of a developer-stratified sample (whole developers, hash-chosen)."""
    total = frames.query(
        "shown_count", "SELECT count(*) AS n FROM suggestions WHERE status = 'ok'"
    )["n"].iloc[0]
    share = 1.0 if not total else min(1.0, max_rows / float(total))
    per_mille = max(1, math.floor(share * 1000))
    sql = f"""
        SELECT developer_id::VARCHAR AS developer_id, accepted::INT AS accepted,
               latency_ms, feature::VARCHAR AS feature, language::VARCHAR AS language,
               model_version::VARCHAR AS model_version, editor::VARCHAR AS editor,
               chars_suggested, timestamp
        FROM suggestions
        WHERE status = 'ok' AND latency_ms > 0
          AND hash(developer_id::VARCHAR) % 1000 < {per_mille}
        ORDER BY developer_id, timestamp, event_id
    """
    df = frames.query(f"shown_{per_mille}", sql)
    df.attrs["sample_share"] = per_mille / 1000
    df.attrs["shown_total"] = int(total)
    return df


def acceptance_latency_slope(sample: pd.DataFrame) -> Estimate:
    """Acceptance log-odds per doubling of latency, within developer (see module docstring)."""
    base: dict[str, Any] = {
        "analysis": "latency_satisfaction",
        "estimand": "acceptance_log_odds_per_latency_doubling",
        "method": "fixed_effects_logit",
        "unit": "log-odds per doubling",
    }
    if sample.empty:
        return Estimate.failed(**base, status=AnalysisStatus.NO_DATA)
    if sample["developer_id"].nunique() < MIN_DEVELOPERS:
        return Estimate.failed(**base, status=AnalysisStatus.TOO_FEW_DEVELOPERS)
    log2_latency = np.log2(sample["latency_ms"].to_numpy(float))
    dummies = pd.get_dummies(
        sample[["feature", "language", "model_version"]], drop_first=True, dtype=float
    )
    x = np.column_stack([log2_latency, dummies.to_numpy()])
    group = pd.factorize(sample["developer_id"])[0]
    fit = fit_fixed_effects_logit(x, sample["accepted"].to_numpy(), group)
    slope = float(fit.coef[0])
    se = float(math.sqrt(fit.cov[0, 0]))
    p = fit.probability[fit.kept]
    lat = log2_latency[fit.kept]
    edges = np.quantile(lat, np.linspace(0, 1, 11))
    decile = np.clip(np.searchsorted(edges, lat, side="right") - 1, 0, 9)
    by_decile = [
        {
            "latency_ms_low": float(2 ** edges[k]),
            "latency_ms_high": float(2 ** edges[k + 1]),
            "acceptance": float(sample["accepted"].to_numpy()[fit.kept][decile == k].mean()),
            "marginal_pp_per_doubling": float(100 * slope * (p * (1 - p))[decile == k].mean()),
        }
        for k in range(10)
    ]
    largest = min(by_decile, key=lambda r: r["marginal_pp_per_doubling"])
    return Estimate(
        **base,
        estimate=slope,
        n_units=fit.developers,
        status=AnalysisStatus.OK if fit.converged else AnalysisStatus.FIT_FAILED,
        details={
            "suggestions": int(fit.kept.sum()),
            "sample_share_of_developers": sample.attrs.get("sample_share"),
            "controls": "developer fixed effects, feature, language, model version",
            "by_latency_decile": by_decile,
            "largest_effect_between_ms": [largest["latency_ms_low"], largest["latency_ms_high"]],
        },
        **normal_interval(slope, se),
    )


def developer_latency(frames: Frames) -> pd.DataFrame:
    """Per developer: completion-latency P50/P90 (quantile API), requests, active days."""
    hist = developer_latency_histograms(
        frames.snapshot, "latency_p50_ms", filters={"feature": ["code_completion"]}
    )
    if hist.num_rows == 0:
        return pd.DataFrame(columns=["developer_id", "p50", "p90", "requests", "active_days"])
    q = histogram_quantiles(hist, (0.5, 0.9), by=("developer_id",)).to_pandas()
    days = (
        hist.group_by(["developer_id", "day"])
        .aggregate([("requests", "sum")])
        .group_by(["developer_id"])
        .aggregate([("day", "count")])
        .to_pandas()
        .rename(columns={"day_count": "active_days"})
    )
    return q.merge(days, on="developer_id")


def _clustered_ols(y: np.ndarray, x: np.ndarray, groups: np.ndarray) -> Any:
    return sm.OLS(y, sm.add_constant(x)).fit(cov_type="cluster", cov_kwds={"groups": groups})


def satisfaction_latency_slopes(frames: Frames, latency: pd.DataFrame) -> list[Estimate]:
    """Satisfaction per doubling of P50 (and of P90), and engagement per doubling of P50."""
    surveys = frames.query(
        "surveys",
        "SELECT developer_id::VARCHAR AS developer_id, satisfaction FROM surveys "
        "WHERE satisfaction IS NOT NULL",
    )
    base: dict[str, Any] = {
        "analysis": "latency_satisfaction",
        "method": "ols_clustered",
        "unit": "points (1-5) per doubling",
    }
    out: list[Estimate] = []
    usable = latency[(latency["requests"] >= 20) & (latency["p50"] > 0)].copy()
    window_days = max(
        int(
            frames.query(
                "days", "SELECT count(DISTINCT CAST(timestamp AS DATE)) AS n FROM suggestions"
            )["n"].iloc[0]
        ),
        1,
    )
    usable["log_activity"] = np.log(usable["requests"] / usable["active_days"])
    for level in ("p50", "p90"):
        estimand = f"satisfaction_per_latency_doubling_{level}"
        if surveys.empty:
            out.append(Estimate.failed(**base, estimand=estimand, status=AnalysisStatus.NO_SURVEYS))
            continue
        joined = surveys.merge(usable, on="developer_id")
        if joined["developer_id"].nunique() < MIN_DEVELOPERS:
            out.append(
                Estimate.failed(**base, estimand=estimand, status=AnalysisStatus.TOO_FEW_DEVELOPERS)
            )
            continue
        x = np.column_stack([np.log2(joined[level]), joined["log_activity"]])
        res = _clustered_ols(
            joined["satisfaction"].to_numpy(float), x, joined["developer_id"].to_numpy()
        )
        slope, se = float(res.params[1]), float(res.bse[1])
        out.append(
            Estimate(
                **base,
                estimand=estimand,
                estimate=slope,
                n_units=int(joined["developer_id"].nunique()),
                details={
                    "responses": len(joined),
                    "adjusted_for": "log suggestions per active day",
                    "band": _binned_band(
                        np.log2(joined[level].to_numpy()), joined["satisfaction"].to_numpy(float)
                    ),
                },
                **normal_interval(slope, se),
            )
        )
    engagement = usable.assign(active_share=usable["active_days"] / window_days)
    estimand = "engagement_active_day_share_per_latency_doubling"
    if len(engagement) < MIN_DEVELOPERS:
        out.append(
            Estimate.failed(**base, estimand=estimand, status=AnalysisStatus.TOO_FEW_DEVELOPERS)
        )
    else:
        x = np.column_stack([np.log2(engagement["p50"]), engagement["log_activity"]])
        res = sm.OLS(engagement["active_share"].to_numpy(float), sm.add_constant(x)).fit(
            cov_type="HC1"
        )
        slope, se = float(res.params[1]), float(res.bse[1])
        out.append(
            Estimate(
                **(base | {"unit": "share of days per doubling", "method": "ols_hc1"}),
                estimand=estimand,
                estimate=slope,
                n_units=len(engagement),
                details={"window_days": window_days},
                **normal_interval(slope, se),
            )
        )
    return out


def _binned_band(x: np.ndarray, y: np.ndarray, bins: int = 8) -> list[dict[str, float]]:
    """Mean of ``y`` with a 95% band per quantile bin of ``x`` (for the chart)."""
    edges = np.quantile(x, np.linspace(0, 1, bins + 1))
    idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, bins - 1)
    rows = []
    for k in range(bins):
        v = y[idx == k]
        if v.size < 2:
            continue
        half = 1.96 * v.std(ddof=1) / math.sqrt(v.size)
        rows.append(
            {
                "latency_ms": float(2 ** x[idx == k].mean()),
                "mean": float(v.mean()),
                "low": float(v.mean() - half),
                "high": float(v.mean() + half),
                "n": int(v.size),
            }
        )
    return rows
