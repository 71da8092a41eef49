"""The commit protocol: publish new files and remove what they replace, in one Delta commit.

Under the table's commit lock (``<lake>/.codex-metrics/locks/<table>.commit.lock``) the writer
reads the table's latest version, selects the files holding rows of the (source, scope, days)
it replaces, and commits their remove actions together with the add actions of its new files.
A file that mixes replaced and kept rows (written by another engine, or merged by hand) is
rewritten with the kept rows in the same commit. A ``merge`` write first folds the replaced
rows into its own by key, newest wins. If a writer outside codex-metrics commits in between,
delta-rs refuses the commit; the writer re-reads and retries a bounded number of times, then
fails with :class:`~codex_metrics.errors.LakeConflictError` and leaves the table as it was.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from codex_metrics.errors import LakeConflictError
from codex_metrics.lake._delta import (
    CommitFailedError,
    DataFile,
    commit_actions,
    create_table,
    open_table,
    remove_untracked,
    table_files,
)
from codex_metrics.lake._locks import exclusive
from codex_metrics.lake._writer import (
    PendingWrite,
    Replacement,
    WriteReport,
    conform,
    newest_wins,
    write_file,
)
from codex_metrics.lake.schema import TableSpec

if TYPE_CHECKING:
    from codex_metrics.lake._lake import Lake

__all__ = ["MAX_COMMIT_RETRIES", "commit_writes"]

MAX_COMMIT_RETRIES = 5


def commit_writes(
    lake: Lake,
    spec: TableSpec,
    writes: Sequence[PendingWrite],
    replacement: Replacement,
    *,
    info: Mapping[str, Any] | None = None,
) -> WriteReport:
    """Commit ``writes`` to ``spec``'s table, replacing the rows ``replacement`` selects.

    Raises:
        LakeConflictError: concurrent commits by another engine kept conflicting.
        LakeBusyError: another codex-metrics process held the commit lock too long.
    """
    table_dir = lake.table_dir(spec.name)
    new_files = [f for w in writes for f in w.files]
    merge = any(w.mode == "merge" for w in writes)
    with exclusive(lake.root, f"{spec.name}.commit", what=f"committing {spec.name}"):
        for attempt in range(MAX_COMMIT_RETRIES + 1):
            dt = open_table(table_dir) or create_table(table_dir, spec)
            current = table_files(dt)
            removes, kept, replaced_rows = _replaced(lake, spec, current, replacement, merge)
            adds = _merged(lake, spec, writes, replaced_rows) if merge else list(new_files)
            written_here = [*kept, *(adds if merge else [])]
            if not adds and not removes:  # nothing to change: no empty commit
                return WriteReport(table=spec.name, version=dt.version())
            rows_added = sum(f.rows or 0 for f in adds)
            rows_removed = sum(f.rows or 0 for f in removes) - sum(f.rows or 0 for f in kept)
            entry = {
                "operation": "merge" if merge else "replace",
                "source": replacement.source,
                "scope": replacement.scope,
                "rows_added": rows_added,
                "rows_removed": rows_removed,
                **(info or {}),
            }
            try:
                version = commit_actions(
                    dt, spec, adds=[*adds, *kept], removes=removes, info=_jsonable(entry)
                )
            except CommitFailedError:
                remove_untracked(table_dir, [f.path for f in written_here])
                time.sleep(random.uniform(0.05, 0.25) * (attempt + 1))
                continue
            if merge:  # the pre-merge files were folded into the merged ones
                remove_untracked(table_dir, [f.path for f in new_files])
            days = sorted({f.day for f in adds if f.day is not None})
            return WriteReport(
                table=spec.name,
                version=version,
                rows_written=rows_added,
                rows_removed=rows_removed,
                files_published=len(adds) + len(kept),
                files_removed=len(removes),
                days=days,
            )
    remove_untracked(table_dir, [f.path for f in new_files])
    raise LakeConflictError(
        spec.name,
        f"another writer kept changing the rows of source {replacement.source!r} "
        f"(scope {replacement.scope or 'any'}) after {MAX_COMMIT_RETRIES} retries; nothing was "
        "written. Make sure only one job writes this source and scope, then run the command again",
    )


def _jsonable(entry: Mapping[str, Any]) -> dict[str, Any]:
    plain = (str, int, float, bool, type(None))
    return {k: v if isinstance(v, plain) else str(v) for k, v in entry.items()}


def _row_mask(table: pa.Table, replacement: Replacement, day: date | None) -> pa.Array:
    """Which rows of a mixed file the replacement selects."""
    if not replacement.may_match_day(day) or "source" not in table.column_names:
        return pa.array([False] * table.num_rows)
    source = table.column("source").cast(pa.string())
    mask = pc.equal(source, replacement.source)
    if "scope" in table.column_names:
        scope = table.column("scope").cast(pa.string())
        if replacement.scope is not None:
            mask = pc.and_(mask, pc.equal(scope, replacement.scope))
        if replacement.keep_scopes:
            keep = pc.is_in(scope, pa.array(sorted(replacement.keep_scopes)))
            mask = pc.and_(mask, pc.invert(keep))
    return pc.fill_null(mask, False)


def _replaced(
    lake: Lake,
    spec: TableSpec,
    current: list[DataFile],
    replacement: Replacement,
    read_rows: bool,
) -> tuple[list[DataFile], list[DataFile], dict[date | None, list[pa.Table]]]:
    """Files to remove, rewritten files keeping other rows, and (for merges) the replaced rows."""
    table_dir = lake.table_dir(spec.name)
    removes: list[DataFile] = []
    kept: list[DataFile] = []
    rows: dict[date | None, list[pa.Table]] = {}
    for f in current:
        if not replacement.may_match_day(f.day):
            continue
        if f.homogeneous:
            assert f.source is not None and f.scope is not None
            if not replacement.matches(f.source, f.scope, f.day):
                continue
            removes.append(f)
            if read_rows:
                rows.setdefault(f.day, []).append(_read(table_dir, f))
            continue
        data = _read(table_dir, f)
        mask = _row_mask(data, replacement, f.day)
        hits = pc.sum(mask).as_py() or 0
        if hits == 0:
            continue
        removes.append(f)
        if read_rows:
            rows.setdefault(f.day, []).append(data.filter(mask))
        if hits < data.num_rows:
            rest = conform(spec, data.filter(pc.invert(mask)))
            kept.append(write_file(table_dir, spec, rest, day=f.day, source=None, scope=None))
    return removes, kept, rows


def _read(table_dir: Any, f: DataFile) -> pa.Table:
    table = pq.read_table(table_dir / f.path)
    return table.drop_columns(["day"]) if "day" in table.column_names else table


def _merged(
    lake: Lake,
    spec: TableSpec,
    writes: Sequence[PendingWrite],
    replaced_rows: dict[date | None, list[pa.Table]],
) -> list[DataFile]:
    """New rows merged with the replaced ones by key, newest wins: one file per day."""
    table_dir = lake.table_dir(spec.name)
    by_day: dict[date | None, list[pa.Table]] = {}
    for w in writes:
        for f in w.files:
            by_day.setdefault(f.day, []).append(_read(table_dir, f))
    out: list[DataFile] = []
    first = writes[0]
    for day, new_parts in by_day.items():
        schema = spec.arrow_schema()
        parts = [conform(spec, t).cast(schema) for t in [*replaced_rows.get(day, []), *new_parts]]
        combined = pa.concat_tables(parts)
        merged = newest_wins(spec, combined)  # existing first: new rows win ties
        out.append(
            write_file(table_dir, spec, merged, day=day, source=first.source, scope=first.scope)
        )
    return out
