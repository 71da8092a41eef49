"""The quantile API: latency histograms per developer × day × slice, and quantiles from them.

:func:`developer_latency_histograms` returns, for a latency percentile metric of the catalogue
(``latency_p50_ms``, ``latency_p90_ms``, ``latency_p99_ms``), the number of the metric's
requests per developer, UTC day, org, feature and model version in every bucket of the lake's
fixed log-spaced grid (:data:`~codex_metrics.lake.latency_grid.LATENCY_GRID`, relative error
1%). The counts come from the daily roll-up table ``latency_histograms_daily`` when it covers
the window (a dashboard reads P90 at 100M events without scanning them) and from
``suggestions`` otherwise; both give the same counts (a test holds them equal).

Counts add: any group's histogram is the sum of its rows, and :func:`histogram_quantile` reads
a type-7 quantile from it (linear interpolation between the two order statistics around rank
(n − 1)·q + 1, each replaced by its bucket's representative), within 1% of the exact quantile
that ``metrics show`` computes. Experiments compare exact, developer-clustered quantiles
(:mod:`codex_metrics.experiments.quantiles`); they read the metric's rows through
:func:`developer_quantile_values`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Literal

import duckdb
import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from codex_metrics.errors import MetricError
from codex_metrics.lake import Lake, LakeSnapshot
from codex_metrics.lake.latency_grid import LATENCY_GRID, LatencyGrid
from codex_metrics.metrics.catalogue import Metric, Quantile, get_metric
from codex_metrics.metrics.engines import QueryEngine, open_engine
from codex_metrics.metrics.query import MetricQuery, lake_table

__all__ = [
    "HISTOGRAM_TABLE",
    "LATENCY_GRID",
    "LatencyGrid",
    "developer_latency_histograms",
    "developer_quantile_values",
    "daily_latency_quantiles",
    "histogram_quantile",
    "histogram_quantiles",
    "quantile_metric",
]

HISTOGRAM_TABLE = "latency_histograms_daily"
#: Dimensions the roll-up table carries (others need the events).
_ROLLUP_DIMENSIONS = {
    "org": "org",
    "feature": "feature",
    "model": "model_version",
    "source": "source",
}
_JOINED = ("team", "persona", "arm")
ReadFrom = Literal["auto", "events", "rollup"]
_COLUMNS = ("day", "developer_id", "org", "feature", "model", "latency_bin", "requests")
_SCHEMA = pa.schema(
    [
        pa.field("day", pa.date32()),
        *(pa.field(c, pa.string()) for c in _COLUMNS[1:5]),
        pa.field("latency_bin", pa.int32()),
        pa.field("requests", pa.int64()),
    ]
)


def quantile_metric(name: str) -> tuple[Metric, Quantile]:
    """The catalogue entry ``name`` and its quantile measure.

    Raises:
        MetricError: unknown metric, or not a percentile of ``suggestions``.
    """
    metric = get_metric(name)
    if not isinstance(metric.measure, Quantile) or metric.source != "suggestions":
        raise MetricError(
            f"metric {name!r} is a {metric.kind} of {metric.source}, not a latency percentile; "
            "use latency_p50_ms, latency_p90_ms or latency_p99_ms"
        )
    return metric, metric.measure


def _bin(value: ir.NumericValue, grid: LatencyGrid) -> ir.IntegerValue:
    clamped = value.cast("float64").clip(lower=grid.min_ms, upper=grid.max_ms)
    return (clamped.ln() / grid.log_gamma).ceil().cast("int32")


def _from_events(query: MetricQuery, measure: Quantile) -> ir.Table:
    t = query.source()
    if measure.where is not None:
        t = t.filter(measure.where(t))
    value = measure.expr(t)
    t = t.filter(value.notnull()).mutate(latency_bin=_bin(value, LATENCY_GRID))
    return t.group_by(
        [t.day, t.developer_id, t.org, t.feature, t.model_version.name("model"), t.latency_bin]
    ).aggregate(requests=t.count())


def _from_rollup(query: MetricQuery) -> ir.Table:
    t = query.prepare(lake_table(HISTOGRAM_TABLE), _ROLLUP_DIMENSIONS)
    return t.group_by(
        [t.day, t.developer_id, t.org, t.feature, t.model_version.name("model"), t.latency_bin]
    ).aggregate(requests=t.requests.sum())


def _rollup_covers(snapshot: LakeSnapshot, query: MetricQuery) -> bool:
    dims = set(query.filters) - {"experiment"}
    if not dims <= set(_ROLLUP_DIMENSIONS) | set(_JOINED):
        return False
    if HISTOGRAM_TABLE not in snapshot.tables or "suggestions" not in snapshot.tables:
        return False

    def inside(day: date) -> bool:
        return (query.since is None or day >= query.since) and (
            query.until is None or day <= query.until
        )

    events = {d for d in snapshot.days("suggestions") if inside(d)}
    return bool(events) and events <= snapshot.days(HISTOGRAM_TABLE)


def developer_latency_histograms(
    lake: Lake | LakeSnapshot,
    metric: str = "latency_p90_ms",
    *,
    since: date | None = None,
    until: date | None = None,
    filters: Mapping[str, Sequence[str]] | None = None,
    read_from: ReadFrom = "auto",
) -> pa.Table:
    """Counts per developer × UTC day × slice (org, feature, model) on the fixed latency grid.

    Args:
        lake: the lake (read as it is now) or a pinned snapshot of it.
        metric: a latency percentile of the catalogue; its rows are counted (the percentile
            level does not matter: P50, P90 and P99 count the same requests).
        since: first UTC day included (default: the first with data).
        until: last UTC day included (default: the last with data).
        filters: dimension -> accepted values, as in ``compute_metric``.
        read_from: ``auto`` (the roll-up table when it has every day of the window that
            ``suggestions`` has, and the filters are ones it carries), ``rollup`` or ``events``.

    Returns:
        Columns ``day``, ``developer_id``, ``org``, ``feature``, ``model``, ``latency_bin``
        (bucket i holds latencies in (γ^(i−1), γ^i] ms) and ``requests``, sorted.

    Raises:
        MetricError: unknown or non-percentile metric, a bad filter, or ``rollup`` asked for a
            window or filter the roll-up table does not cover.
    """
    entry, measure = quantile_metric(metric)
    query = MetricQuery(entry, since=since, until=until, filters=dict(filters or {}))
    snapshot = lake if isinstance(lake, LakeSnapshot) else lake.snapshot()
    covered = _rollup_covers(snapshot, query)
    if read_from == "rollup" and not covered:
        raise MetricError(
            f"{HISTOGRAM_TABLE} does not cover this request (days missing, or a filter on a "
            f"dimension it does not carry: it has {', '.join(_ROLLUP_DIMENSIONS)}); pass "
            "read_from='events'"
        )
    use_rollup = read_from == "rollup" or (read_from == "auto" and covered)
    expr = _from_rollup(query) if use_rollup else _from_events(query, measure)
    table = open_engine(snapshot).execute(expr.select(*_COLUMNS))
    order = [(c, "ascending") for c in _COLUMNS[:-1]]
    return table.cast(_SCHEMA).sort_by(order)


def daily_latency_quantiles(
    lake: Lake | LakeSnapshot,
    *,
    since: date | None = None,
    until: date | None = None,
    by: Sequence[str] = (),
    filters: Mapping[str, Sequence[str]] | None = None,
    levels: Sequence[float] | None = (0.5, 0.9, 0.99),
    exclude_weekends: bool = False,
    per_day: bool = True,
    engine: QueryEngine | None = None,
) -> pa.Table:
    """Latency percentiles per UTC day (and ``by``) read from the daily histograms.

    What a dashboard draws at any scale: one grouped sum over ``latency_histograms_daily``
    (over the events when the roll-up does not cover the window or a filter) gives every level
    at once, each within the grid's 1% of the exact percentile ``metrics show`` computes.

    Args:
        lake: the lake or a pinned snapshot.
        since: first UTC day (default: the first with data).
        until: last UTC day (default: the last with data).
        by: dimensions among ``org``, ``feature`` and ``model``.
        filters: dimension -> accepted values, as in ``compute_metric``.
        levels: quantile levels; columns ``p50``, ``p90``, ... (``None``: the summed
            histograms themselves, ``latency_bin`` and ``requests`` per group, for callers that
            read several windows from one query with :func:`histogram_quantiles`).
        exclude_weekends: drop Saturdays and Sundays (UTC).
        per_day: one row per day (``False``: the whole window as one group per ``by``).
        engine: an open engine over the same snapshot (reused across calls).

    Returns:
        Columns ``day`` (when ``per_day``), the ``by`` columns, ``requests`` and one per
        level, sorted.

    Raises:
        MetricError: a ``by`` dimension the histograms do not carry, or a bad filter.
    """
    unknown = [d for d in by if d not in ("org", "feature", "model")]
    if unknown:
        raise MetricError(f"latency histograms carry org, feature and model, not {unknown[0]!r}")
    entry, measure = quantile_metric("latency_p90_ms")
    query = MetricQuery(
        entry,
        since=since,
        until=until,
        filters=dict(filters or {}),
        exclude_weekends=exclude_weekends,
    )
    snapshot = (
        engine.snapshot
        if engine is not None
        else lake
        if isinstance(lake, LakeSnapshot)
        else lake.snapshot()
    )
    if _rollup_covers(snapshot, query):  # straight from the roll-up: no per-developer step
        t = query.prepare(lake_table(HISTOGRAM_TABLE), _ROLLUP_DIMENSIONS)
        t = t.mutate(model=t.model_version)
    else:
        t = _from_events(query, measure)
    keys = ["day", *by] if per_day else list(by)
    counts = t.group_by([*keys, "latency_bin"]).aggregate(requests=t.requests.sum())
    table = (engine or open_engine(snapshot)).execute(counts)
    if levels is None:
        return table.sort_by([(k, "ascending") for k in [*keys, "latency_bin"]])
    out = histogram_quantiles(table, levels, by=keys)
    return out.sort_by([(k, "ascending") for k in keys]) if keys else out


def developer_quantile_values(
    con: duckdb.DuckDBPyConnection,
    metric: str,
    *,
    start: datetime,
    end: datetime,
    filters: Mapping[str, Sequence[str]] | None = None,
) -> duckdb.DuckDBPyRelation:
    """Every value a percentile metric ranks in [start, end): ``developer_id, value``.

    The seam of the experiment engine for quantile metrics (what ``developer_sums`` is for
    ratios): the engine computes order statistics and per-developer counts from these rows.

    Raises:
        MetricError: unknown or non-percentile metric, or a bad filter.
    """
    entry, measure = quantile_metric(metric)
    query = MetricQuery(
        entry,
        filters=dict(filters or {}),
        start=_utc(start),
        end=_utc(end),
    )
    t = query.source()
    if measure.where is not None:
        t = t.filter(measure.where(t))
    value = measure.expr(t).cast("float64")
    t = t.filter(value.notnull())
    expr = t.select(t.developer_id, value.name("value"))
    return con.sql(str(ibis.to_sql(expr, dialect="duckdb")))


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def histogram_quantile(
    bins: Sequence[int] | np.ndarray,
    counts: Sequence[float] | np.ndarray,
    q: float,
    *,
    grid: LatencyGrid = LATENCY_GRID,
) -> float:
    """Type-7 quantile ``q`` of a histogram on ``grid`` (NaN when it is empty).

    Ranks are read from the cumulative counts in bucket order; each order statistic is its
    bucket's representative, so the result is within ``grid.relative_error`` of the exact
    type-7 quantile of the values counted.

    Raises:
        MetricError: ``q`` is outside [0, 1].
    """
    if not 0 <= q <= 1:
        raise MetricError(f"quantile level must be in [0, 1], got {q}")
    b = np.asarray(bins, dtype=np.int64)
    c = np.asarray(counts, dtype=float)
    order = np.argsort(b, kind="stable")
    b, c = b[order], c[order]
    cumulative = np.cumsum(c)
    n = cumulative[-1] if cumulative.size else 0.0
    if n <= 0:
        return float("nan")
    h = (n - 1) * q + 1
    low = np.floor(h)
    ranks = np.array([low, min(low + 1, n)])
    values = grid.representative(b[np.searchsorted(cumulative, ranks, side="left")])
    return float(values[0] + (h - low) * (values[1] - values[0]))


def histogram_quantiles(
    histograms: pa.Table,
    levels: Sequence[float] = (0.5, 0.9, 0.99),
    *,
    by: Sequence[str] = ("day",),
    grid: LatencyGrid = LATENCY_GRID,
) -> pa.Table:
    """Quantiles per group of :func:`developer_latency_histograms` rows (for dashboards).

    Returns:
        The ``by`` columns, ``requests`` and one column ``p50``, ``p90``, ... per level.
    """
    keys = list(by)
    grouped = histograms.group_by([*keys, "latency_bin"]).aggregate([("requests", "sum")])
    grouped = grouped.sort_by([(k, "ascending") for k in [*keys, "latency_bin"]])
    frame = {k: grouped.column(k).to_pylist() for k in keys}
    bins = grouped.column("latency_bin").to_numpy()
    counts = grouped.column("requests_sum").to_numpy()
    labels = list(zip(*(frame[k] for k in keys), strict=True)) if keys else [()] * len(bins)
    out: dict[str, list] = {k: [] for k in keys} | {"requests": []}
    out |= {f"p{_pct(q)}": [] for q in levels}
    start = 0
    for end in range(1, len(labels) + 1):
        if end < len(labels) and labels[end] == labels[start]:
            continue
        for k, v in zip(keys, labels[start], strict=True):
            out[k].append(v)
        out["requests"].append(int(counts[start:end].sum()))
        for q in levels:
            out[f"p{_pct(q)}"].append(
                histogram_quantile(bins[start:end], counts[start:end], q, grid=grid)
            )
        start = end
    return pa.table(out)


def _pct(q: float) -> str:
    return f"{q * 100:g}".replace(".", "_")
