"""The Delta Lake layer: create a table, list a version's data files, commit adds and removes.

Every lake table is a Delta table at ``<lake>/<table>/`` written with delta-rs (the ``deltalake``
package). Data files are Parquet files this package writes itself (pyarrow, streamed, zstd) into
the table's folder; they are invisible to every reader until a commit names them in the
transaction log (``_delta_log/NNN.json``), which delta-rs writes atomically with put-if-absent.
A commit carries its own statistics for each file (row count, min/max/null counts), so the
lake's ``source`` and ``scope`` of a file are known without opening it: every file this package
writes holds rows of exactly one (source, scope), which makes replacing them metadata-only.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable
from deltalake import Field as DeltaField
from deltalake import Schema as DeltaSchema
from deltalake.exceptions import CommitFailedError, TableNotFoundError
from deltalake.transaction import AddAction, CommitProperties, RemoveAction

from codex_metrics.errors import LakeFormatError
from codex_metrics.lake.schema import SCHEMA_VERSION, TableSpec

__all__ = [
    "COMMIT_INFO_KEY",
    "CommitFailedError",
    "DataFile",
    "commit_actions",
    "data_file_for",
    "open_table",
    "table_files",
]

#: Key of codex-metrics' own entry in each commit's ``commitInfo`` (source, scope, rows).
COMMIT_INFO_KEY = "codexMetrics"
LOG_DIR = "_delta_log"
#: Reader features a plain read of a version's Parquet files cannot honour.
UNSUPPORTED_READER_FEATURES = ("deletionVectors", "columnMapping")
#: Table properties: the codex-metrics schema version that created the table, and a flag set
#: when a schema change left older files without some columns.
SCHEMA_VERSION_PROPERTY = "codexMetrics.schemaVersion"
UNION_PROPERTY = "codexMetrics.unionByName"
#: Longest string kept in a file's min/max statistics (Delta truncates at 32 by convention).
_MAX_STAT_STRING = 64


@dataclass(frozen=True)
class DataFile:
    """One data file of a table version, as its add action describes it.

    Attributes:
        path: path relative to the table's folder (``day=2025-03-03/<name>.parquet``).
        size: bytes.
        day: the partition day (``None`` for unpartitioned tables).
        rows: row count from the statistics (``None`` when the writer kept none).
        source: the single ``source`` of its rows, or ``None`` when mixed or unknown.
        scope: the single ``scope`` of its rows, or ``None`` when mixed or unknown.
        modification_time: milliseconds since the epoch.
        stats: the statistics JSON of the add action (only kept for files being added).
    """

    path: str
    size: int
    day: date | None
    rows: int | None
    source: str | None
    scope: str | None
    modification_time: int
    stats: str

    @property
    def homogeneous(self) -> bool:
        """Whether the file is known to hold one (source, scope) only."""
        return self.source is not None and self.scope is not None

    def partition_values(self) -> dict[str, str | None]:
        """Delta partition values of the file."""
        return {} if self.day is None else {"day": self.day.isoformat()}

    def add_action(self, *, data_change: bool = True) -> AddAction:
        """The add action that commits this file."""
        return AddAction(
            self.path,
            self.size,
            self.partition_values(),
            self.modification_time,
            data_change,
            self.stats,
        )

    def remove_action(self, *, data_change: bool = True) -> RemoveAction:
        """The remove action that takes this file out of the table."""
        return RemoveAction(
            self.path, data_change, int(time.time() * 1000), self.size, self.partition_values()
        )


def _is_table(table_dir: Path) -> bool:
    return (table_dir / LOG_DIR).is_dir()


def open_table(table_dir: Path, *, version: int | None = None) -> DeltaTable | None:
    """The Delta table at ``table_dir`` (at ``version``), or ``None`` when it does not exist.

    Raises:
        LakeFormatError: the table needs reader features a file-list read cannot honour.
    """
    if not _is_table(table_dir):
        return None
    try:
        dt = DeltaTable(str(table_dir), version=version)
    except TableNotFoundError:
        return None
    check_readable(dt, table_dir)
    return dt


def check_readable(dt: DeltaTable, table_dir: Path) -> None:
    """Refuse tables whose reader features a read of the version's Parquet files would ignore.

    Raises:
        LakeFormatError: naming the feature (deletion vectors, column mapping).
    """
    protocol = dt.protocol()
    features = set(protocol.reader_features or ())
    if protocol.min_reader_version == 2:
        features.add("columnMapping")
    bad = sorted(features & set(UNSUPPORTED_READER_FEATURES))
    if bad or protocol.min_reader_version > 3:
        what = ", ".join(bad) or f"reader version {protocol.min_reader_version}"
        raise LakeFormatError(
            table_dir,
            f"this Delta table uses {what}, which codex-metrics cannot read as plain Parquet "
            "files (it was written by another engine); rewrite it without them "
            "(e.g. REORG TABLE ... APPLY (PURGE) in Spark) or read it with that engine",
        )


def create_table(table_dir: Path, spec: TableSpec) -> DeltaTable:
    """Create the Delta table of ``spec`` (no-op when it exists) and return it."""
    table_dir.mkdir(parents=True, exist_ok=True)
    try:
        return DeltaTable.create(
            str(table_dir),
            DeltaSchema.from_arrow(_delta_arrow_schema(spec)),
            partition_by=spec.partition_columns or None,
            mode="ignore",
            name=spec.name,
            description=spec.doc[:500],
            configuration={
                # Versions pinned by a simulated world or a stored analysis must stay loadable:
                # never delete old log entries behind our back (lake vacuum manages files).
                "delta.enableExpiredLogCleanup": "false",
                "delta.checkpointInterval": "100",
                SCHEMA_VERSION_PROPERTY: str(SCHEMA_VERSION),
            },
            raise_if_key_not_exists=False,
            commit_properties=CommitProperties(
                custom_metadata={COMMIT_INFO_KEY: {"schema_version": SCHEMA_VERSION}}
            ),
        )
    except CommitFailedError:  # another writer created it first
        return DeltaTable(str(table_dir))


def _delta_arrow_schema(spec: TableSpec) -> pa.Schema:
    """The reader schema with types Delta knows (plain strings, non-null partition day)."""
    return spec.reader_schema()


def evolve_schema(dt: DeltaTable, spec: TableSpec) -> None:
    """Add the spec's columns the table lacks (schema changes are additive)."""
    have = {f.name for f in dt.schema().fields}
    missing = [f for f in _delta_arrow_schema(spec) if f.name not in have]
    if missing:
        dt.alter.add_columns([DeltaField.from_arrow(f.with_nullable(True)) for f in missing])
        # Files from before lack the new columns: readers must now unify schemas by name.
        dt.alter.set_table_properties({UNION_PROPERTY: "true"}, raise_if_not_exists=False)


