"""The lake: a directory of Delta tables, opened, written, read through snapshots."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from codex_metrics.errors import LakeCorruptError, LakeFormatError, LakePathError
from codex_metrics.lake import _maintenance
from codex_metrics.lake._commit import commit_writes
from codex_metrics.lake._delta import remove_untracked
from codex_metrics.lake._forget import ForgetReport, forget
from codex_metrics.lake._locks import HIDDEN_DIR, FileLock, exclusive
from codex_metrics.lake._maintenance import Commit, Problem, TableInfo, VacuumReport
from codex_metrics.lake._snapshot import AsOf, LakeSnapshot, SourceSelection, resolve_snapshot
from codex_metrics.lake._world import (
    SIMULATOR_DIR,
    World,
    current_world,
    publish_world,
    read_worlds,
)
from codex_metrics.lake._writer import (
    PendingWrite,
    Replacement,
    ReplaceScope,
    TableWriter,
    WriteMode,
    WriteReport,
)
from codex_metrics.lake.schema import SCHEMA_VERSION
from codex_metrics.lake.tables import TABLES, table_spec

__all__ = ["MARKER", "Lake"]

MARKER = "_lake.json"
LEGACY_SCHEMA_VERSION = 1


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


def _marker_version(root: Path) -> int:
    try:
        doc = json.loads((root / MARKER).read_text())
        return int(doc.get("schema_version", LEGACY_SCHEMA_VERSION))
    except (OSError, ValueError, TypeError, AttributeError):
        raise LakePathError(
            root, f"{MARKER} is unreadable; restore it or move the folder aside"
        ) from None


def _write_marker(root: Path, version: int) -> None:
    tmp = root / f".{MARKER}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps({"schema_version": version, "format": "delta"}))
    os.replace(tmp, root / MARKER)


class Lake:
    """A codex-metrics lake rooted at ``root``: one Delta table per declared table.

    Use :meth:`open` to create or open one, :meth:`writer` to write a table, :meth:`snapshot`
    to pin what a report reads, and :meth:`connect` for a DuckDB connection over a snapshot.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def open(cls, path: Path | str, *, create: bool = True, allow_legacy: bool = False) -> Lake:
        """Open the lake at ``path``, creating it when ``create`` is true.

        Raises:
            LakePathError: the path is a file, under a file, not writable, or a non-lake directory.
            LakeFormatError: a lake in the previous layout (run ``lake migrate``) or written by a
                newer codex-metrics.
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
                _write_marker(root, SCHEMA_VERSION)
            except OSError as exc:
                raise LakePathError(root, f"cannot create the lake ({exc.strerror})") from None
            return cls(root)
        version = _marker_version(root)
        if version > SCHEMA_VERSION:
            raise LakeFormatError(
                root,
                f"this lake has schema version {version}, newer than this codex-metrics "
                f"({SCHEMA_VERSION}); upgrade codex-metrics (pip install -U codex-metrics)",
            )
        if version < SCHEMA_VERSION and not allow_legacy:
            raise LakeFormatError(
                root,
                "this lake is in the previous layout (plain Parquet folders, schema version "
                f"{version}); convert it with `codex-metrics lake migrate --lake {root}`",
            )
        return cls(root)

    @property
    def schema_version(self) -> int:
        """The schema version in the lake's marker."""
        return _marker_version(self.root)

    def mark_current(self) -> None:
        """Record the current schema version in the marker (after a migration)."""
        _write_marker(self.root, SCHEMA_VERSION)

    def table_dir(self, table: str) -> Path:
        """Folder of ``table``'s Delta table."""
        return self.root / table

    @property
    def hidden_dir(self) -> Path:
        """``<lake>/.codex-metrics/``: locks, keys, caches and raw archives."""
        path = self.root / HIDDEN_DIR
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def simulator_dir(self) -> Path:
        """Folder with the simulated worlds' truths and the world log."""
        return self.root / SIMULATOR_DIR

    # -- writing ---------------------------------------------------------------------------
    def writer(
        self,
        table: str,
        *,
        source: str,
        scope: str,
        run_id: str | None = None,
        mode: WriteMode = "replace",
        replace_scope: ReplaceScope = "days",
        ingested_at: datetime | None = None,
    ) -> TableWriter:
        """A :class:`TableWriter` for ``table``; see its docstring for the replace rules."""
        return TableWriter(
            self,
            table_spec(table),
            source=source,
            scope=scope,
            run_id=run_id,
            mode=mode,
            replace_scope=replace_scope,
            ingested_at=ingested_at,
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
        info: dict[str, object] | None = None,
    ) -> WriteReport:
        """Write ``data`` in one commit; day tables split by ``day_column`` (dropped from the rows).

        Replaces the (source, scope) rows of the days written (``mode="merge"``: merges with
        them by key, newest wins).
        """
        spec = table_spec(table)
        w = self.writer(table, source=source, scope=scope, mode=mode, run_id=run_id)
        try:
            if spec.partitioning == "day":
                column = day_column or "day"
                days = data.column(column).cast(pa.date32())
                w.write_by_day(data.drop_columns([column]), days)
            else:
                w.write(data)
        except BaseException:
            w.abort()
            raise
        return w.commit(info=info)

    def commit(
        self,
        table: str,
        writes: Sequence[PendingWrite],
        replacement: Replacement,
        *,
        info: Mapping[str, Any] | None = None,
    ) -> WriteReport:
        """Commit pending writes (of several writers or processes) to ``table`` at once."""
        return commit_writes(self, table_spec(table), writes, replacement, info=info)

    def discard(self, writes: Iterable[PendingWrite]) -> None:
        """Delete the files of pending writes that will not be committed."""
        for w in writes:
            remove_untracked(self.table_dir(w.table), [f.path for f in w.files])

    @contextmanager
    def lock(self, name: str, *, what: str = "") -> Iterator[None]:
        """Hold the lake-wide advisory lock ``name`` (other processes wait for it)."""
        with exclusive(self.root, name, what=what):
            yield

    @contextmanager
    def writing(self, tables: Iterable[str]) -> Iterator[None]:
        """Mark ``tables`` as being written (vacuum leaves them alone meanwhile)."""
        held = []
        try:
            for table in tables:
                held.append(
                    FileLock(self.root, f"{table}.writing", exclusive=False).acquire(
                        what=f"writing {table} (lake vacuum is running)"
                    )
                )
            yield
        finally:
            for lock in held:
                lock.release()

    def publish_world(self, run_id: str, versions: Mapping[str, int]) -> World:
        """Record a complete simulated world (its commit point)."""
        return publish_world(self.root, run_id, versions)

    def worlds(self) -> list[World]:
        """Every simulated world recorded in the lake, oldest first."""
        return read_worlds(self.root)

    def world(self, *, as_of: datetime | None = None) -> World | None:
        """The simulated world readers see (at ``as_of``)."""
        return current_world(self.root, as_of=as_of)

    # -- reading ---------------------------------------------------------------------------
    def snapshot(
        self, *, as_of: AsOf = None, sources: SourceSelection | str | Sequence[str] | None = None
    ) -> LakeSnapshot:
        """Pin one version per table (at ``as_of``) and the sources to read.

        Args:
            as_of: a UTC datetime (each table at its last version at or before it), or a map
                table -> version; default: the latest versions.
            sources: ``"all"``, source names, or ``None`` for the default rule: the real
                sources when any table holds a row of a source other than the simulator,
                else the simulator.
        """
        selection = (
            sources
            if isinstance(sources, SourceSelection) or sources is None
            else (SourceSelection.parse(sources))
        )
        return resolve_snapshot(self, as_of=as_of, sources=selection)

    def connect(
        self,
        con: duckdb.DuckDBPyConnection | None = None,
        *,
        snapshot: LakeSnapshot | None = None,
        sources: SourceSelection | str | Sequence[str] | None = None,
    ) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with one view per table over a snapshot (default: now)."""
        return (snapshot or self.snapshot(sources=sources)).connect(con)

    def days(self, table: str, *, snapshot: LakeSnapshot | None = None) -> set[date]:
        """Partition days of ``table`` with selected rows (in ``snapshot``, default now)."""
        return (snapshot or self.snapshot()).days(table)

    def tables(self) -> list[str]:
        """Names of the declared tables."""
        return list(TABLES)

    # -- maintenance -------------------------------------------------------------------------
    def info(self, *, snapshot: LakeSnapshot | None = None) -> list[TableInfo]:
        """Version, files, rows, day range and last update per source of each table."""
        return _maintenance.info(snapshot or self.snapshot(sources="all"))

    def history(self, table: str, *, limit: int | None = None) -> list[Commit]:
        """The versions of ``table``, newest first."""
        return _maintenance.history(self, table, limit=limit)

    def vacuum(
        self, *, retain_hours: float = _maintenance.DEFAULT_RETAIN_HOURS, dry_run: bool = False
    ) -> VacuumReport:
        """Delete unreferenced and crashed writers' files older than ``retain_hours``."""
        return _maintenance.vacuum(self, retain_hours=retain_hours, dry_run=dry_run)

    def compact(self, *, min_files: int = 2) -> dict[str, int]:
        """Merge small files of one (day, source, scope); simulator files are left alone."""
        return _maintenance.compact(self, min_files=min_files)

    def forget(self, ids: Iterable[str]) -> ForgetReport:
        """Delete every row of these people (pseudonymous ids as stored) and purge history.

        The lake never sees logins: hash them with ``privacy.py`` first (the CLI's
        ``lake forget LOGIN`` does). See :mod:`codex_metrics.lake._forget`.
        """
        return forget(self, list(ids))

    def check(self, *, snapshot: LakeSnapshot | None = None) -> list[Problem]:
        """Read every data file of the snapshot; list the missing and corrupt ones."""
        return _maintenance.check(snapshot or self.snapshot(sources="all"))

    def explain(self, exc: BaseException) -> LakeCorruptError | None:
        """An error naming the table and file when ``exc`` is a read failure on a lake file."""
        return _maintenance.explain_read_error(exc)
