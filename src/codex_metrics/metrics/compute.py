"""The two entry points: :func:`compute_metric` (the envelope) and :func:`developer_sums`.

``compute_metric`` is what the CLI, the dashboard and the reports call; ``developer_sums`` is
the seam of the experiment engine (per-developer numerator and denominator of a ratio metric
over a half-open UTC window).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import duckdb
import ibis
import pyarrow as pa

from codex_metrics.errors import MetricError
from codex_metrics.lake import Lake, LakeSnapshot
from codex_metrics.lake.tables import TABLES
from codex_metrics.metrics.batch import batchable, build_batch_expression
from codex_metrics.metrics.catalogue import Metric, Ratio, get_metric
from codex_metrics.metrics.coverage import data_range, mixed_entities, partial_periods
from codex_metrics.metrics.engines import QueryEngine, open_engine
from codex_metrics.metrics.explain import check_filter_values, explain_empty
from codex_metrics.metrics.query import (
    TIMESTAMP_COLUMNS,
    MetricQuery,
    aggregates,
    build_expression,
    developer_expression,
    frame_for,
)
from codex_metrics.metrics.result import MetricResult

__all__ = [
    "SPARSE_TABLES",
    "compute_metric",
    "compute_metrics",
    "data_range",
    "developer_sums",
    "developer_sums_many",
    "find_gaps",
    "mixed_entities",
    "partial_periods",
]

#: Day tables where a day without rows is normal, not a gap (answers every other week,
#: snapshots taken when a file was ingested, issues and stars partitioned by the day they
#: happened, monthly question counts stored on the 1st).
SPARSE_TABLES = frozenset(
    {"surveys", "seats", "team_members", "issues", "issue_comments", "star_history",
     "so_question_counts"}
)  # fmt: skip


def _snapshot_for(lake: Lake | LakeSnapshot, engine: QueryEngine | str) -> LakeSnapshot:
    if not isinstance(engine, str):
        return engine.snapshot
    return lake if isinstance(lake, LakeSnapshot) else lake.snapshot()


def _meta(query: MetricQuery, snapshot: LakeSnapshot) -> dict[str, Any]:
    return {
        "query": {
            "since": query.since,
            "until": query.until,
            "grain": query.grain,
            "by": list(query.by),
            "filters": dict(query.filters),
            "exclude_weekends": query.exclude_weekends,
        },
        "lake": str(snapshot.lake.root),
        "lake_snapshot": snapshot.to_dict(query.metric.tables),
        "generated_at": datetime.now(UTC),
    }


def compute_metric(
    metric: str | Metric,
    lake: Lake | LakeSnapshot,
    *,
    since: date | None = None,
    until: date | None = None,
    grain: str = "day",
    by: Sequence[str] = (),
    filters: Mapping[str, Sequence[str]] | None = None,
    engine: QueryEngine | str = "duckdb",
    check_filters: bool = False,
    min_group_size: int = 0,
    params: Mapping[str, Any] | None = None,
    exclude_weekends: bool = False,
) -> MetricResult:
    """Compute one catalogue metric over the lake and return the result envelope.

    Args:
        metric: a catalogue name or entry.
        lake: the lake (read as it is now, default sources) or a pinned snapshot of it.
        since: first UTC day included (default: first day with data).
        until: last UTC day included (default: last day with data).
        grain: day, week (ISO, Monday) or month.
        by: dimensions to group by.
        filters: dimension -> accepted values.
        engine: ``"duckdb"``, ``"spark"`` or an open :class:`QueryEngine` (reuse it across metrics).
        check_filters: fail when a filter value never occurs in the lake (a misspelling),
            instead of returning an empty answer (costs one scan per filter).
        min_group_size: withhold rows aggregating fewer distinct developers than this
            (``null_reason`` ``too_few_users``; standard measures); 0 shows every row. The CLI
            passes 5 (GitHub's rule for team metrics) when real-source rows are read.
        params: metric parameters (``seat_prices``: USD per seat and month, by plan).
        exclude_weekends: drop Saturdays and Sundays (UTC) before aggregating; weekend days
            are then never reported as gaps.

    An answer without a single value has ``status="empty"`` and a ``reason`` saying why (see
    :func:`codex_metrics.metrics.explain.explain_empty`).

    Raises:
        MetricError: unknown metric, grain, dimension or filter (value, with ``check_filters``).
    """
    m = get_metric(metric) if isinstance(metric, str) else metric
    snapshot = _snapshot_for(lake, engine)
    since = _first_day(snapshot, m, since, grain)
    query = MetricQuery(
        m,
        since=since,
        until=until,
        grain=grain,
        by=tuple(by),
        filters=dict(filters or {}),
        min_group_size=min_group_size,
        one_entity=mixed_entities(snapshot, m),
        params=dict(params or {}),
        exclude_weekends=exclude_weekends,
    )
    if m.unavailable_reason:
        return MetricResult(
            m,
            _empty_rows(query),
            engine=_engine_name(engine),
            status="unavailable",
            reason=m.unavailable_reason,
            **_meta(query, snapshot),
        )
    eng = open_engine(snapshot, engine) if isinstance(engine, str) else engine
    if check_filters:
        check_filter_values(eng, query)
    return _envelope(query, eng.execute(build_expression(query)), eng)


def compute_metrics(
    metrics: Sequence[str | Metric],
    lake: Lake | LakeSnapshot,
    *,
    since: date | None = None,
    until: date | None = None,
    grain: str = "day",
    by: Sequence[str] = (),
    filters: Mapping[str, Sequence[str]] | None = None,
    engine: QueryEngine | str = "duckdb",
    min_group_size: int = 0,
    params: Mapping[str, Any] | None = None,
    exclude_weekends: bool = False,
) -> dict[str, MetricResult]:
    """Several metrics with the same request, sharing scans: same results as one by one.

    Ratios, totals, distinct counts and percentiles over the same source are computed in one
    grouped scan (a dashboard page or a report asks for many at once); the others run alone.

    Raises:
        MetricError: as :func:`compute_metric`, for any of the metrics.
    """
    entries = [get_metric(m) if isinstance(m, str) else m for m in metrics]
    snapshot = _snapshot_for(lake, engine)
    eng = open_engine(snapshot, engine) if isinstance(engine, str) else engine
    queries = {
        m.name: MetricQuery(
            m,
            since=_first_day(snapshot, m, since, grain),
            until=until,
            grain=grain,
            by=tuple(by),
            filters=dict(filters or {}),
            one_entity=mixed_entities(snapshot, m),
            params=dict(params or {}),
            exclude_weekends=exclude_weekends,
        )
        for m in entries
    }
    groups: dict[tuple[str, str | None], list[MetricQuery]] = {}
    for m in entries:
        if not m.unavailable_reason and batchable(queries[m.name]) and min_group_size <= 0:
            groups.setdefault((m.source, m.breakdown), []).append(queries[m.name])
    results: dict[str, MetricResult] = {}
    for group in groups.values():
        if len(group) < 2:
            continue
        table = eng.execute(build_batch_expression(group))
        keys = group[0].keys
        for i, q in enumerate(group):
            prefix = f"m{i}__"
            own = [c for c in table.column_names if c.startswith(prefix)]
            rows = table.select([*keys, *own]).rename_columns(
                [*keys, *(c[len(prefix) :] for c in own)]
            )
            results[q.metric.name] = _envelope(q, rows, eng)
    for m in entries:
        if m.name not in results:
            results[m.name] = compute_metric(
                m,
                snapshot,
                since=since,
                until=until,
                grain=grain,
                by=by,
                filters=filters,
                engine=eng,
                min_group_size=min_group_size,
                params=params,
                exclude_weekends=exclude_weekends,
            )
    return {m.name: results[m.name] for m in entries}


def _envelope(query: MetricQuery, rows: pa.Table, eng: QueryEngine) -> MetricResult:
    snapshot = eng.snapshot
    gaps = find_gaps(snapshot, query.metric.source, since=query.since, until=query.until)
    if query.exclude_weekends:
        gaps = [d for d in gaps if d.weekday() < 5]
    empty = rows.num_rows == 0 or rows.column("value").null_count == rows.num_rows
    rows = _with_gap_rows(rows, gaps, query, snapshot)
    return MetricResult(
        query.metric,
        rows,
        gaps=tuple(gaps),
        partial_periods=partial_periods(rows, query, snapshot, sparse=SPARSE_TABLES),
        engine=eng.name,
        status="empty" if empty else "ok",
        reason=_why_empty(snapshot, query, rows) if empty else None,
        **_meta(query, snapshot),
    )


def _why_empty(snapshot: LakeSnapshot, query: MetricQuery, rows: pa.Table) -> str:
    if rows.num_rows and "too_few_users" in rows.column("null_reason").to_pylist():
        return (
            f"every slice has fewer than {query.min_group_size} developers, so its value is "
            "withheld; pass --min-group-size 0 (or a smaller size) to show them"
        )
    return explain_empty(snapshot, query)


def developer_sums(
    con: duckdb.DuckDBPyConnection | QueryEngine,
    metric_name: str,
    *,
    start: datetime | date,
    end: datetime | date,
    filters: Mapping[str, Sequence[str]] | None = None,
) -> duckdb.DuckDBPyRelation | pa.Table:
    """Per-developer numerator and denominator of a ratio or mean metric over [start, end).

    The window is half-open and UTC: event tables keep rows whose timestamp is in it; daily
    tables keep the days whose first instant is in it. Dates mean midnight UTC. The metric's
    value for any set of developers is ``Σ numerator / Σ denominator`` over their rows, which is
    what the delta method and CUPED need. Developers with no rows in the window are absent.

    Args:
        con: a DuckDB connection with the lake's views (``Lake.connect()``), or an open
            :class:`QueryEngine` (DuckDB or Spark).
        metric_name: a ratio or mean metric of the catalogue.
        start: window start (inclusive).
        end: window end (exclusive).
        filters: dimension -> accepted values, as in :func:`compute_metric`.

    Returns:
        For a DuckDB connection, a lazy ``DuckDBPyRelation``; for an engine, a ``pyarrow.Table``.
        Columns: ``developer_id`` (string), ``numerator`` and ``denominator`` (double).

    Raises:
        MetricError: unknown metric, not a ratio or mean, or a bad filter.
    """
    m = get_metric(metric_name)
    if m.unavailable_reason:
        raise MetricError(f"metric {m.name!r} is unavailable: {m.unavailable_reason}")
    query = MetricQuery(m, filters=dict(filters or {}), start=_utc(start), end=_utc(end))
    expr = developer_expression(query).select("developer_id", "numerator", "denominator")
    if isinstance(con, duckdb.DuckDBPyConnection):
        return con.sql(str(ibis.to_sql(expr, dialect="duckdb")))
    return con.execute(expr)


def _utc(value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _first_day(
    snapshot: LakeSnapshot, metric: Metric, since: date | None, grain: str
) -> date | None:
    """``since``, or for grain ``all`` the first day of the metric's source in the snapshot."""
    if since is not None or grain != "all":
        return since
    days = snapshot.days(metric.source) if metric.source in snapshot.tables else set()
    return min(days, default=date(1970, 1, 1))


def _engine_name(engine: QueryEngine | str) -> str:
    return engine if isinstance(engine, str) else engine.name


def find_gaps(
    snapshot: LakeSnapshot, table: str, *, since: date | None = None, until: date | None = None
) -> list[date]:
    """UTC days in [since, until] (default: :func:`data_range`) with no file.

    Tables without day partitions (or not declared yet) have no gaps, and neither do sparse
    tables such as ``surveys`` (answered every other week), where an empty day is normal.
    """
    spec = TABLES.get(table)
    if spec is None or spec.partitioning != "day" or table in SPARSE_TABLES:
        return []
    present = snapshot.days(table)
    if not present and (since is None or until is None):
        return []
    if since is None or until is None:
        lo, hi = data_range(snapshot, table, sparse=SPARSE_TABLES)
        since, until = since or lo, until or hi
    first, last = since, until
    return [
        first + timedelta(days=i)
        for i in range((last - first).days + 1)
        if first + timedelta(days=i) not in present
    ]


def _period_start(day: date, grain: str, since: date | None = None) -> date:
    if grain == "all":
        return since or day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def _with_gap_rows(
    rows: pa.Table, gaps: list[date], query: MetricQuery, snapshot: LakeSnapshot
) -> pa.Table:
    """Add a ``missing_day`` row for every period whose days are all gaps; sort by period."""
    if not gaps:
        return rows
    present = snapshot.days(query.metric.source)
    gap_periods = {_period_start(d, query.grain, query.since) for d in gaps}
    covered = {_period_start(d, query.grain, query.since) for d in present}
    lo, hi = query.since or min(gaps), query.until or max(gaps)
    covered = {p for p in covered if _period_start(lo, query.grain, query.since) <= p <= hi}
    missing = sorted(gap_periods - covered)
    if not missing:
        return rows
    extra = {
        name: pa.nulls(len(missing), rows.schema.field(name).type) for name in rows.column_names
    }
    extra["period"] = pa.array(missing, rows.schema.field("period").type)
    extra["null_reason"] = pa.array(["missing_day"] * len(missing), pa.string())
    combined = pa.concat_tables([rows, pa.table(extra, schema=rows.schema)])
    return combined.sort_by([("period", "ascending")])


def _empty_rows(query: MetricQuery) -> pa.Table:
    cols: dict[str, pa.Array] = {"period": pa.array([], pa.date32())}
    for dim in query.by:
        cols[dim] = pa.array([], pa.string())
    cols["value"] = pa.array([], pa.float64())
    cols["null_reason"] = pa.array([], pa.string())
    return pa.table(cols)


def developer_sums_many(
    con: duckdb.DuckDBPyConnection,
    metric_names: Sequence[str],
    *,
    windows: Sequence[tuple[datetime, datetime]],
) -> tuple[duckdb.DuckDBPyRelation, dict[str, int]] | None:
    """Per-developer sums of several ratio metrics over several windows, in one grouped scan.

    The same numbers as calling :func:`developer_sums` for every metric and window, read in one
    pass over the source: what an experiment report needs (every metric, pre-period and
    experiment period) costs one scan instead of one per metric and window.

    Only metrics that share one event source with a timestamp (e.g. ``suggestions``) and no
    metric-specific frame can share the scan; returns ``None`` when the names do not all qualify
    (the caller then asks :func:`developer_sums` one by one).

    Returns:
        A lazy relation with ``window`` (index into ``windows``), ``developer_id`` and, for the
        metric at position ``i`` of the returned mapping, ``numerator_i`` and ``denominator_i``;
        and the mapping metric name -> ``i``. A developer appears in a window only when they
        have rows in it, as with :func:`developer_sums`.
    """
    entries = [get_metric(n) for n in metric_names]
    sources = {m.source for m in entries}
    timestamp = TIMESTAMP_COLUMNS.get(next(iter(sources))) if len(sources) == 1 else None
    if (
        not entries
        or not windows
        or timestamp is None
        or any(
            m.unavailable_reason or m.frame is not None or not isinstance(m.measure, Ratio)
            for m in entries
        )
    ):
        return None
    bounds = [(_utc(s), _utc(e)) for s, e in windows]
    query = MetricQuery(entries[0], start=min(s for s, _ in bounds), end=max(e for _, e in bounds))
    t = frame_for(query)
    ts = t[timestamp]
    label = ibis.cases(*[((ts >= s) & (ts < e), i) for i, (s, e) in enumerate(bounds)])
    t = t.mutate(window=label).filter(lambda r: r.window.notnull())
    aggs: dict[str, Any] = {}
    for i, m in enumerate(entries):
        sums = aggregates(cast(Ratio, m.measure), t)
        aggs[f"numerator_{i}"] = sums["numerator"].fill_null(0)
        aggs[f"denominator_{i}"] = sums["denominator"].fill_null(0)
    expr = t.group_by(["window", "developer_id"]).aggregate(**aggs)
    return con.sql(str(ibis.to_sql(expr, dialect="duckdb"))), {
        m.name: i for i, m in enumerate(entries)
    }