def files_may_differ(dt: DeltaTable) -> bool:
    """Whether the table's data files may have different columns (read them by name).

    Tables codex-metrics created and never widened hold files of one schema, which DuckDB can
    bind from one footer; tables of another writer, or widened by an additive schema change,
    are read with ``union_by_name``.
    """
    config = dt.metadata().configuration
    return SCHEMA_VERSION_PROPERTY not in config or config.get(UNION_PROPERTY) == "true"


_FILE_COLUMNS = (
    "path",
    "size_bytes",
    "modification_time",
    "num_records",
    "partition.day",
    "min.source",
    "max.source",
    "min.scope",
    "max.scope",
)


def table_files(dt: DeltaTable) -> list[DataFile]:
    """The data files of the loaded version, sorted by path."""
    actions = pa.table(dt.get_add_actions(flatten=True))
    present = [c for c in _FILE_COLUMNS if c in actions.column_names]
    data = {name: actions.column(name).to_pylist() for name in present}
    n = actions.num_rows
    blank: list[Any] = [None] * n
    src_min, src_max = data.get("min.source", blank), data.get("max.source", blank)
    scope_min, scope_max = data.get("min.scope", blank), data.get("max.scope", blank)
    days, rows = data.get("partition.day", blank), data.get("num_records", blank)
    files = []
    for i in range(n):
        day = days[i]
        if isinstance(day, str):
            day = date.fromisoformat(day)
        files.append(
            DataFile(
                path=data["path"][i],
                size=int(data["size_bytes"][i]),
                day=day,
                rows=rows[i],
                source=src_min[i] if src_min[i] is not None and src_min[i] == src_max[i] else None,
                scope=scope_min[i]
                if scope_min[i] is not None and scope_min[i] == scope_max[i]
                else None,
                modification_time=int(data["modification_time"][i]),
                stats="",
            )
        )
    files.sort(key=lambda f: f.path)
    return files


