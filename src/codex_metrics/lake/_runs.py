"""Recording runs of sources in ``source_runs``: one row when a run starts, one when it ends.

Every ingest and collect run (and anything else that brings data in) wraps its work in
:func:`source_run`; the dashboard's freshness page and ``lake info`` read the rows ("last
successful update", "last error", rows, requests and rate limit left). A run killed half way
leaves its ``running`` row, which tells exactly that.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa

if TYPE_CHECKING:
    from codex_metrics.lake._lake import Lake
    from codex_metrics.lake._snapshot import LakeSnapshot

__all__ = ["RunRecord", "source_freshness", "source_run"]

RunKind = Literal["ingest", "collect", "simulate"]


def _tool_version() -> str | None:
    try:
        return version("codex-metrics")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return None


@dataclass
class RunRecord:
    """What a run did, filled in by the run as it goes (see ``source_runs`` in schema.md)."""

    source: str
    scope: str
    run_kind: RunKind
    command: str
    source_run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    invocation_id: str | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    status: Literal["ok", "error", "partial", "running"] = "running"
    rows_written: int = 0
    rows_rejected: int | None = None
    tables: set[str] = field(default_factory=set)
    inputs: list[str] = field(default_factory=list)
    data_first_day: date | None = None
    data_last_day: date | None = None
    requests_used: int | None = None
    requests_not_modified: int | None = None
    rate_limit_remaining: int | None = None
    rate_limit_resource: str | None = None
    rate_limit_reset_at: datetime | None = None
    error: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    partial: bool = False

    def wrote(self, table: str, rows: int, days: list[date] | None = None) -> None:
        """Count rows committed to ``table`` (and widen the day range)."""
        self.tables.add(table)
        self.rows_written += rows
        for day in days or []:
            self.data_first_day = min(self.data_first_day or day, day)
            self.data_last_day = max(self.data_last_day or day, day)

    def row(self) -> dict[str, Any]:
        """The ``source_runs`` row (bookkeeping columns are the writer's)."""
        return {
            "source_run_id": self.source_run_id,
            "invocation_id": self.invocation_id,
            "run_kind": self.run_kind,
            "command": self.command,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "status": self.status,
            "rows_written": self.rows_written,
            "rows_rejected": self.rows_rejected,
            "tables": sorted(self.tables),
            "inputs": list(self.inputs),
            "data_first_day": self.data_first_day,
            "data_last_day": self.data_last_day,
            "requests_used": self.requests_used,
            "requests_not_modified": self.requests_not_modified,
            "rate_limit_remaining": self.rate_limit_remaining,
            "rate_limit_resource": self.rate_limit_resource,
            "rate_limit_reset_at": self.rate_limit_reset_at,
            "error": self.error,
            "parameters": json.dumps(self.parameters, sort_keys=True, default=str),
            "tool_version": _tool_version(),
            "day": self.started_at.date(),
        }


def _write(lake: Lake, record: RunRecord) -> None:
    from codex_metrics.lake.schema import BOOKKEEPING_COLUMNS
    from codex_metrics.lake.tables import TABLES

    spec = TABLES["source_runs"]
    fields = [pa.field(c.name, c.type) for c in spec.columns if c.name not in BOOKKEEPING_COLUMNS]
    schema = pa.schema(fields).append(pa.field("day", pa.date32()))
    data = pa.Table.from_pylist([record.row()], schema=schema)
    lake.write_table("source_runs", data, source=record.source, scope=record.scope, mode="merge")


@contextmanager
def source_run(
    lake: Lake,
    *,
    source: str,
    scope: str,
    run_kind: RunKind,
    command: str,
    parameters: dict[str, Any] | None = None,
    invocation_id: str | None = None,
) -> Iterator[RunRecord]:
    """Record a run: a ``running`` row now, the outcome when the block ends.

    The block fills the record (``record.wrote(...)``, request counts, ``record.partial``). An
    exception marks the run ``error`` with its one-line message and is re-raised.
    """
    record = RunRecord(
        source,
        scope,
        run_kind,
        command,
        invocation_id=invocation_id,
        parameters=dict(parameters or {}),
    )
    _write(lake, record)
    try:
        yield record
    except BaseException as exc:
        record.status = "error"
        record.error = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:500]
        record.finished_at = datetime.now(UTC)
        _write(lake, record)
        raise
    record.status = "partial" if record.partial else "ok"
    record.finished_at = datetime.now(UTC)
    _write(lake, record)


def source_freshness(snapshot: LakeSnapshot) -> list[dict[str, Any]]:
    """Per (source, scope): last successful run, last error, rows of the last success.

    What ``lake info`` and the dashboard's freshness page show; empty before any ingest or
    collect run.
    """
    if not snapshot.tables["source_runs"].files:
        return []
    con = snapshot.connect()
    rows = con.execute(
        """
        SELECT source, scope,
               max(finished_at) FILTER (WHERE status IN ('ok', 'partial')) AS last_success,
               arg_max(rows_written, finished_at) FILTER (WHERE status IN ('ok', 'partial'))
                   AS rows_last_success,
               max(started_at) FILTER (WHERE status = 'error') AS last_error_at,
               arg_max(error, started_at) FILTER (WHERE status = 'error') AS last_error,
               count(*) FILTER (WHERE status = 'running') AS running,
               min(rate_limit_remaining) FILTER (WHERE finished_at IS NOT NULL)
                   AS rate_limit_remaining
        FROM source_runs GROUP BY source, scope ORDER BY source, scope
        """
    ).fetchall()
    names = ["source", "scope", "last_success", "rows_last_success", "last_error_at",
             "last_error", "running", "rate_limit_remaining"]  # fmt: skip
    return [dict(zip(names, r, strict=True)) for r in rows]
