"""The metric catalogue: every product metric defined once, run on DuckDB or Spark.

>>> from codex_metrics.metrics import compute_metric, get_metric
>>> get_metric("acceptance_rate_by_count").formula
"Σ accepted / Σ shown (status = 'ok'); ratio of sums"
"""

from codex_metrics.metrics.catalogue import DIMENSIONS, FAMILIES, Metric, get_metric, list_metrics
from codex_metrics.metrics.compute import compute_metric, compute_metrics, developer_sums, find_gaps
from codex_metrics.metrics.docs import render_metrics_markdown
from codex_metrics.metrics.engines import (
    DuckDBEngine,
    QueryEngine,
    SparkEngine,
    local_spark_session,
    open_engine,
)
from codex_metrics.metrics.result import NULL_REASONS, MetricResult

__all__ = [
    "DIMENSIONS",
    "FAMILIES",
    "NULL_REASONS",
    "DuckDBEngine",
    "Metric",
    "MetricResult",
    "QueryEngine",
    "SparkEngine",
    "compute_metric",
    "compute_metrics",
    "developer_sums",
    "find_gaps",
    "get_metric",
    "list_metrics",
    "local_spark_session",
    "open_engine",
    "render_metrics_markdown",
]
