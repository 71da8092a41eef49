"""A rolling window is partial only where it reaches before the first day of data, not before
the requested ``since`` (its lookback reads the days before ``since``)."""

from __future__ import annotations

from datetime import date, timedelta

from codex_metrics.lake import Lake
from codex_metrics.metrics import compute_metric


def test_a_later_since_keeps_the_full_windows(baseline_lake: Lake) -> None:
    first = min(baseline_lake.snapshot().days("usage_daily"))
    since = first + timedelta(days=10)
    wau = compute_metric("weekly_active_users", baseline_lake, since=since).rows.to_pylist()
    assert wau[0]["period"] == since and wau[0]["value"] is not None
    # The same day computed over the whole history has the same value.
    whole = compute_metric("weekly_active_users", baseline_lake).rows.to_pylist()
    assert {r["period"]: r["value"] for r in whole}[since] == wau[0]["value"]
    partial = [r["period"] for r in whole if r["null_reason"] == "partial_window"]
    assert partial == [first + timedelta(days=i) for i in range(6)]


def test_a_window_reaching_before_the_data_is_still_partial(baseline_lake: Lake) -> None:
    first = min(baseline_lake.snapshot().days("usage_daily"))
    since = first + timedelta(days=10)
    mau = compute_metric("monthly_active_users", baseline_lake, since=since).rows.to_pylist()
    full_from = first + timedelta(days=27)
    assert all((r["null_reason"] == "partial_window") == (r["period"] < full_from) for r in mau)
    assert isinstance(full_from, date)
