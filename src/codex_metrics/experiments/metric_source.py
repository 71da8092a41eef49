"""The one seam between the experiment engine and the metric catalogue.

The engine never defines a metric. It needs, per metric, each developer's numerator and
denominator over a time window, and the metric's direction and unit. The catalogue
(:mod:`codex_metrics.metrics`) provides both:

* ``developer_sums(con, metric_name, *, start, end, filters=None)`` → a DuckDB relation (or an
  Arrow table) with columns ``developer_id, numerator, denominator``;
* ``get_metric(name)`` → an object with ``higher_is_better``, ``unit`` and ``description``.

No metric SQL lives in the engine; tests/experiments/test_lake_report.py checks the
catalogue's per-developer sums against hand-written reference SQL for the experiment metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from codex_metrics.metrics import developer_sums as catalogue_developer_sums
from codex_metrics.metrics import get_metric

__all__ = ["MetricInfo", "developer_sums", "metric_info"]


@dataclass(frozen=True)
class MetricInfo:
    """What the engine needs to know about a metric besides its numbers."""

    name: str
    higher_is_better: bool
    unit: str
    description: str


def metric_info(name: str) -> MetricInfo:
    """Direction, unit and description of a catalogue metric.

    Raises:
        MetricError: the metric is unknown.
    """
    m = get_metric(name)
    return MetricInfo(name, bool(m.higher_is_better), str(m.unit), str(m.description))


def developer_sums(
    con: duckdb.DuckDBPyConnection,
    name: str,
    *,
    start: datetime,
    end: datetime,
) -> duckdb.DuckDBPyRelation:
    """Per-developer ``developer_id, numerator, denominator`` of ``name`` in [start, end).

    Raises:
        MetricError: the metric is unknown or not a ratio/mean.
    """
    rel = catalogue_developer_sums(con, name, start=start, end=end)
    if not isinstance(rel, duckdb.DuckDBPyRelation):
        rel = con.from_arrow(rel)
    return rel.select(
        "developer_id, numerator::DOUBLE AS numerator, denominator::DOUBLE AS denominator"
    )
