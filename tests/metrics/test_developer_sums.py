"""The experiment seam: per-developer numerator and denominator over a half-open UTC window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import duckdb
import pytest

from codex_metrics.errors import MetricError
from codex_metrics.lake import Lake
from codex_metrics.metrics import DuckDBEngine, compute_metric, developer_sums

from .conftest import MONDAY, write

TUE = MONDAY + timedelta(days=1)


def at(day, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture()
def two_developers(lake: Lake) -> Lake:
    write(
        lake,
        "suggestions",
        [
            {
                "developer_id": "dev-a",
                "day": MONDAY,
                "timestamp": at(MONDAY, 9),
                "accepted": True,
                "chars_accepted": 10,
                "chars_persisted_10m": 8,
                "edit_distance_10m": 3,
            },
            {
                "developer_id": "dev-a",
                "day": MONDAY,
                "timestamp": at(MONDAY, 23),
                "accepted": False,
            },
            {
                "developer_id": "dev-a",
                "day": TUE,
                "timestamp": at(TUE, 0),
                "accepted": True,
                "chars_accepted": 20,
                "chars_persisted_10m": None,
                "edit_distance_10m": 5,
            },
            {
                "developer_id": "dev-b",
                "day": MONDAY,
                "timestamp": at(MONDAY, 10),
                "status": "timeout",
                "latency_ms": 5000.0,
            },
        ],
    )
    return lake


def rows(rel) -> dict[str, tuple[float, float]]:
    table = rel.to_arrow_table() if isinstance(rel, duckdb.DuckDBPyRelation) else rel
    return {r["developer_id"]: (r["numerator"], r["denominator"]) for r in table.to_pylist()}


def test_returns_a_lazy_relation_for_a_duckdb_connection(two_developers: Lake) -> None:
    rel = developer_sums(
        two_developers.connect(), "acceptance_rate_by_count", start=at(MONDAY, 0), end=at(TUE, 0)
    )
    assert isinstance(rel, duckdb.DuckDBPyRelation)
    assert rel.columns == ["developer_id", "numerator", "denominator"]
    assert rows(rel) == {"dev-a": (1.0, 2.0), "dev-b": (0.0, 0.0)}  # zero denominator is kept


def test_window_is_half_open_on_timestamps(two_developers: Lake) -> None:
    con = two_developers.connect()
    # end = Tue 00:00 excludes the Tuesday-midnight event; start at 09:00 includes the 09:00 one
    assert rows(
        developer_sums(con, "acceptance_rate_by_count", start=at(MONDAY, 9), end=at(TUE, 0))
    ) == {"dev-a": (1.0, 2.0), "dev-b": (0.0, 0.0)}
    assert rows(
        developer_sums(con, "acceptance_rate_by_count", start=at(MONDAY, 10), end=at(TUE, 1))
    ) == {"dev-a": (1.0, 2.0), "dev-b": (0.0, 0.0)}
    # an aware start in another zone means the same instant in UTC
    plus_one = timezone(timedelta(hours=1))
    start = datetime(2025, 3, 4, 1, tzinfo=plus_one)  # = Tue 00:00 UTC
    assert rows(developer_sums(con, "acceptance_rate_by_count", start=start, end=at(TUE, 1))) == {
        "dev-a": (1.0, 1.0)
    }


def test_means_and_persistence_skip_unknown_values(two_developers: Lake) -> None:
    con = two_developers.connect()
    window = {"start": MONDAY, "end": TUE + timedelta(days=1)}
    assert rows(developer_sums(con, "persistence_rate_10m", **window))["dev-a"] == (8.0, 10.0)
    assert rows(developer_sums(con, "edit_distance_mean", **window))["dev-a"] == (8.0, 2.0)
    assert rows(developer_sums(con, "error_rate", **window))["dev-b"] == (1.0, 1.0)
    assert rows(developer_sums(con, "latency_mean_ms", **window))["dev-b"] == (5000.0, 1.0)


def test_sums_over_developers_equal_the_metric(two_developers: Lake) -> None:
    per_dev = rows(
        developer_sums(
            DuckDBEngine(two_developers),
            "acceptance_rate_by_count",
            start=MONDAY,
            end=TUE + timedelta(days=1),
        )
    )
    num = sum(n for n, _ in per_dev.values())
    den = sum(d for _, d in per_dev.values())
    week = compute_metric("acceptance_rate_by_count", two_developers, grain="week")
    assert week.value_of(period=MONDAY) == pytest.approx(num / den)


def test_non_ratio_metrics_have_no_developer_sums(two_developers: Lake) -> None:
    with pytest.raises(MetricError, match="not a ratio or mean"):
        developer_sums(two_developers.connect(), "latency_p90_ms", start=MONDAY, end=TUE)
    with pytest.raises(MetricError, match="not a ratio or mean"):
        developer_sums(two_developers.connect(), "stars_total", start=MONDAY, end=TUE)


def test_experiment_engine_uses_the_catalogue(two_developers: Lake) -> None:
    from codex_metrics.experiments import metric_source

    assert metric_source.metric_info("persistence_rate_10m").higher_is_better
    rel = metric_source.cached_developer_sums(
        two_developers.connect(), "acceptance_rate_by_count", start=at(MONDAY, 0), end=at(TUE, 0)
    )
    assert sorted(rel.fetchall()) == [("dev-a", 1.0, 2.0), ("dev-b", 0.0, 0.0)]
