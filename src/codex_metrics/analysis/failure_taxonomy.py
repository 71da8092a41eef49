"""Failure taxonomy: shares and weekly trends of telemetry failure modes and eval errors.

Shares of each failure mode among requests (``suggestions.failure_mode``), by language and by
model version, with Wilson 95% intervals; the weekly share per mode; and the largest shifts
between the two model versions with the most requests, as differences of shares with
developer-clustered intervals (a developer's requests are not independent: the variance of a
difference of ratio means by the delta method over per-developer sums). Eval error categories
(``eval_results.outcome``) by model version when the lake has eval runs.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from codex_metrics.analysis.estimates import Estimate, normal_interval
from codex_metrics.analysis.frames import Frames
from codex_metrics.analysis.status import AnalysisStatus

__all__ = ["failure_taxonomy"]

_BY_DEV = """
SELECT developer_id::VARCHAR AS developer_id, model_version::VARCHAR AS model_version,
       failure_mode::VARCHAR AS failure_mode, count(*) AS n
FROM suggestions GROUP BY ALL
"""


def _wilson(k: float, n: float) -> tuple[float, float]:
    if n <= 0:
        return (math.nan, math.nan)
    z = 1.96
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _clustered_share(per_dev: pd.DataFrame, mode: str) -> tuple[float, float, int]:
    """Ratio-of-sums share of ``mode`` with its delta-method variance over developers."""
    den_s = per_dev.groupby("developer_id")["n"].sum()
    num_s = per_dev[per_dev["failure_mode"] == mode].groupby("developer_id")["n"].sum()
    den = den_s.to_numpy(float)
    num = num_s.reindex(den_s.index, fill_value=0).to_numpy(float)
    n = len(den)
    r = num.sum() / den.sum()
    resid = num - r * den
    var = (resid**2).sum() / (den.sum() ** 2) * n / max(n - 1, 1)
    return float(r), float(var), n


def failure_taxonomy(frames: Frames) -> tuple[list[Estimate], dict[str, Any]]:
    """Estimates (shares, version shifts) and chart tables (trends, by language)."""
    base: dict[str, Any] = {"analysis": "failure_taxonomy", "unit": "share of requests"}
    by_dev = frames.query("failures_by_dev", _BY_DEV)
    if by_dev.empty:
        return [
            Estimate.failed(
                **base, estimand="failure_share", method="wilson", status=AnalysisStatus.NO_DATA
            )
        ], {}
    total = by_dev["n"].sum()
    estimates: list[Estimate] = []
    for mode, n in by_dev.groupby("failure_mode")["n"].sum().sort_values(ascending=False).items():
        lo, hi = _wilson(float(n), float(total))
        estimates.append(
            Estimate(
                **base,
                estimand="failure_share",
                method="wilson",
                subgroup=f"failure_mode={mode}",
                estimate=float(n / total),
                ci_low=lo,
                ci_high=hi,
                n_units=int(total),
                details={"unit_of_n": "requests"},
            )
        )
    versions = by_dev.groupby("model_version")["n"].sum().sort_values(ascending=False)
    shifts = []
    if len(versions) >= 2:
        a, b = versions.index[0], versions.index[1]
        for mode in sorted(by_dev["failure_mode"].unique()):
            ra, va, na = _clustered_share(by_dev[by_dev["model_version"] == a], mode)
            rb, vb, nb = _clustered_share(by_dev[by_dev["model_version"] == b], mode)
            # Developers see both versions, so the two shares covary; the independent-samples
            # variance is conservative when the covariance is positive.
            diff = rb - ra
            shifts.append(
                Estimate(
                    **base | {"unit": "difference of shares"},
                    estimand="failure_share_shift",
                    method="delta_clustered",
                    subgroup=f"failure_mode={mode};versions={b} vs {a}",
                    estimate=diff,
                    n_units=max(na, nb),
                    **normal_interval(diff, math.sqrt(va + vb)),
                )
            )
        shifts.sort(key=lambda e: -abs(e.estimate or 0.0))
    estimates += shifts
    trend = frames.query(
        "failure_trend",
        "SELECT date_trunc('week', timestamp)::DATE AS week, failure_mode::VARCHAR AS failure_mode,"
        " count(*) AS n FROM suggestions GROUP BY ALL ORDER BY 1, 2",
    )
    trend["share"] = trend["n"] / trend.groupby("week")["n"].transform("sum")
    by_language = frames.query(
        "failure_language",
        "SELECT language::VARCHAR AS language, failure_mode::VARCHAR AS failure_mode, count(*) AS n"
        " FROM suggestions GROUP BY ALL",
    )
    by_language["share"] = by_language["n"] / by_language.groupby("language")["n"].transform("sum")
    evals = frames.query(
        "eval_outcomes",
        "SELECT model_version, outcome, count(*) AS n FROM eval_results GROUP BY ALL ORDER BY 1, 2",
    )
    if not evals.empty:
        evals["share"] = evals["n"] / evals.groupby("model_version")["n"].transform("sum")
        for row in evals.itertuples():
            n_model = float(evals.loc[evals["model_version"] == row.model_version, "n"].sum())
            lo, hi = _wilson(float(row.n), n_model)
            estimates.append(
                Estimate(
                    **base | {"unit": "share of samples"},
                    estimand="eval_outcome_share",
                    method="wilson",
                    subgroup=f"model_version={row.model_version};outcome={row.outcome}",
                    estimate=float(row.share),
                    ci_low=lo,
                    ci_high=hi,
                    n_units=int(n_model),
                )
            )
    tables = {
        "trend": trend.assign(week=trend["week"].astype(str)).to_dict("records"),
        "by_language": by_language.to_dict("records"),
        "largest_shifts": [e.to_dict() for e in shifts[:3]],
        "eval_outcomes": evals.to_dict("records"),
    }
    return estimates, tables
