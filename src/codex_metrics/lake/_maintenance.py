"""Looking after a lake: info, history, vacuum, compaction, integrity checks, read errors."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from codex_metrics.errors import LakeCorruptError
from codex_metrics.lake._delta import (
    COMMIT_INFO_KEY,
    DataFile,
    commit_actions,
    open_table,
    remove_untracked,
    table_files,
)
from codex_metrics.lake._locks import FileLock, exclusive
from codex_metrics.lake._world import SIMULATOR_SOURCE, read_worlds
from codex_metrics.lake._writer import conform, write_file
from codex_metrics.lake.tables import TABLES, table_spec

if TYPE_CHECKING:
    from codex_metrics.lake._lake import Lake
    from codex_metrics.lake._snapshot import LakeSnapshot

__all__ = [
    "Commit",
    "Problem",
    "TableInfo",
    "VacuumReport",
    "check",
    "compact",
    "explain_read_error",
    "history",
    "info",
    "vacuum",
]

DEFAULT_RETAIN_HOURS = 168


@dataclass(frozen=True)
class TableInfo:
    """Summary of one table for ``lake info``."""

    name: str
    version: int | None
    files: int
    rows: int
    first_day: date | None
    last_day: date | None
    last_update_by_source: dict[str, datetime] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """One plain row (``lake info``)."""
        return {
            "table": self.name,
            "version": self.version,
            "files": self.files,
            "rows": self.rows,
            "first_day": self.first_day.isoformat() if self.first_day else None,
            "last_day": self.last_day.isoformat() if self.last_day else None,
            "last_update_by_source": ", ".join(
                f"{k} {v:%Y-%m-%d %H:%M}" for k, v in sorted(self.last_update_by_source.items())
            ),
        }


def info(snapshot: LakeSnapshot) -> list[TableInfo]:
    """Version, files, rows, day range and last update per source of each table."""
    out = []
    for name, tv in snapshot.tables.items():
        files = list(tv.files)
        days = [f.day for f in files if f.day is not None]
        updates: dict[str, datetime] = {}
        for f in files:
            ts = datetime.fromtimestamp(f.modification_time / 1000, UTC)
            key = f.source or "mixed"
            updates[key] = max(updates.get(key, ts), ts)
        out.append(
            TableInfo(
                name,
                tv.version,
                len(files),
                sum(f.rows or 0 for f in files),
                min(days, default=None),
                max(days, default=None),
                updates,
            )
        )
    return out


@dataclass(frozen=True)
class Commit:
    """One entry of a table's history."""

    version: int
    timestamp: datetime
    operation: str
    source: str | None
    scope: str | None
    rows_added: int | None
    rows_removed: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "version": self.version,
            "timestamp": self.timestamp.isoformat(),
            "operation": self.operation,
            "source": self.source,
            "scope": self.scope,
            "rows_added": self.rows_added,
            "rows_removed": self.rows_removed,
        }


def history(lake: Lake, table: str, *, limit: int | None = None) -> list[Commit]:
    """The versions of ``table``, newest first, with what each commit did."""
    table_spec(table)
    dt = open_table(lake.table_dir(table))
    if dt is None:
        return []
    out = []
    for entry in dt.history(limit):
        mine = entry.get(COMMIT_INFO_KEY) or {}
        if isinstance(mine, str):
            mine = {}
        out.append(
            Commit(
                version=int(entry.get("version", -1)),
                timestamp=datetime.fromtimestamp(int(entry.get("timestamp", 0)) / 1000, UTC),
                operation=str(mine.get("operation") or entry.get("operation", "")).lower(),
                source=mine.get("source"),
                scope=mine.get("scope"),
                rows_added=mine.get("rows_added"),
                rows_removed=mine.get("rows_removed"),
            )
        )
    return out


