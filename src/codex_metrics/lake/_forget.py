"""Forgetting a person: delete their rows from every table, then from the tables' history.

The lake never sees a login: the caller passes the pseudonymous ids as stored (the keyed hash
of ``privacy.py``, or the login itself when identities are stored in clear). For every table
with a person column (``developer_id``, ``author``, ``created_by``), each data file of the
latest version holding one of the ids is rewritten without those rows, and the rewritten files
replace the originals in one commit per table (operation ``forget``). Then every file on disk
that no longer belongs to the latest version and still holds one of the ids (older versions'
files, kept for time travel until ``lake vacuum``) is deleted: older versions that named those
files can no longer be read, which is the point. Files of the pinned simulated world are
rewritten like any other (simulated people are not real, but nothing is special-cased).
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from codex_metrics.errors import LakeConflictError
from codex_metrics.lake._delta import (
    LOG_DIR,
    CommitFailedError,
    DataFile,
    commit_actions,
    open_table,
    remove_untracked,
    table_files,
)
from codex_metrics.lake._locks import FileLock, exclusive
from codex_metrics.lake._writer import conform, write_file
from codex_metrics.lake.schema import TableSpec
from codex_metrics.lake.tables import TABLES

if TYPE_CHECKING:
    from codex_metrics.lake._lake import Lake

__all__ = ["PERSON_COLUMNS", "ForgetReport", "forget"]

#: Columns that hold a person's pseudonymous id.
PERSON_COLUMNS = ("developer_id", "author", "created_by")
_RETRIES = 5


@dataclass
class ForgetReport:
    """What forgetting did, per table: rows removed, files rewritten, history files deleted."""

    rows_removed: dict[str, int] = field(default_factory=dict)
    files_rewritten: dict[str, int] = field(default_factory=dict)
    history_files_deleted: dict[str, int] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """Rows removed in all."""
        return sum(self.rows_removed.values())

    def to_dict(self) -> dict[str, object]:
        """Plain data."""
        return {
            "rows_removed": self.rows_removed,
            "files_rewritten": self.files_rewritten,
            "history_files_deleted": self.history_files_deleted,
            "versions": self.versions,
        }


def _hits(table: pa.Table, columns: list[str], ids: pa.Array) -> pa.Array:
    mask = pa.array([False] * table.num_rows)
    for name in columns:
        col = table.column(name).cast(pa.string())
        mask = pc.or_(mask, pc.fill_null(pc.is_in(col, value_set=ids), False))
    return mask


def _person_columns(spec: TableSpec) -> list[str]:
    return [c for c in PERSON_COLUMNS if c in spec.column_names]


def _file_hits(path: Path, columns: list[str], ids: pa.Array) -> int:
    present = [c for c in columns if c in pq.read_schema(path).names]
    if not present:
        return 0
    data = pq.read_table(path, columns=present)
    return int(pc.sum(_hits(data, present, ids)).as_py() or 0)


def _forget_table(lake: Lake, spec: TableSpec, ids: pa.Array, report: ForgetReport) -> None:
    table_dir = lake.table_dir(spec.name)
    columns = _person_columns(spec)
    with exclusive(lake.root, f"{spec.name}.commit", what=f"forgetting in {spec.name}"):
        for attempt in range(_RETRIES + 1):
            dt = open_table(table_dir)
            if dt is None:
                return
            removes: list[DataFile] = []
            adds: list[DataFile] = []
            removed = 0
            for f in table_files(dt):
                if _file_hits(table_dir / f.path, columns, ids) == 0:
                    continue
                data = pq.read_table(table_dir / f.path)
                if "day" in data.column_names:
                    data = data.drop_columns(["day"])
                mask = _hits(data, [c for c in columns if c in data.column_names], ids)
                kept = data.filter(pc.invert(mask))
                removed += data.num_rows - kept.num_rows
                removes.append(f)
                if kept.num_rows:
                    adds.append(
                        write_file(table_dir, spec, conform(spec, kept), day=f.day,
                                   source=f.source, scope=f.scope)
                    )  # fmt: skip
            if not removes:
                break
            info = {"operation": "forget", "rows_removed": removed, "files_rewritten": len(removes)}
            try:
                version = commit_actions(dt, spec, adds=adds, removes=removes, info=info)
            except CommitFailedError:
                remove_untracked(table_dir, [a.path for a in adds])
                time.sleep(0.1 * (attempt + 1))
                continue
            report.rows_removed[spec.name] = removed
            report.files_rewritten[spec.name] = len(removes)
            report.versions[spec.name] = version
            break
        else:
            raise LakeConflictError(spec.name, "kept changing while forgetting; run it again")
        _purge_history(lake, spec, columns, ids, report)


def _purge_history(
    lake: Lake, spec: TableSpec, columns: list[str], ids: pa.Array, report: ForgetReport
) -> None:
    """Delete files outside the latest version that still hold one of the ids."""
    table_dir = lake.table_dir(spec.name)
    dt = open_table(table_dir)
    if dt is None:
        return
    live = {f.path for f in table_files(dt)}
    deleted = 0
    # Like vacuum: wait for writers of the table, whose uncommitted files are not ours to judge.
    writing = FileLock(lake.root, f"{spec.name}.writing", exclusive=True).acquire(
        what=f"forgetting in {spec.name}'s history (a writer is running)"
    )
    try:
        deleted = _delete_holding(table_dir, live, columns, ids)
    finally:
        writing.release()
    if deleted:
        report.history_files_deleted[spec.name] = deleted


def _delete_holding(table_dir: Path, live: set[str], columns: list[str], ids: pa.Array) -> int:
    deleted = 0
    for path in table_dir.rglob("*.parquet"):
        rel = path.relative_to(table_dir).as_posix()
        if rel.startswith(LOG_DIR) or rel in live:
            continue
        try:
            hits = _file_hits(path, columns, ids)
        except (OSError, pa.ArrowInvalid):
            continue
        if hits:
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted


def forget(lake: Lake, ids: Collection[str]) -> ForgetReport:
    """Remove every row whose person column holds one of ``ids``, in every table and its history.

    Raises:
        LakeConflictError: another writer kept committing to a table meanwhile.
    """
    report = ForgetReport()
    wanted = pa.array(sorted(set(ids)), pa.string())
    if len(wanted) == 0:
        return report
    for spec in TABLES.values():
        if _person_columns(spec) and lake.table_dir(spec.name).is_dir():
            _forget_table(lake, spec, wanted, report)
    return report
