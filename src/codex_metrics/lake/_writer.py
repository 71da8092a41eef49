"""Writing a table: stream rows into Parquet files, then commit them to Delta in one step.

A :class:`TableWriter` appends rows for one (table, source, scope), day by day, to Parquet
files in the table's folder. Nothing is visible until :meth:`TableWriter.commit`, which
publishes every file and removes the rows they replace in one Delta commit
(:func:`codex_metrics.lake._commit.commit_writes`). An aborted or killed writer leaves only
files no commit names: readers never see them, and ``lake vacuum`` removes them once they are
older than its retention.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from codex_metrics.errors import SchemaMismatchError
from codex_metrics.lake._delta import DataFile, data_file_for, remove_untracked
from codex_metrics.lake._files import file_name
from codex_metrics.lake._locks import FileLock
from codex_metrics.lake.schema import SCHEMA_VERSION, TableSpec

if TYPE_CHECKING:
    from codex_metrics.lake._lake import Lake

__all__ = ["PendingWrite", "Replacement", "TableWriter", "WriteReport", "conform", "newest_wins"]

WriteMode = Literal["replace", "merge"]
ReplaceScope = Literal["days", "all"]


@dataclass(frozen=True)
class Replacement:
    """Which committed rows a write replaces: (source, scope) over some days.

    Attributes:
        source: rows of this source.
        scope: rows of this scope (``None``: any scope of the source).
        days: the partition days concerned (``None``: every day, and unpartitioned tables).
        keep_scopes: scopes never replaced (sibling partitions of one simulator run).
    """

    source: str
    scope: str | None
    days: frozenset[date | None] | None
    keep_scopes: frozenset[str] = frozenset()

    def matches(self, source: str, scope: str, day: date | None) -> bool:
        """Whether a row of (source, scope, day) is replaced."""
        return (
            source == self.source
            and (self.scope is None or scope == self.scope)
            and scope not in self.keep_scopes
            and (self.days is None or day in self.days)
        )

    def may_match_day(self, day: date | None) -> bool:
        """Whether any row of ``day`` can be replaced."""
        return self.days is None or day in self.days


@dataclass
class PendingWrite:
    """Files written for one (table, source, scope) and not yet committed.

    Picklable: a simulator worker process hands its pending writes to the parent, which
    commits the whole world.
    """

    table: str
    source: str
    scope: str
    mode: WriteMode
    files: list[DataFile] = field(default_factory=list)
    days: set[date | None] = field(default_factory=set)
    rows: int = 0


@dataclass
class WriteReport:
    """What a commit did to one table."""

    table: str
    version: int | None = None
    rows_written: int = 0
    rows_removed: int = 0
    files_published: int = 0
    files_removed: int = 0
    days: list[date] = field(default_factory=list)


def _is_string_like(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def conform(spec: TableSpec, data: pa.Table) -> pa.Table:
    """Check ``data`` against the table's columns and cast it to the declared types.

    Missing nullable columns are filled with nulls (schema changes are additive, so an older
    writer stays valid); dictionary-encoded strings stay dictionary-encoded (they store as plain
    strings).

    Raises:
        SchemaMismatchError: naming the missing, unexpected or uncastable column.
    """
    names = set(data.column_names)
    declared = {c.name: c for c in spec.columns}
    missing = [n for n, c in declared.items() if n not in names and not c.nullable]
    if missing:
        raise SchemaMismatchError(spec.name, f"missing column(s) {', '.join(missing)}")
    extra = [n for n in data.column_names if n not in declared]
    if extra:
        raise SchemaMismatchError(
            spec.name, f"unexpected column(s) {', '.join(extra)}; declared: {', '.join(declared)}"
        )
    arrays: list[pa.ChunkedArray | pa.Array] = []
    fields: list[pa.Field] = []
    for col in spec.columns:
        target = col.type
        if col.name not in names:
            arrays.append(pa.nulls(data.num_rows, target))
            fields.append(pa.field(col.name, target, nullable=True))
            continue
        arr = data.column(col.name)
        if pa.types.is_dictionary(arr.type) and _is_string_like(target):
            target = arr.type
        elif arr.type != target:
            try:
                arr = arr.cast(target)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise SchemaMismatchError(
                    spec.name, f"column {col.name}: cannot store {arr.type} as {col.type} ({exc})"
                ) from None
        if not col.nullable and arr.null_count:
            raise SchemaMismatchError(
                spec.name, f"column {col.name}: {arr.null_count} null value(s) in a required column"
            )
        arrays.append(arr)
        fields.append(pa.field(col.name, target, nullable=col.nullable))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def constant_column(value: str | None, n: int) -> pa.Array:
    """A cheap constant string column (dictionary-encoded, one entry)."""
    if value is None:
        return pa.nulls(n, pa.string())
    return pa.DictionaryArray.from_arrays(np.zeros(n, dtype=np.int8), pa.array([value]))


def newest_wins(spec: TableSpec, data: pa.Table) -> pa.Table:
    """Keep one row per key: the last by ``spec.newest_by`` (later input rows win ties)."""
    con = duckdb.connect()
    con.register("rows_in", data)
    key = ", ".join(f'"{k}"' for k in spec.key)
    order = ", ".join(f'"{c}" DESC NULLS LAST' for c in spec.newest_by)
    sql = (
        f"SELECT * EXCLUDE (__pos, __rank) FROM ("
        f"  SELECT *, row_number() OVER (PARTITION BY {key} ORDER BY {order}, __pos DESC) AS __rank"
        f"  FROM (SELECT *, row_number() OVER () AS __pos FROM rows_in)"
        f") WHERE __rank = 1 ORDER BY __pos"
    )
    result = con.sql(sql).to_arrow_table()
    con.close()
    return result.cast(data.schema) if result.schema != data.schema else result


def write_file(
    table_dir: Path,
    spec: TableSpec,
    data: pa.Table,
    *,
    day: date | None,
    source: str | None,
    scope: str | None,
) -> DataFile:
    """Write ``data`` (already conformed) as one new, uncommitted data file of the table."""
    folder = table_dir if day is None else table_dir / f"day={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name(source or "mixed", scope or "mixed")
    pq.write_table(
        data.replace_schema_metadata(file_metadata(spec)),
        path,
        compression="zstd",
        compression_level=1,
        row_group_size=1 << 20,
    )
    return data_file_for(table_dir, path, day=day, source=source, scope=scope)


def file_metadata(spec: TableSpec) -> dict[bytes, bytes]:
    """Key-value metadata every data file carries."""
    return {
        b"codex_metrics.schema_version": str(SCHEMA_VERSION).encode(),
        b"codex_metrics.table": spec.name.encode(),
    }


class TableWriter:
    """Stream rows of one table for one (source, scope) into data files, then commit them.

    Args:
        lake: the lake.
        spec: the table.
        source: the ``source`` of every row (``simulator``, ``copilot-report``, ...).
        scope: what was read (an org, a repository, a simulator world).
        run_id: stored in ``run_id`` (simulated rows).
        mode: ``replace`` drops the (source, scope) rows of the days written; ``merge`` merges
            new rows with them by key, newest wins.
        replace_scope: ``days`` touches only the days written; ``all`` also drops the
            (source, scope) rows of days not written.
        ingested_at: the ``ingested_at`` of every row (default: now).
    """

    def __init__(
        self,
        lake: Lake,
        spec: TableSpec,
        *,
        source: str,
        scope: str,
        run_id: str | None = None,
        mode: WriteMode = "replace",
        replace_scope: ReplaceScope = "days",
        ingested_at: datetime | None = None,
    ) -> None:
        self.lake = lake
        self.spec = spec
        self.source = source
        self.scope = scope
        self.run_id = run_id
        self.mode = mode
        self.replace_scope = replace_scope
        self.ingested_at = ingested_at or datetime.now(UTC)
        self.table_dir = lake.table_dir(spec.name)
        self._open: dict[date | None, tuple[Path, pq.ParquetWriter]] = {}
        self.pending = PendingWrite(spec.name, source, scope, mode)
        self._token = uuid.uuid4().hex[:8]
        # Shared with other writers, exclusive for vacuum: our uncommitted files are safe.
        self._writing = FileLock(lake.root, f"{spec.name}.writing", exclusive=False).acquire(
            what=f"writing {spec.name} (lake vacuum is running)"
        )

    @property
    def rows(self) -> int:
        """Rows written so far."""
        return self.pending.rows

    # -- writing ---------------------------------------------------------------------------
    def _with_bookkeeping(self, data: pa.Table) -> pa.Table:
        n = data.num_rows
        ts = pa.array(np.full(n, int(self.ingested_at.timestamp() * 1e6), dtype=np.int64))
        extra = {
            "source": constant_column(self.source, n),
            "scope": constant_column(self.scope, n),
            "ingested_at": ts.cast(pa.timestamp("us", tz="UTC")),
            "run_id": constant_column(self.run_id, n),
        }
        for name, arr in extra.items():
            if name not in data.column_names:
                data = data.append_column(name, arr)
        return data

    def write(self, data: pa.Table, *, day: date | None = None) -> None:
        """Append rows for ``day`` (``None`` for whole tables) to the open file of that day."""
        if (day is None) != (self.spec.partitioning is None):
            need = "a day" if self.spec.partitioning else "no day"
            raise SchemaMismatchError(self.spec.name, f"write needs {need} for this table")
        table = conform(self.spec, self._with_bookkeeping(data))
        if table.num_rows == 0:
            return  # no empty files: a file with no row groups carries no statistics
        if day not in self._open:
            folder = self.table_dir if day is None else self.table_dir / f"day={day.isoformat()}"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / file_name(self.source, self.scope)
            schema = table.schema.with_metadata(file_metadata(self.spec))
            writer = pq.ParquetWriter(path, schema, compression="zstd", compression_level=1)
            self._open[day] = (path, writer)
            self.pending.days.add(day)
        path, writer = self._open[day]
        if table.schema != writer.schema.remove_metadata():
            table = table.cast(writer.schema.remove_metadata())
        writer.write_table(table, row_group_size=1 << 20)
        self.pending.rows += table.num_rows

    def close_day(self, day: date | None) -> None:
        """Finish the file of ``day`` (frees its buffers; more writes open a new file)."""
        opened = self._open.pop(day, None)
        if opened is not None:
            path, writer = opened
            writer.close()
            footer = getattr(getattr(writer, "writer", None), "metadata", None)
            described = data_file_for(
                self.table_dir,
                path,
                day=day,
                source=self.source,
                scope=self.scope,
                metadata=footer if footer is not None and footer.num_columns else None,
            )
            if described.rows == 0:
                path.unlink(missing_ok=True)
            else:
                self.pending.files.append(described)

    def write_by_day(self, data: pa.Table, day_column: pa.Array | pa.ChunkedArray) -> None:
        """Split ``data`` by the dates in ``day_column`` and write each day."""
        days = pc.unique(day_column).to_pylist()
        for day in sorted(d for d in days if d is not None):
            mask = pc.equal(day_column, pa.scalar(day, pa.date32()))
            self.write(data.filter(mask), day=day)
            self.close_day(day)

    def replacement(self) -> Replacement:
        """The rows this write replaces when committed on its own."""
        days = None if self.replace_scope == "all" else frozenset(self.pending.days)
        return Replacement(self.source, self.scope, days)

    # -- finishing -------------------------------------------------------------------------
    def finish(self) -> PendingWrite:
        """Close every file and return the pending write (for a commit elsewhere)."""
        for day in list(self._open):
            self.close_day(day)
        return self.pending

    def commit(self, *, info: dict[str, object] | None = None) -> WriteReport:
        """Publish every file and remove the rows they replace, in one Delta commit."""
        from codex_metrics.lake._commit import commit_writes

        try:
            return commit_writes(
                self.lake, self.spec, [self.finish()], self.replacement(), info=info
            )
        finally:
            self.release()

    def abort(self) -> None:
        """Drop everything written; the table is unchanged."""
        for _, writer in self._open.values():
            writer.close()
        paths = [p.relative_to(self.table_dir).as_posix() for p, _ in self._open.values()]
        self._open.clear()
        remove_untracked(self.table_dir, [*paths, *(f.path for f in self.pending.files)])
        self.release()

    def release(self) -> None:
        """Let go of the writing lock (files written stay until committed or vacuumed)."""
        self._writing.release()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()
