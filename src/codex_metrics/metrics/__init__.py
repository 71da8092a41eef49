"""The metric catalogue: every product metric defined once, run on DuckDB or Spark.

>>> from codex_metrics.metrics import compute_metric, get_metric
>>> get_metric("acceptance_rate_by_count").formula
"Σ accepted / Σ shown (status = 'ok'); ratio of sums"

Names load on first use (PEP 562), so importing the package, or its catalogue index, loads no
query engine: the CLI lists metrics without DuckDB, Ibis or pyarrow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codex_metrics.metrics.catalogue import (
        DIMENSIONS,
        FAMILIES,
        Metric,
        get_metric,
        list_metrics,
        metric_definition,
    )
    from codex_metrics.metrics.compute import (
        compute_metric,
        compute_metrics,
        developer_sums,
        find_gaps,
    )
    from codex_metrics.metrics.docs import render_metrics_markdown
    from codex_metrics.metrics.engines import (
        DuckDBEngine,
        QueryEngine,
        SparkEngine,
        local_spark_session,
        open_engine,
    )
    from codex_metrics.metrics.index import catalogue_index
    from codex_metrics.metrics.quantiles import (
        HISTOGRAM_TABLE,
        LATENCY_GRID,
        LatencyGrid,
        developer_latency_histograms,
        developer_quantile_values,
        histogram_quantile,
        histogram_quantiles,
        quantile_metric,
    )
    from codex_metrics.metrics.result import NULL_REASONS, MetricResult

_HOMES = {
    "DIMENSIONS": "catalogue",
    "FAMILIES": "catalogue",
    "Metric": "catalogue",
    "get_metric": "catalogue",
    "list_metrics": "catalogue",
    "metric_definition": "catalogue",
    "compute_metric": "compute",
    "compute_metrics": "compute",
    "developer_sums": "compute",
    "find_gaps": "compute",
    "render_metrics_markdown": "docs",
    "DuckDBEngine": "engines",
    "QueryEngine": "engines",
    "SparkEngine": "engines",
    "local_spark_session": "engines",
    "open_engine": "engines",
    "catalogue_index": "index",
    "HISTOGRAM_TABLE": "quantiles",
    "LATENCY_GRID": "quantiles",
    "LatencyGrid": "quantiles",
    "developer_latency_histograms": "quantiles",
    "developer_quantile_values": "quantiles",
    "histogram_quantile": "quantiles",
    "histogram_quantiles": "quantiles",
    "quantile_metric": "quantiles",
    "NULL_REASONS": "result",
    "MetricResult": "result",
}

__all__ = [
    "DIMENSIONS",
    "FAMILIES",
    "HISTOGRAM_TABLE",
    "LATENCY_GRID",
    "NULL_REASONS",
    "DuckDBEngine",
    "LatencyGrid",
    "Metric",
    "MetricResult",
    "QueryEngine",
    "SparkEngine",
    "catalogue_index",
    "compute_metric",
    "compute_metrics",
    "developer_latency_histograms",
    "developer_quantile_values",
    "developer_sums",
    "find_gaps",
    "get_metric",
    "histogram_quantile",
    "histogram_quantiles",
    "list_metrics",
    "local_spark_session",
    "metric_definition",
    "open_engine",
    "quantile_metric",
    "render_metrics_markdown",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