@dataclass
class VacuumReport:
    """What ``lake vacuum`` removed (or would remove with ``dry_run``)."""

    removed: dict[str, list[str]] = field(default_factory=dict)
    kept_versions: dict[str, list[int]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def files(self) -> int:
        """Number of files removed."""
        return sum(len(v) for v in self.removed.values())


def _pinned_versions(lake: Lake, retain_hours: float) -> dict[str, set[int]]:
    """Versions to keep: the current world, worlds inside the retention, stored analyses."""
    worlds = read_worlds(lake.root)
    horizon = datetime.now(UTC) - timedelta(hours=retain_hours)
    keep = [w for w in worlds if w.published_at >= horizon] + worlds[-1:]
    pins: dict[str, set[int]] = {}
    for w in keep:
        for table, version in w.versions.items():
            pins.setdefault(table, set()).add(version)
    for table, version in _analysis_pins(lake):
        pins.setdefault(table, set()).add(version)
    return pins


def _analysis_pins(lake: Lake) -> list[tuple[str, int]]:
    """Versions named by stored analysis results (their ``lake_snapshot`` column)."""
    import json

    if "analysis_results" not in TABLES:
        return []
    dt = open_table(lake.table_dir("analysis_results"))
    if dt is None:
        return []
    out = []
    for f in table_files(dt):
        path = lake.table_dir("analysis_results") / f.path
        try:
            column = pq.read_table(path, columns=["lake_snapshot"]).column(0).to_pylist()
        except (OSError, KeyError, pa.ArrowInvalid):
            continue
        for text in column:
            try:
                doc = json.loads(text or "{}")
            except ValueError:
                continue
            versions = doc.get("versions", doc) if isinstance(doc, dict) else {}
            out += [(t, int(v)) for t, v in versions.items() if isinstance(v, int)]
    return out


def vacuum(
    lake: Lake, *, retain_hours: float = DEFAULT_RETAIN_HOURS, dry_run: bool = False
) -> VacuumReport:
    """Delta vacuum of every table (full: also untracked files of crashed writers).

    Files no longer referenced by the latest version, nor by a version a recorded simulated
    world (current, or published within the retention) or a stored analysis names, and older
    than ``retain_hours``, are deleted. A table being written is skipped, never half-vacuumed.
    """
    report = VacuumReport()
    pins = _pinned_versions(lake, retain_hours)
    for name in TABLES:
        dt = open_table(lake.table_dir(name))
        if dt is None:
            continue
        writing = FileLock(lake.root, f"{name}.writing", exclusive=True)
        if not writing.try_acquire():
            report.skipped[name] = "a writer is running; run vacuum again when it has finished"
            continue
        try:
            keep = sorted(v for v in pins.get(name, set()) if v <= dt.version())
            removed = dt.vacuum(
                retention_hours=int(retain_hours),
                dry_run=dry_run,
                enforce_retention_duration=False,
                full=True,
                keep_versions=keep or None,
            )
        finally:
            writing.release()
        report.removed[name] = sorted(removed)
        report.kept_versions[name] = keep
    return report


def compact(lake: Lake, *, min_files: int = 2) -> dict[str, int]:
    """Merge small files of the same (day, source, scope), except the simulator's.

    Daily collectors add one small file per run; compaction rewrites each group into one
    file in one commit (``dataChange: false``: readers' numbers never change).

    Returns:
        Files removed per table.
    """
    done: dict[str, int] = {}
    for name, spec in TABLES.items():
        table_dir = lake.table_dir(name)
        with exclusive(lake.root, f"{name}.commit", what=f"compacting {name}"):
            dt = open_table(table_dir)
            if dt is None:
                continue
            groups: dict[tuple[Any, ...], list[DataFile]] = {}
            for f in table_files(dt):
                if f.homogeneous and f.source != SIMULATOR_SOURCE:
                    groups.setdefault((f.day, f.source, f.scope), []).append(f)
            removes: list[DataFile] = []
            adds: list[DataFile] = []
            for (day, source, scope), files in sorted(groups.items(), key=lambda kv: str(kv[0])):
                if len(files) < min_files:
                    continue
                parts = [
                    conform(spec, _read(table_dir, f)).cast(spec.arrow_schema()) for f in files
                ]
                merged = pa.concat_tables(parts)
                adds.append(
                    write_file(table_dir, spec, merged, day=day, source=source, scope=scope)
                )
                removes += files
            if not removes:
                continue
            try:
                commit_actions(
                    dt,
                    spec,
                    adds=adds,
                    removes=removes,
                    info={"operation": "compact", "files_removed": len(removes)},
                    data_change=False,
                )
            except BaseException:
                remove_untracked(table_dir, [f.path for f in adds])
                raise
            done[name] = len(removes)
    return done


def _read(table_dir: Path, f: DataFile) -> pa.Table:
    table = pq.read_table(table_dir / f.path)
    return table.drop_columns(["day"]) if "day" in table.column_names else table


@dataclass(frozen=True)
class Problem:
    """A data file of the snapshot that cannot be read."""

    table: str
    file: str
    problem: str

    def __str__(self) -> str:
        return f"table {self.table}: data file {self.file} {self.problem}"


def check(snapshot: LakeSnapshot) -> list[Problem]:
    """Read every data file of ``snapshot`` (every source) and list the missing or corrupt."""
    problems = []
    for name, tv in snapshot.tables.items():
        table_dir = snapshot.lake.table_dir(name)
        for f in tv.files:
            path = table_dir / f.path
            if not path.exists():
                problems.append(Problem(name, f.path, "is missing"))
                continue
            try:
                pq.read_table(path)
            except (OSError, pa.ArrowException) as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                problems.append(Problem(name, f.path, f"is unreadable ({first[:200]})"))
    return problems


_PATH_IN_MESSAGE = re.compile(r"""['"]?(/[^'"\n]+?\.parquet)['"]?""")


def _lake_root_of(path: Path) -> Path | None:
    for parent in path.parents:
        if (parent / "_lake.json").exists():
            return parent
    return None


def explain_read_error(exc: BaseException) -> LakeCorruptError | None:
    """Turn an engine's read failure on a lake data file into an error naming table and file.

    Returns ``None`` when the message names no data file of a lake.
    """
    message = str(exc)
    for match in _PATH_IN_MESSAGE.finditer(message):
        path = Path(match.group(1))
        root = _lake_root_of(path)
        if root is None:
            continue
        table, *rest = path.relative_to(root).parts
        if not rest:
            continue
        problem = "is missing" if not path.exists() else "is unreadable"
        first = message.strip().splitlines()[0][:200]
        return LakeCorruptError(table, "/".join(rest), f"{problem} ({first})")
    return None
