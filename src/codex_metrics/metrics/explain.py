"""Saying why: filter values checked against the lake, and the reason an answer is empty.

A misspelled filter value (``language=pyhton``) would otherwise return an empty table that looks
like a real zero. :func:`check_filter_values` compares every filter value with the values the
dimension takes in the snapshot and fails with the closest ones; :func:`explain_empty` tells an
empty answer's reason (no data at all, none in the window, nothing left after the filters) and
which command fills the table.
"""

from __future__ import annotations

import difflib
from datetime import date

from codex_metrics.errors import MetricError
from codex_metrics.lake import LakeSnapshot
from codex_metrics.lake.schema import USAGE_FEATURE_NAMES
from codex_metrics.lake.tables import TABLES
from codex_metrics.metrics.engines import QueryEngine
from codex_metrics.metrics.query import NATIVE_DIMENSIONS, MetricQuery, lake_table

__all__ = ["check_filter_values", "explain_empty", "known_values"]

#: Where a joined dimension's values live: (table, column).
_JOINED = {
    "team": ("team_members", "team"),
    "persona": ("developers", "persona"),
    "arm": ("assignments", "arm"),
    "experiment": ("assignments", "experiment_id"),
}


def _home(query: MetricQuery, dim: str) -> tuple[str, str] | None:
    if dim in _JOINED:
        return _JOINED[dim]
    native = NATIVE_DIMENSIONS.get(query.metric.source, {})
    if dim in native:
        return query.metric.source, native[dim]
    return None


def known_values(engine: QueryEngine, table: str, column: str) -> set[str]:
    """Distinct non-null values of ``table.column`` in the engine's snapshot."""
    t = lake_table(table)
    rows = engine.execute(t.select(value=t[column].cast("string")).distinct())
    return {v for v in rows.column("value").to_pylist() if v is not None}


def check_filter_values(engine: QueryEngine, query: MetricQuery) -> None:
    """Fail when a filter value never occurs in the lake (did-you-mean included).

    Raises:
        MetricError: naming the filter, the closest known values and the known ones.
    """
    for dim, values in query.filters.items():
        home = _home(query, dim)
        if home is None:
            continue
        table, column = home
        known = known_values(engine, table, column)
        if dim == "team":  # teams of the developers roster count too
            known |= known_values(engine, "developers", "team")
        if not known:
            continue  # an empty table: explain_empty says so, every value is unknown anyway
        if table == "usage_daily" and dim == "feature":
            reverse = {v: k for k, v in USAGE_FEATURE_NAMES.items()}
            known |= {reverse[v] for v in known if v in reverse}
        for value in values:
            if value in known:
                continue
            close = difflib.get_close_matches(value, sorted(known), n=2, cutoff=0.6)
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            listed = ", ".join(sorted(known)[:12]) + (", ..." if len(known) > 12 else "")
            raise MetricError(
                f"--filter {dim}={value}: no such {dim} in {table}{hint} Known values: {listed}"
            )


def explain_empty(snapshot: LakeSnapshot, query: MetricQuery) -> str:
    """Why ``query`` has no value to show, and which command fills its source."""
    table = query.metric.source
    spec = TABLES.get(table)
    fill = f"; fill it with `{spec.filled_by[0]}`" if spec is not None and spec.filled_by else ""
    selection = snapshot.sources.describe()
    files = snapshot.selected(table) if table in snapshot.tables else []
    if not files:
        return f"the {table} table has no rows of the selected sources ({selection}){fill}"
    days = sorted(snapshot.days(table))
    if days and (
        (query.since is not None and query.since > days[-1])
        or (query.until is not None and query.until < days[0])
    ):
        return (
            f"no {table} data between {_day(query.since)} and {_day(query.until)}; the table "
            f"has data from {days[0]} to {days[-1]}"
        )
    if query.filters:
        shown = ", ".join(f"{d}={'|'.join(v)}" for d, v in query.filters.items())
        return f"no rows of {table} match the filters {shown} in this window"
    return f"no rows of {table} in this window"


def _day(value: date | None) -> str:
    return value.isoformat() if value is not None else "the start"
