"""Several standard metrics over one source in one grouped scan (``compute_metrics``).

A dashboard page or a report asks for many metrics with the same window, grain and slices.
Ratios, totals, distinct counts and percentiles over the same prepared source then share one
``GROUP BY``: every metric's aggregates are computed side by side (prefixed ``m{i}__``), and
percentiles of the same expression and filter share one sort (a list quantile). The results
are the same rows as metric-by-metric queries (floating sums up to summation order).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import ibis.expr.types as ir

from codex_metrics.metrics.catalogue import Custom, Quantile
from codex_metrics.metrics.query import (
    MetricQuery,
    StandardMeasure,
    aggregates,
    aggregates_names,
    finish_columns,
    row_filter,
)

__all__ = ["batchable", "build_batch_expression"]


def batchable(query: MetricQuery) -> bool:
    """Whether the metric is a standard measure over its own source (shareable scans)."""
    return not isinstance(query.metric.measure, Custom) and query.metric.frame is None


def build_batch_expression(queries: Sequence[MetricQuery]) -> ir.Table:
    """One grouped scan computing several standard metrics over the same source.

    Every query must be :func:`batchable`, with the same source, breakdown, window, grain,
    group-by and filters; output columns are prefixed ``m{i}__`` (i = position in ``queries``).
    """
    first = queries[0]
    t = first.source()
    aggs: dict[str, ir.Scalar] = {}
    shared = _shared_quantiles(queries, t)
    for i, q in enumerate(queries):
        if i in shared:
            continue
        measure = cast(StandardMeasure, q.metric.measure)  # batchable() excludes Custom
        aggs.update({f"m{i}__{k}": v for k, v in aggregates(measure, t).items()})
    for j, (expr, where, members) in enumerate(_quantile_groups(queries, t)):
        aggs[f"q{j}__values"] = expr.cast("float64").quantile([q for _, q in members], where=where)
        aggs[f"q{j}__n"] = t.count(where=where)
    agg = t.group_by(first.keys).aggregate(**aggs)
    cols: dict[str, ir.Value] = {}
    for i, q in enumerate(queries):
        measure = cast(StandardMeasure, q.metric.measure)
        if i in shared:
            j, k = shared[i]
            own = {"value": agg[f"q{j}__values"][k], "n": agg[f"q{j}__n"]}
        else:
            own = {n: agg[f"m{i}__{n}"] for n in aggregates_names(measure)}
        cols.update({f"m{i}__{k}": v for k, v in finish_columns(measure, own).items()})
    return agg.select(*first.keys, **cols).order_by(first.keys)


def _quantile_groups(
    queries: Sequence[MetricQuery], t: ir.Table
) -> list[tuple[ir.NumericColumn, ir.BooleanValue | None, list[tuple[int, float]]]]:
    """Percentiles of the same expression and filter, computed with one sort (a list quantile)."""
    groups: list[tuple[ir.NumericColumn, ir.BooleanValue | None, list[tuple[int, float]]]] = []
    for i, q in enumerate(queries):
        m = q.metric.measure
        if not isinstance(m, Quantile):
            continue
        expr, where = m.expr(t), row_filter(m, t)
        for g_expr, g_where, members in groups:
            same_where = (where is None and g_where is None) or (
                where is not None and g_where is not None and where.equals(g_where)
            )
            if g_expr.equals(expr) and same_where:
                members.append((i, m.q))
                break
        else:
            groups.append((expr, where, [(i, m.q)]))
    return [g for g in groups if len(g[2]) > 1]


def _shared_quantiles(queries: Sequence[MetricQuery], t: ir.Table) -> dict[int, tuple[int, int]]:
    """Query index -> (quantile group, position in its list) for percentiles computed together."""
    return {
        i: (j, k)
        for j, (_, _, members) in enumerate(_quantile_groups(queries, t))
        for k, (i, _) in enumerate(members)
    }
