"""The whole catalogue on DuckDB and on PySpark (local mode) over one lake gives equal results.

Equal means: the same rows in the same order, counts and keys exactly equal, floating values
within 1e-9 relative. Percentiles are exact type-7 quantiles on both engines (DuckDB
``quantile_cont``, Spark ``percentile``), so they are held to the same tolerance. The lake
(``parity_lake``) has > 100,000 events, a missing day, nulls and zero denominators; one query
filters on a slice with no rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from codex_metrics.lake import Lake
from codex_metrics.metrics import (
    DuckDBEngine,
    SparkEngine,
    compute_metric,
    compute_metrics,
    developer_sums,
    list_metrics,
)

from .conftest import MONDAY, assert_same_rows

pytestmark = [pytest.mark.spark, pytest.mark.slow]

# Ratios over the tables a simulated world fills (Codex telemetry comes from ingest only,
# community signals from collect only).
RATIO_METRICS = [
    m.name
    for m in list_metrics()
    if m.kind == "ratio"
    and m.name != "eval_pass_rate"
    and not m.source.startswith("codex_")
    and m.family != "community"
]
STANDARD = [m.name for m in list_metrics() if m.kind in ("ratio", "total", "distinct", "quantile")]
SHAPED = [m.name for m in list_metrics() if m.kind == "custom"]
SLICED: list[tuple[str, dict[str, Any]]] = [
    ("acceptance_rate_by_count", {"by": ["language"]}),
    ("daily_active_users", {"by": ["editor"]}),
    ("latency_p90_ms", {"by": ["model"]}),
    ("acceptance_rate_by_count", {"by": ["org"]}),  # org-a is the all-errors developer: 0/0
    ("acceptance_rate_by_lines", {"by": ["team"], "grain": "week"}),
    ("usage_acceptance_rate_by_count", {"by": ["language", "feature"], "grain": "week"}),
    ("active_users", {"by": ["persona"], "grain": "month"}),
    ("weekly_active_users", {"grain": "week"}),
    ("cohort_retention", {"grain": "week"}),
    ("latency_p99_ms", {"filters": {"language": ["cobol"]}}),  # a slice with no rows
    ("nps", {"grain": "week", "by": ["org"]}),
    ("edit_distance_mean", {"grain": "month", "by": ["arm"]}),
    ("latency_p50_ms", {"grain": "week", "by": ["feature"]}),
    ("failure_mode_share", {"by": ["editor"], "grain": "week"}),
]


@pytest.fixture(scope="module")
def engines(parity_lake: Lake, spark: Any) -> tuple[DuckDBEngine, SparkEngine]:
    # The traps are another source beside the simulated world: read both (--source all).
    snapshot = parity_lake.snapshot(sources="all")
    return DuckDBEngine(snapshot), SparkEngine(snapshot, spark)


def test_parity_lake_has_the_traps(
    parity_lake: Lake, engines: tuple[DuckDBEngine, SparkEngine]
) -> None:
    duck, _ = engines
    events = compute_metric("requests_served", parity_lake, engine=duck)
    assert sum(v for v in events.rows.column("value").to_pylist() if v is not None) > 100_000
    assert events.gaps == (MONDAY + timedelta(days=4),)
    by_org = compute_metric("acceptance_rate_by_count", parity_lake, by=["org"], engine=duck)
    assert "zero_denominator" in by_org.rows.column("null_reason").to_pylist()
    empty = compute_metric(
        "latency_p99_ms", parity_lake, filters={"language": ["cobol"]}, engine=duck
    )
    assert [r["null_reason"] for r in empty.rows.to_pylist()] == ["missing_day"]


def test_standard_metrics_daily_are_equal_on_duckdb_and_spark(
    parity_lake: Lake, engines: tuple[DuckDBEngine, SparkEngine]
) -> None:
    # ratios, totals, distinct counts and percentiles: one shared scan per source on each engine
    duck, spark = engines
    a = compute_metrics(STANDARD, parity_lake, engine=duck)
    b = compute_metrics(STANDARD, parity_lake, engine=spark)
    for name in STANDARD:
        assert a[name].gaps == b[name].gaps
        assert_same_rows(a[name].rows, b[name].rows, name)


@pytest.mark.parametrize("name", SHAPED)
def test_shaped_metrics_daily_are_equal_on_duckdb_and_spark(
    name: str, parity_lake: Lake, engines: tuple[DuckDBEngine, SparkEngine]
) -> None:
    duck, spark = engines
    a = compute_metric(name, parity_lake, engine=duck)
    b = compute_metric(name, parity_lake, engine=spark)
    assert a.gaps == b.gaps
    assert_same_rows(a.rows, b.rows, name)


@pytest.mark.parametrize(
    ("name", "kwargs"), SLICED, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SLICED)]
)
def test_sliced_queries_are_equal_on_duckdb_and_spark(
    name: str, kwargs: dict[str, Any], parity_lake: Lake, engines: tuple[DuckDBEngine, SparkEngine]
) -> None:
    duck, spark = engines
    a = compute_metric(name, parity_lake, engine=duck, **kwargs)
    b = compute_metric(name, parity_lake, engine=spark, **kwargs)
    assert_same_rows(a.rows, b.rows, f"{name} {kwargs}")


def test_developer_sums_are_equal_on_duckdb_and_spark(
    parity_lake: Lake, engines: tuple[DuckDBEngine, SparkEngine]
) -> None:
    duck, spark = engines
    start = datetime(2025, 3, 4, 6, 30, tzinfo=UTC)
    end = datetime(2025, 3, 18, tzinfo=UTC)
    for name in RATIO_METRICS:
        a = developer_sums(duck, name, start=start, end=end).sort_by("developer_id")
        b = developer_sums(spark, name, start=start, end=end).sort_by("developer_id")
        assert a.num_rows > 0, name
        assert_same_rows(a, b, name)
