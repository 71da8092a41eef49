"""Rows of ``alert_events``: every alert fired and every delivery attempt."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from codex_metrics.lake import table_spec

if TYPE_CHECKING:
    from codex_metrics.alerts.detect import Alert
    from codex_metrics.lake import Lake, LakeSnapshot

__all__ = ["ALERTS_SOURCE", "alert_rows", "recorded_events", "write_events"]

#: ``source`` of the rows alerts write; their ``scope`` is ``alerts``.
ALERTS_SOURCE = "alerts"
_FIELDS = (
    "alert_id", "event", "at", "alert_kind", "rule", "target_kind", "metric", "slice",
    "observed", "expected", "lower", "upper", "unit", "direction", "change_start_day",
    "contributors", "annotation_id", "channel", "channel_kind", "attempt", "http_status",
    "smtp_code", "error", "message",
)  # fmt: skip


def alert_rows(alerts: Sequence[Alert], at: datetime) -> list[dict[str, Any]]:
    """One ``fired`` row per alert."""
    return [
        {
            "alert_id": a.alert_id,
            "event": "fired",
            "at": at,
            "alert_kind": "alert",
            "rule": a.rule,
            "target_kind": a.target_kind,
            "metric": a.metric,
            "slice": a.slice,
            "observed": a.observed,
            "expected": a.expected,
            "lower": a.lower,
            "upper": a.upper,
            "unit": a.unit,
            "direction": a.direction,
            "change_start_day": a.change_start_day,
            "contributors": json.dumps(list(a.contributors), default=str),
            "annotation_id": a.annotation_id,
            "channel": "",
            "attempt": 0,
            "message": a.message,
        }
        for a in alerts
    ]


def write_events(lake: Lake, rows: Sequence[dict[str, Any]]) -> None:
    """Append rows (merged by key) in one commit, partitioned by the UTC day of ``at``."""
    if not rows:
        return
    spec = table_spec("alert_events")
    fields = [pa.field(c.name, c.type) for c in spec.columns if c.name in _FIELDS]
    schema = pa.schema([*fields, pa.field("day", pa.date32())])
    full = [{**{f: r.get(f) for f in _FIELDS}, "day": r["at"].date()} for r in rows]
    table = pa.Table.from_pylist(full, schema=schema)
    lake.write_table("alert_events", table, source=ALERTS_SOURCE, scope="alerts", mode="merge")


def recorded_events(snapshot: LakeSnapshot) -> list[dict[str, Any]]:
    """Every row of ``alert_events``, oldest first (empty when none was written)."""
    con = snapshot.connect()
    try:
        columns = ", ".join(f'"{f}"' for f in _FIELDS)
        cur = con.execute(f'SELECT {columns} FROM alert_events ORDER BY "at", attempt')
    except Exception as exc:  # the table has no commit yet
        if "alert_events" in str(exc):
            return []
        raise
    return [dict(zip(_FIELDS, r, strict=True)) for r in cur.fetchall()]
