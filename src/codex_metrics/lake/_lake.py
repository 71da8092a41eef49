"""The lake: a directory of Parquet tables, opened, inspected, vacuumed and queried."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from codex_metrics.errors import LakePathError
from codex_metrics.lake._files import (
    STAGING_DIR,
    FileRef,
    list_files,
    remove_stale_staging,
)
from codex_metrics.lake._writer import ReplaceScope, TableWriter, WriteMode
from codex_metrics.telemetry.schema import SCHEMA_VERSION, TABLES, TableSpec, table_spec

MARKER = "_lake.json"
SIMULATOR_DIR = "_simulator"


@dataclass(frozen=True)
class TableInfo:
    """Summary of one table for ``lake info``."""

    name: str
    files: int
    rows: int
    first_day: date | None
    last_day: date | None
    last_update_by_source: dict[str, datetime] = field(default_factory=dict)


def _check_usable(path: Path) -> None:
    for parent in [path, *path.parents]:
        if parent.exists() and not parent.is_dir():
            where = "is a regular file" if parent == path else f"is under a regular file ({parent})"
            raise LakePathError(path, f"{where}; pass --lake with a directory path")
        if parent.exists():
            break
    if path.is_dir() and not (path / MARKER).exists() and any(path.iterdir()):
        raise LakePathError(
            path,
            "exists and is not a codex-metrics lake (no _lake.json); use an empty or new directory",
        )


class Lake:
    """A codex-metrics lake rooted at ``root``.

    Use :meth:`open` to create or open one; :meth:`writer` to write a table; :meth:`connect`
    for a DuckDB connection with one view per table.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def open(cls, path: Path | str, *, create: bool = True) -> Lake:
        """Open the lake at ``path``, creating it when ``create`` is true.

        Raises:
            LakePathError: the path is a file, under a file, not writable, or a non-lake directory.
        """
        root = Path(path).expanduser().absolute()
        _check_usable(root)
        if not (root / MARKER).exists():
            if not create:
                raise LakePathError(
                    root, "no lake here; run `codex-metrics simulate` or pass --lake"
                )
            try:
                root.mkdir(parents=True, exist_ok=True)
                tmp = root / f".{MARKER}.tmp"
                tmp.write_text(json.dumps({"schema_version": SCHEMA_VERSION}))
                os.replace(tmp, root / MARKER)
            except OSError as exc:
                raise LakePathError(root, f"cannot create the lake ({exc.strerror})") from None
        return cls(root)

    def table_dir(self, table: str) -> Path:
        """Directory of ``table``."""
        return self.root / table

    def files(self, table: str) -> list[FileRef]:
        """Published files of ``table``."""
        return list_files(self.table_dir(table), table)

    def writer(
        self,
        table: str,
        *,
        source: str,
        scope: str,
        run_id: str | None = None,
        mode: WriteMode = "replace",
        replace_scope: ReplaceScope = "days",
        also_replace: Callable[[FileRef], bool] | None = None,
    ) -> TableWriter:
        """A :class:`TableWriter` for ``table``; see its docstring for the replace rules."""
        remove_stale_staging(self.root)
        return TableWriter(
            self,
            table_spec(table),
            source=source,
            scope=scope,
            run_id=run_id,
            mode=mode,
            replace_scope=replace_scope,
            also_replace=also_replace,
        )

    def write_table(
        self,
        table: str,
        data: pa.Table,
        *,
        source: str,
        scope: str,
        day_column: str | None = None,
        mode: WriteMode = "replace",
        run_id: str | None = None,
    ) -> int:
        """Write ``data`` in one commit; day tables split by ``day_column`` (dropped from the rows).

        Returns:
            Rows now stored for what was written.
        """
        spec = table_spec(table)
        with self.writer(table, source=source, scope=scope, mode=mode, run_id=run_id) as w:
            if spec.partitioning == "day":
                column = day_column or "day"
                days = data.column(column).cast(pa.date32())
                w.write_by_day(data.drop_columns([column]), days)
            else:
                w.write(data)
        return w._rows

    # -- inspection --------------------------------------------------------------------------
    def info(self, tables: Iterable[str] | None = None) -> list[TableInfo]:
        """Rows, files, day range and last update per source of each table."""
        result = []
        for name in tables or TABLES:
            refs = self.files(name)
            rows = sum(pq.read_metadata(r.path).num_rows for r in refs)
            days = [r.day for r in refs if r.day is not None]
            updates: dict[str, datetime] = {}
            for r in refs:
                ts = datetime.fromtimestamp(r.path.stat().st_mtime, UTC)
                updates[r.source] = max(updates.get(r.source, ts), ts)
            result.append(
                TableInfo(
                    name, len(refs), rows, min(days, default=None), max(days, default=None), updates
                )
            )
        return result

    def vacuum(self) -> int:
        """Remove staging leftovers of dead writers and empty day directories."""
        removed = remove_stale_staging(self.root)
        for name in TABLES:
            tdir = self.table_dir(name)
            if tdir.is_dir():
                for sub in tdir.iterdir():
                    if sub.is_dir() and not any(sub.iterdir()):
                        sub.rmdir()
                        removed += 1
        return removed

    @property
    def simulator_dir(self) -> Path:
        """Hidden folder with the current simulated world's ``truth.json``."""
        return self.root / SIMULATOR_DIR

    def remove_table(self, table: str) -> None:
        """Delete a table's directory entirely (used by tests and `lake` maintenance)."""
        shutil.rmtree(self.table_dir(table), ignore_errors=True)

    # -- querying ----------------------------------------------------------------------------
    def glob(self, table: str) -> str:
        """The glob that matches exactly the published files of ``table``."""
        spec = table_spec(table)
        pattern = "day=*/*.parquet" if spec.partitioning == "day" else "*.parquet"
        return str(self.table_dir(table) / pattern)

    def connect(self, con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with one view per table (empty tables get a typed empty view)."""
        con = con or duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        for name, spec in TABLES.items():
            if self.files(name):
                con.execute(_view_sql(self, name, spec))
            else:
                _empty_view(con, spec)
        return con


def _view_sql(lake: Lake, name: str, spec: TableSpec) -> str:
    glob = lake.glob(name).replace("'", "''")
    hive = ", hive_partitioning = true, hive_types = {'day': 'DATE'}" if spec.partitioning else ""
    return (
        f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM '
        f"read_parquet('{glob}', union_by_name = true{hive})"
    )


def _empty_view(con: duckdb.DuckDBPyConnection, spec: TableSpec) -> None:
    schema = spec.arrow_schema()
    if spec.partitioning == "day":
        schema = schema.append(pa.field("day", pa.date32()))
    empty = pa.Table.from_batches([], schema=schema)
    con.register(f"__empty_{spec.name}", empty)
    con.execute(f'CREATE OR REPLACE VIEW "{spec.name}" AS SELECT * FROM "__empty_{spec.name}"')


__all__ = ["MARKER", "STAGING_DIR", "Lake", "TableInfo"]
