"""Daily latency percentiles from the histograms agree with the exact ones within the grid's 1%."""

from __future__ import annotations

import pytest

from codex_metrics.errors import MetricError
from codex_metrics.lake import Lake
from codex_metrics.metrics import compute_metric
from codex_metrics.metrics.quantiles import daily_latency_quantiles


def test_per_day_and_feature_within_one_percent_of_exact(baseline_lake: Lake) -> None:
    snap = baseline_lake.snapshot()
    approx = daily_latency_quantiles(snap, by=["feature"]).to_pylist()
    assert approx and {"p50", "p90", "p99", "requests"} <= set(approx[0])
    for level in (50, 90, 99):
        exact = compute_metric(f"latency_p{level}_ms", snap, by=["feature"]).rows.to_pylist()
        truth = {(r["period"], r["feature"]): r["value"] for r in exact if r["value"]}
        got = {(r["day"], r["feature"]): r[f"p{level}"] for r in approx}
        assert set(got) == set(truth)
        worst = max(abs(got[k] / truth[k] - 1) for k in truth)
        assert worst <= 0.01, (level, worst)


def test_filters_and_weekends_follow_the_catalogue(baseline_lake: Lake) -> None:
    snap = baseline_lake.snapshot()
    rows = daily_latency_quantiles(
        snap, filters={"feature": ["code_completion"]}, exclude_weekends=True
    ).to_pylist()
    exact = compute_metric(
        "latency_p90_ms", snap, filters={"feature": ["code_completion"]}, exclude_weekends=True
    ).rows.to_pylist()
    assert [r["day"] for r in rows] == [r["period"] for r in exact]
    assert all(r["day"].weekday() < 5 for r in rows)
    for a, e in zip(rows, exact, strict=True):
        assert abs(a["p90"] / e["value"] - 1) <= 0.01
    with pytest.raises(MetricError, match="language"):
        daily_latency_quantiles(snap, by=["language"])
