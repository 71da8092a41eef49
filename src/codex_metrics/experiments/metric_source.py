"""The one seam between the experiment engine and the metric catalogue.

The engine never defines a metric. It needs, per metric, each developer's numerator and
denominator over a time window, and the metric's direction and unit. The catalogue
(:mod:`codex_metrics.metrics`) provides both:

* ``cached_developer_sums(con, metric_name, *, start, end, filters=None)`` → a DuckDB relation (or an
  Arrow table) with columns ``developer_id, numerator, denominator``;
* ``get_metric(name)`` → an object with ``higher_is_better``, ``unit`` and ``description``;
* for percentile metrics (``latency_p90_ms``), ``developer_quantile_values(con, name, *, start,
  end, filters=None)`` → every value the percentile ranks, with its ``developer_id``.

No metric SQL lives in the engine; tests/experiments/test_lake_report.py checks the
catalogue's per-developer sums against hand-written reference SQL for the experiment metrics.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import duckdb

from codex_metrics.errors import MetricError
from codex_metrics.metrics import developer_quantile_values, get_metric
from codex_metrics.metrics import developer_sums as catalogue_developer_sums
from codex_metrics.metrics.catalogue import Quantile
from codex_metrics.metrics.compute import developer_sums_many

__all__ = [
    "Filters",
    "MetricInfo",
    "cached_developer_sums",
    "is_eval_metric",
    "metric_exists",
    "metric_info",
    "prefetch",
    "quantile_values",
]

MetricKind = Literal["ratio", "quantile"]
#: Dimension -> accepted values restricting a metric's rows (an experiment's metric filters).
Filters = Mapping[str, Sequence[str]]

# Per connection: (metric, start, end) -> SQL selecting its sums from a prefetched temp table.
_PREFETCHED: weakref.WeakKeyDictionary[
    duckdb.DuckDBPyConnection, dict[tuple[str, datetime, datetime], str]
] = weakref.WeakKeyDictionary()
_tables = itertools.count()


@dataclass(frozen=True)
class MetricInfo:
    """What the engine needs to know about a metric besides its numbers."""

    name: str
    higher_is_better: bool
    unit: str
    description: str
    kind: MetricKind = "ratio"
    level: float | None = None


def is_eval_metric(name: str) -> bool:
    """Whether ``name`` is a catalogue metric of offline evals (no developer to compare)."""
    try:
        return get_metric(name).source == "eval_results"
    except MetricError:
        return False


def metric_exists(name: str) -> bool:
    """Whether the catalogue has a metric called ``name``."""
    try:
        get_metric(name)
    except MetricError:
        return False
    return True


def metric_info(name: str) -> MetricInfo:
    """Direction, unit and description of a catalogue metric.

    Raises:
        MetricError: the metric is unknown.
    """
    m = get_metric(name)
    if isinstance(m.measure, Quantile) and m.source == "suggestions":
        return MetricInfo(
            name, bool(m.higher_is_better), str(m.unit), str(m.description), "quantile", m.measure.q
        )
    return MetricInfo(name, bool(m.higher_is_better), str(m.unit), str(m.description))


def cached_developer_sums(
    con: duckdb.DuckDBPyConnection,
    name: str,
    *,
    start: datetime,
    end: datetime,
    filters: Filters | None = None,
) -> duckdb.DuckDBPyRelation:
    """Per-developer ``developer_id, numerator, denominator`` of ``name`` in [start, end).

    Raises:
        MetricError: the metric is unknown or not a ratio/mean.
    """
    cached = None if filters else _PREFETCHED.get(con, {}).get((name, start, end))
    if cached is not None:
        return con.sql(cached)
    rel = catalogue_developer_sums(con, name, start=start, end=end, filters=filters)
    if not isinstance(rel, duckdb.DuckDBPyRelation):
        rel = con.from_arrow(rel)
    return rel.select(
        "developer_id, numerator::DOUBLE AS numerator, denominator::DOUBLE AS denominator"
    )


def prefetch(
    con: duckdb.DuckDBPyConnection,
    names: Sequence[str],
    windows: Sequence[tuple[datetime, datetime]],
) -> bool:
    """Read every metric's per-developer sums for every window in one scan, for this connection.

    Later :func:`cached_developer_sums` calls on ``con`` with one of these (metric, window) pairs read
    the small prefetched table instead of scanning the lake again; the numbers are the same.

    Returns:
        Whether the metrics could share a scan (otherwise nothing changes).
    """
    batched = developer_sums_many(con, list(dict.fromkeys(names)), windows=windows)
    if batched is None:
        return False
    rel, index = batched
    table = f"_exp_prefetched_{next(_tables)}"
    rel.create(table)
    cache = _PREFETCHED.setdefault(con, {})
    for name, i in index.items():
        for w, (start, end) in enumerate(windows):
            cache[(name, start, end)] = (
                f"SELECT developer_id, numerator_{i}::DOUBLE AS numerator, "
                f'denominator_{i}::DOUBLE AS denominator FROM {table} WHERE "window" = {w}'
            )
    return True


def quantile_values(
    con: duckdb.DuckDBPyConnection,
    name: str,
    *,
    start: datetime,
    end: datetime,
    filters: Filters | None = None,
) -> duckdb.DuckDBPyRelation:
    """Every value percentile metric ``name`` ranks in [start, end): ``developer_id, value``.

    Raises:
        MetricError: the metric is unknown or not a percentile of suggestions.
    """
    return developer_quantile_values(con, name, start=start, end=end, filters=filters)
