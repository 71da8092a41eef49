"""The result envelope of DESIGN.md: rows with a per-row ``null_reason``, gaps and metadata.

``null_reason`` codes are stable (the dashboard explains them):

* ``zero_denominator``: a ratio whose denominator is 0 in that row (e.g. no suggestion shown);
* ``no_values``: a mean or percentile over no values;
* ``missing_day``: the source table has no data for that period (a gap; never interpolated);
* ``too_few_users``: a slice of real data with fewer developers than the minimum group size;
* ``partial_window``: a trailing window (WAU, MAU, 7-day) reaching before the data's first day.

A metric whose source does not exist yet has ``status="unavailable"`` and a ``reason``; an
answer without a single value has ``status="empty"`` and a ``reason`` saying why and which
command fills the source.
CSV carries ``null_reason`` as a column; JSON carries the whole envelope.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

import pyarrow as pa

from codex_metrics.metrics.catalogue import Metric, metric_definition

__all__ = ["NULL_REASONS", "MetricResult"]

NULL_REASONS = {
    "zero_denominator": "the denominator is 0 for this row",
    "no_values": "no values to average or rank in this row",
    "missing_day": "the source has no data for this period (a gap in the lake)",
    "too_few_users": "fewer developers than the minimum group size (default 5) are in this "
    "slice of real data; the value is withheld",
    "partial_window": "the trailing window reaches before the first day of data, so the "
    "value would undercount (pass --since later, or ingest earlier days)",
}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class MetricResult:
    """One metric's answer to one query.

    Attributes:
        metric: the catalogue entry.
        rows: ``period``, the ``--by`` dimensions (and extra key columns such as ``cohort``),
            ``value``, the supporting columns (``numerator``/``denominator`` for ratios, ``n``
            for percentiles) and ``null_reason``.
        gaps: UTC days inside the window with no data in the metric's source table.
        partial_periods: weeks and months only partly covered by the data or the window
            (their values cover fewer days than the period has).
        query: the request (since, until, grain, by, filters).
        engine: duckdb or spark.
        lake: the lake's path.
        lake_snapshot: the snapshot read: table -> Delta version, the simulated world's pins,
            the sources whose rows were read, the source selection, and a short hash.
        generated_at: when the result was computed (UTC).
        status: ok; empty when no row has a value; unavailable when the source does not exist.
        reason: why it is unavailable.
    """

    metric: Metric
    rows: pa.Table
    gaps: tuple[date, ...] = ()
    partial_periods: tuple[date, ...] = ()
    query: dict[str, Any] = field(default_factory=dict)
    engine: str = "duckdb"
    lake: str = ""
    lake_snapshot: dict[str, Any] = field(default_factory=dict)
    generated_at: datetime | None = None
    status: Literal["ok", "empty", "unavailable"] = "ok"
    reason: str | None = None

    @property
    def columns(self) -> list[str]:
        """Column names of the rows."""
        return list(self.rows.column_names)

    def records(self) -> list[dict[str, Any]]:
        """Rows as dictionaries of plain JSON-able values."""
        return [{k: _plain(v) for k, v in row.items()} for row in self.rows.to_pylist()]

    def to_dict(self) -> dict[str, Any]:
        """The whole envelope as plain data."""
        return {
            "metric": metric_definition(self.metric),
            "status": self.status,
            "reason": self.reason,
            "query": {k: _plain(v) for k, v in self.query.items()},
            "rows": self.records(),
            "gaps": [d.isoformat() for d in self.gaps],
            "partial_periods": [d.isoformat() for d in self.partial_periods],
            "metadata": {
                "engine": self.engine,
                "lake": self.lake,
                "lake_snapshot": self.lake_snapshot,
                "sources": self.lake_snapshot.get("sources", []),
                "generated_at": self.generated_at.isoformat() if self.generated_at else None,
                "null_reasons": NULL_REASONS,
            },
        }

    def to_json(self) -> str:
        """The envelope as JSON text."""
        return json.dumps(self.to_dict(), indent=2)

    def to_csv(self) -> str:
        """The rows as CSV, ``null_reason`` included as a column."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(self.columns)
        for rec in self.records():
            writer.writerow(["" if rec[c] is None else rec[c] for c in self.columns])
        return buf.getvalue()

    def value_of(self, **keys: Any) -> Any:
        """The ``value`` of the single row matching ``keys`` (e.g. ``period=date(...)``).

        Raises:
            KeyError: no row or several rows match.
        """
        hits = [r for r in self.rows.to_pylist() if all(r.get(k) == v for k, v in keys.items())]
        if len(hits) != 1:
            raise KeyError(f"{len(hits)} rows match {keys}")
        return hits[0]["value"]
