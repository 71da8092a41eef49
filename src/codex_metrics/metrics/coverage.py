"""What the data covers: the days a table should have, partial periods, report entities.

Gaps and partial periods need the span a table *should* cover when no ``--since``/``--until``
is given: its own days, widened by the days its sources declared (``source_runs``: a Copilot
report's ``report_start_day`` .. ``report_end_day``) and, for a simulated world, by the days of
the world's other tables. So a report missing its first or last day shows a gap there, and a
week or month the data covers only in part is flagged.
"""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow as pa

from codex_metrics.lake import SIMULATOR_SOURCE, LakeSnapshot
from codex_metrics.lake.tables import TABLES
from codex_metrics.metrics.catalogue import Metric
from codex_metrics.metrics.query import ENTITY_TABLES, MetricQuery

__all__ = ["data_range", "mixed_entities", "partial_periods"]


def mixed_entities(snapshot: LakeSnapshot, metric: Metric) -> bool:
    """Whether the metric reads Copilot rows of an enterprise report (one entity rule)."""
    return any(
        (f.scope or "").startswith("enterprise/")
        for t in metric.tables
        if t in ENTITY_TABLES and t in snapshot.tables
        for f in snapshot.selected(t)
    )


def _declared_coverage(snapshot: LakeSnapshot, table: str) -> list[date]:
    """First and last days the selected sources' runs said they covered for ``table``.

    Copilot reports declare their days (``report_start_day`` .. ``report_end_day``); the ingest
    records them in ``source_runs``, so a missing first or last day is still a gap.
    """
    if "source_runs" not in snapshot.tables:
        return []
    uris = snapshot.uris("source_runs")
    if not uris:
        return []
    import pyarrow.parquet as pq

    cols = ["source", "status", "tables", "data_first_day", "data_last_day"]
    runs = pa.concat_tables(
        [pq.read_table(u, columns=cols) for u in uris], promote_options="permissive"
    )
    days = []
    for r in runs.to_pylist():
        if (
            r["status"] == "ok"
            and table in (r["tables"] or [])
            and snapshot.sources.includes(r["source"])
        ):
            days += [d for d in (r["data_first_day"], r["data_last_day"]) if d is not None]
    return days


def data_range(
    snapshot: LakeSnapshot, table: str, *, sparse: frozenset[str] = frozenset()
) -> tuple[date, date]:
    """The days ``table`` should cover when no window is given.

    The span of its own days, widened by the days the sources declared (``source_runs``) and,
    for a simulated world, by the days of the world's other day tables (not the ``sparse``
    ones, where an empty day is normal): a table missing the first or last day of the data
    around it has a gap there.
    """
    days = set(snapshot.days(table)) | set(_declared_coverage(snapshot, table))
    if snapshot.sources.includes(SIMULATOR_SOURCE):
        for name, spec in TABLES.items():
            if spec.partitioning != "day" or name in sparse or not spec.selects_source:
                continue
            if name in snapshot.tables and spec.filled_by and "simulate" in spec.filled_by[0]:
                found = [
                    f.day for f in snapshot.selected(name)
                    if f.source == SIMULATOR_SOURCE and f.day is not None
                ]  # fmt: skip
                days |= {min(found), max(found)} if found else set()
    return min(days), max(days)


def partial_periods(
    rows: pa.Table,
    query: MetricQuery,
    snapshot: LakeSnapshot,
    *,
    sparse: frozenset[str] = frozenset(),
) -> tuple[date, ...]:
    """Weeks and months of ``rows`` that the data (or --since/--until) covers only in part."""
    if query.grain not in ("week", "month") or rows.num_rows == 0:
        return ()
    source = query.metric.source
    spec = TABLES.get(source)
    if spec is None or spec.partitioning != "day" or not snapshot.days(source):
        return ()
    lo, hi = data_range(snapshot, source, sparse=sparse)
    lo, hi = query.since or lo, query.until or hi
    out = set()
    for start in rows.column("period").to_pylist():
        if start is None:
            continue
        if query.grain == "week":
            end = start + timedelta(days=6)
        else:
            nxt = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
            end = nxt - timedelta(days=1)
        if start < lo or end > hi:
            out.add(start)
    return tuple(sorted(out))
