"""``exclude_weekends``: a catalogue filter (not page code) that drops Saturdays and Sundays."""

from __future__ import annotations

from datetime import date

import duckdb

from codex_metrics.lake import Lake
from codex_metrics.metrics import compute_metric


def _weekday_only_rate(lake: Lake, since: date, until: date) -> float:
    """Completion acceptance by count over weekdays only, straight from the events."""
    snapshot = lake.snapshot()
    con: duckdb.DuckDBPyConnection = snapshot.connect()
    row = con.execute(
        "SELECT count(*) FILTER (WHERE accepted)::DOUBLE / count(*) FROM suggestions "
        "WHERE day BETWEEN ? AND ? AND isodow(day) <= 5 AND status = 'ok'",
        [since, until],
    ).fetchone()
    assert row is not None
    return float(row[0])


def test_weekends_are_dropped_and_never_gaps(baseline_lake: Lake) -> None:
    daily = compute_metric("requests_served", baseline_lake, exclude_weekends=True)
    days = [r["period"] for r in daily.rows.to_pylist()]
    assert days and all(d.weekday() < 5 for d in days)
    assert all(d.weekday() < 5 for d in daily.gaps)
    every = compute_metric("requests_served", baseline_lake)
    weekend = [r for r in every.rows.to_pylist() if r["period"].weekday() >= 5]
    assert weekend, "the baseline month has weekends with traffic"
    assert daily.to_dict()["query"]["exclude_weekends"] is True


def test_weekly_value_equals_the_weekday_only_computation(baseline_lake: Lake) -> None:
    since, until = date(2025, 3, 3), date(2025, 3, 23)
    result = compute_metric(
        "acceptance_rate_by_count", baseline_lake, since=since, until=until, grain="all",
        exclude_weekends=True,
    )  # fmt: skip
    with_weekends = compute_metric(
        "acceptance_rate_by_count", baseline_lake, since=since, until=until, grain="all"
    )
    value = result.rows.to_pylist()[0]["value"]
    assert abs(value - _weekday_only_rate(baseline_lake, since, until)) < 1e-12
    assert value != with_weekends.rows.to_pylist()[0]["value"]
