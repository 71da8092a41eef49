"""Writing a table: stage whole files, then publish them atomically by rename.

A :class:`TableWriter` collects rows for one (table, source, scope), day by day, into staging
files. :meth:`TableWriter.commit` renames them into place and only then removes the files they
replace; nothing is visible before ``commit`` and an aborted or crashed writer leaves only a
staging directory, which readers never look at and the next write or ``lake vacuum`` removes.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
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
from codex_metrics.lake._files import FileRef, day_dir, file_name, list_files, new_staging_dir, slug
from codex_metrics.telemetry.schema import SCHEMA_VERSION, TableSpec

if TYPE_CHECKING:
    from codex_metrics.lake._lake import Lake

WriteMode = Literal["replace", "merge"]
ReplaceScope = Literal["days", "all"]


@dataclass
class WriteReport:
    """What a commit did to one table."""

    table: str
    rows_written: int = 0
    files_published: int = 0
    files_removed: int = 0
    days: list[date] = field(default_factory=list)


def _is_string_like(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def conform(spec: TableSpec, data: pa.Table) -> pa.Table:
    """Check ``data`` against the table's columns and cast it to the declared types.

    Dictionary-encoded strings stay dictionary-encoded (they store as plain strings).

    Raises:
        SchemaMismatchError: naming the missing, unexpected or uncastable column.
    """
    names = set(data.column_names)
    declared = {c.name: c for c in spec.columns}
    missing = [n for n in declared if n not in names]
    if missing:
        raise SchemaMismatchError(spec.name, f"missing column(s) {', '.join(missing)}")
    extra = [n for n in data.column_names if n not in declared]
    if extra:
        raise SchemaMismatchError(
            spec.name, f"unexpected column(s) {', '.join(extra)}; declared: {', '.join(declared)}"
        )
    arrays: list[pa.ChunkedArray] = []
    fields: list[pa.Field] = []
    for col in spec.columns:
        arr = data.column(col.name)
        target = col.type
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


class TableWriter:
    """Stage rows of one table for one (source, scope), then publish them in one step.

    Args:
        lake: the lake.
        spec: the table.
        source: the ``source`` of every row (``simulator``, ``copilot-report``, ...).
        scope: what was read (an org, a repository, a simulator partition).
        run_id: stored in ``run_id`` (simulated rows).
        mode: ``replace`` drops the (source, scope) rows of the days written; ``merge`` merges
            new rows with them by key, newest wins.
        replace_scope: ``days`` touches only days written; ``all`` also drops the (source,
            scope) files of days not written (a whole new simulated world).
        also_replace: extra predicate selecting other published files this commit removes.
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
        also_replace: Callable[[FileRef], bool] | None = None,
    ) -> None:
        self.lake = lake
        self.spec = spec
        self.source = source
        self.scope = scope
        self.run_id = run_id
        self.mode = mode
        self.replace_scope = replace_scope
        self.also_replace = also_replace
        self.ingested_at = datetime.now(UTC)
        self._staging = new_staging_dir(lake.root)
        self._open: dict[date | None, tuple[Path, pq.ParquetWriter]] = {}
        self._staged: dict[date | None, list[Path]] = {}
        self._rows = 0

    # -- staging -------------------------------------------------------------------------
    def _with_bookkeeping(self, data: pa.Table) -> pa.Table:
        n = data.num_rows
        ts = pa.array(np.full(n, int(self.ingested_at.timestamp() * 1e6), dtype=np.int64))
        extra = {
            "source": constant_column(self.source, n),
            "ingested_at": ts.cast(pa.timestamp("us", tz="UTC")),
            "run_id": constant_column(self.run_id, n),
        }
        for name, arr in extra.items():
            if name not in data.column_names:
                data = data.append_column(name, arr)
        return data

    def _metadata(self) -> dict[bytes, bytes]:
        return {
            b"codex_metrics.schema_version": str(SCHEMA_VERSION).encode(),
            b"codex_metrics.table": self.spec.name.encode(),
            b"codex_metrics.source": self.source.encode(),
            b"codex_metrics.scope": self.scope.encode(),
            b"codex_metrics.ingested_at": self.ingested_at.isoformat().encode(),
        }

    def write(self, data: pa.Table, *, day: date | None = None) -> None:
        """Append rows for ``day`` (``None`` for whole tables) to the staging file of that day."""
        if (day is None) != (self.spec.partitioning is None):
            need = "a day" if self.spec.partitioning else "no day"
            raise SchemaMismatchError(self.spec.name, f"write needs {need} for this table")
        table = conform(self.spec, self._with_bookkeeping(data))
        if day not in self._open:
            path = self._staging / f"{len(self._staged)}-{file_name(self.source, self.scope)}"
            schema = table.schema.with_metadata(self._metadata())
            writer = pq.ParquetWriter(path, schema, compression="zstd", compression_level=1)
            self._open[day] = (path, writer)
            self._staged.setdefault(day, []).append(path)
        path, writer = self._open[day]
        if table.schema != writer.schema.remove_metadata():
            table = table.cast(writer.schema.remove_metadata())
        writer.write_table(table, row_group_size=1 << 20)
        self._rows += table.num_rows

    def close_day(self, day: date | None) -> None:
        """Finish the staging file of ``day`` (frees its buffers; more writes open a new one)."""
        opened = self._open.pop(day, None)
        if opened is not None:
            opened[1].close()

    def write_by_day(self, data: pa.Table, day_column: pa.Array) -> None:
        """Split ``data`` by the dates in ``day_column`` and write each day."""
        days = pc.unique(day_column).to_pylist()
        for day in sorted(d for d in days if d is not None):
            mask = pc.equal(day_column, pa.scalar(day, pa.date32()))
            self.write(data.filter(mask), day=day)
            self.close_day(day)

    # -- publishing ----------------------------------------------------------------------
    def _old_files(self, written_days: set[date | None]) -> list[FileRef]:
        mine = (slug(self.source), slug(self.scope))
        old = []
        for ref in list_files(self.lake.table_dir(self.spec.name), self.spec.name):
            same_scope = (ref.source, ref.scope) == mine
            in_days = self.replace_scope == "all" or ref.day in written_days
            if (same_scope and in_days) or (self.also_replace and self.also_replace(ref)):
                old.append(ref)
        return old

    def _merge_day(self, day: date | None, existing: list[FileRef]) -> None:
        """Rewrite the staged rows of ``day`` merged with the existing (source, scope) rows."""
        self.close_day(day)
        parts = [pq.read_table(p) for p in self._staged[day]]
        parts += [pq.read_table(r.path) for r in existing]
        if day is not None:
            parts = [p.drop_columns(["day"]) if "day" in p.column_names else p for p in parts]
        schema = parts[0].schema.remove_metadata()
        combined = pa.concat_tables(
            [p.cast(schema) for p in parts[::-1]]  # existing first: new rows win ties
        )
        merged = newest_wins(self.spec, combined)
        for path in self._staged[day]:
            path.unlink()
        self._staged[day] = []
        self.write(merged, day=day)  # keeps each row's own source/ingested_at/run_id
        self.close_day(day)

    def commit(self) -> WriteReport:
        """Publish every staged file, then remove the files they replace."""
        for day in list(self._open):
            self.close_day(day)
        report = WriteReport(table=self.spec.name, rows_written=self._rows)
        old = self._old_files(set(self._staged))
        if self.mode == "merge":
            mine = (slug(self.source), slug(self.scope))
            for day in list(self._staged):
                self._merge_day(
                    day, [r for r in old if r.day == day and (r.source, r.scope) == mine]
                )
            report.rows_written = sum(
                pq.read_metadata(p).num_rows for paths in self._staged.values() for p in paths
            )
        table_dir = self.lake.table_dir(self.spec.name)
        published: set[Path] = set()
        for day, paths in self._staged.items():
            target_dir = day_dir(table_dir, day)
            target_dir.mkdir(parents=True, exist_ok=True)
            for path in paths:
                target = target_dir / path.name.split("-", 1)[1]
                os.replace(path, target)
                published.add(target)
                report.files_published += 1
            if day is not None:
                report.days.append(day)
        for ref in old:
            if ref.path not in published and ref.path.exists():
                ref.path.unlink()
                report.files_removed += 1
                parent = ref.path.parent
                if parent != table_dir and not any(parent.iterdir()):
                    parent.rmdir()
        shutil.rmtree(self._staging, ignore_errors=True)
        report.days.sort()
        return report

    def abort(self) -> None:
        """Drop everything staged; the lake is unchanged."""
        for _, writer in self._open.values():
            writer.close()
        self._open.clear()
        shutil.rmtree(self._staging, ignore_errors=True)

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()