# -- statistics of a new file ----------------------------------------------------------------
def _stat_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str) and len(value) > _MAX_STAT_STRING:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _ceil_ms(value: Any) -> Any:
    """Round a timestamp's max up to the millisecond (stats keep milliseconds only)."""
    if isinstance(value, datetime) and value.microsecond % 1000:
        return value + timedelta(microseconds=1000 - value.microsecond % 1000)
    return value


def file_statistics(metadata: pq.FileMetaData) -> dict[str, Any]:
    """Delta statistics (numRecords, minValues, maxValues, nullCount) from a Parquet footer."""
    mins: dict[str, Any] = {}
    maxs: dict[str, Any] = {}
    nulls: dict[str, int] = {}
    schema = metadata.schema.to_arrow_schema()
    top = {f.name: f for f in schema}
    first = metadata.row_group(0) if metadata.num_row_groups else None
    leaves = (
        [] if first is None else [first.column(k).path_in_schema for k in range(first.num_columns)]
    )
    for k, path in enumerate(leaves):
        field = top.get(path)  # nested columns have dotted leaf paths: no stats for them
        if field is None or pa.types.is_boolean(field.type) or pa.types.is_nested(field.type):
            continue
        lo = hi = None
        count = 0
        complete = True
        for g in range(metadata.num_row_groups):
            st = metadata.row_group(g).column(k).statistics
            if st is None:
                complete = False
                break
            count += st.null_count or 0
            if st.has_min_max:
                lo = st.min if lo is None or st.min < lo else lo
                hi = st.max if hi is None or st.max > hi else hi
        if not complete:
            continue
        nulls[field.name] = count
        lo_v, hi_v = _stat_value(lo), _stat_value(_ceil_ms(hi))
        if lo_v is not None and hi_v is not None:
            mins[field.name], maxs[field.name] = lo_v, hi_v
    return {
        "numRecords": metadata.num_rows,
        "minValues": mins,
        "maxValues": maxs,
        "nullCount": nulls,
    }


def data_file_for(
    table_dir: Path,
    path: Path,
    *,
    day: date | None,
    source: str | None,
    scope: str | None,
    metadata: pq.FileMetaData | None = None,
) -> DataFile:
    """Describe a Parquet file just written under ``table_dir`` for its add action.

    ``metadata`` is the footer the writer just wrote (read from the file when not given).
    """
    if metadata is None:
        metadata = pq.read_metadata(path)
    stats = file_statistics(metadata)
    st = path.stat()
    return DataFile(
        path=path.relative_to(table_dir).as_posix(),
        size=st.st_size,
        day=day,
        rows=metadata.num_rows,
        source=source,
        scope=scope,
        modification_time=int(st.st_mtime * 1000),
        stats=json.dumps(stats, separators=(",", ":")),
    )


# -- commits -----------------------------------------------------------------------------------
def commit_actions(
    dt: DeltaTable,
    spec: TableSpec,
    *,
    adds: Sequence[DataFile],
    removes: Sequence[DataFile],
    info: Mapping[str, Any],
    data_change: bool = True,
) -> int:
    """Commit ``adds`` and ``removes`` to ``dt`` in one transaction; returns the new version.

    Raises:
        CommitFailedError: a concurrent commit conflicts (the caller re-reads and retries).
    """
    evolve_schema(dt, spec)
    actions: list[AddAction | RemoveAction] = [
        *(f.remove_action(data_change=data_change) for f in removes),
        *(f.add_action(data_change=data_change) for f in adds),
    ]
    dt.create_write_transaction(
        actions,
        "append",
        _delta_arrow_schema(spec),
        partition_by=spec.partition_columns or None,
        commit_properties=CommitProperties(
            custom_metadata={COMMIT_INFO_KEY: dict(info)}, max_commit_retries=0
        ),
    )
    dt.update_incremental()
    return dt.version()


def remove_untracked(table_dir: Path, paths: Iterable[str]) -> None:
    """Delete files this process wrote but did not commit (best effort)."""
    for rel in paths:
        try:
            os.unlink(table_dir / rel)
        except FileNotFoundError:
            pass
