"""Staging a file's rows: uncommitted Parquet files per (table, scope), day by day.

Rows arrive in chunks holding many days; each chunk is split by day (one take, then zero-copy
slices) and buffered until a day has enough rows for a good row group, or the stage holds too
many rows over all days: then the buffers are written. Memory stays flat in the size of the
file, and nothing is visible until the pipeline commits the stage's pending write.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pyarrow as pa

from codex_metrics.lake import Lake, TableWriter, table_spec

__all__ = ["Stage"]

#: Rows buffered per (table, scope, day) before they are written as one row group, and per
#: (table, scope) over all days.
FLUSH_ROWS = 65_536
STAGE_ROWS = 262_144


def _day(epoch_day: int) -> date:
    return date(1970, 1, 1) + timedelta(days=epoch_day)


class Stage:
    """Rows of one (table, scope) staged in uncommitted files, a few row groups per day."""

    def __init__(self, lake: Lake, table: str, source: str, scope: str, ingested_at: datetime):
        self.writer = TableWriter(
            lake, table_spec(table), source=source, scope=scope, ingested_at=ingested_at
        )
        self.table, self.scope = table, scope
        self.buffers: dict[date | None, list[pa.Table]] = {}
        self.counts: dict[date | None, int] = {}

    def add(self, data: pa.Table) -> None:
        """Buffer rows (with a ``day`` column for day tables)."""
        if "day" not in data.column_names:
            self._buffer(None, data)
            return
        codes = data.column("day").cast(pa.int32()).to_numpy()
        rest = data.drop_columns(["day"])
        if len(codes) and (codes == codes[0]).all():
            self._buffer(_day(int(codes[0])), rest)
            return
        order = np.argsort(codes, kind="stable")
        ordered = rest.take(pa.array(order))
        cuts = np.flatnonzero(np.diff(codes[order])) + 1
        for start, end in zip([0, *cuts], [*cuts, len(codes)], strict=True):
            self._buffer(_day(int(codes[order[start]])), ordered.slice(start, end - start))

    def _buffer(self, day: date | None, data: pa.Table) -> None:
        self.buffers.setdefault(day, []).append(data)
        self.counts[day] = self.counts.get(day, 0) + data.num_rows
        if self.counts[day] >= FLUSH_ROWS:
            self._flush(day)
        elif sum(self.counts.values()) >= STAGE_ROWS:
            for held in list(self.buffers):
                self._flush(held)

    def _flush(self, day: date | None) -> None:
        parts = self.buffers.pop(day, [])
        self.counts.pop(day, None)
        if parts:
            self.writer.write(pa.concat_tables(parts, promote_options="permissive"), day=day)

    def finish(self) -> None:
        """Write what is buffered and close the files (the pending write is complete)."""
        for day in list(self.buffers):
            self._flush(day)
        self.writer.finish()
