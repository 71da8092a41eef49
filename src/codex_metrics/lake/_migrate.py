"""``lake migrate``: convert a lake of the previous layout (schema version 1) to Delta tables.

A version-1 lake is plain Parquet folders: ``<table>/day=YYYY-MM-DD/<source>~<scope>~<uid>.parquet``
(directly under ``<table>/`` for whole tables, and for ``seats``), rows without ``scope`` (the
raw scope is in each file's key-value metadata, a slug of it in the name), ``_staging/`` with
crashed writers' leftovers and ``_simulator/truth.json`` without table versions.

The conversion, in this order:

1. list each table's legacy files and read their footers; a file that cannot be read stops the
   migration before anything is written (:class:`~codex_metrics.errors.LakeCorruptError`);
2. record that list in ``<lake>/.codex-metrics/migrate-v1.json`` (the manifest);
3. per table: read each file, add ``scope``, conform the rows to the table's spec, write them as
   new data files beside the old ones and commit them all in one Delta commit (version 0
   creates the table as for any lake table, version 1 holds every row; ``seats`` rows get a
   day: the simulated world's last day for simulator rows, else their ``ingested_at`` day);
4. record the simulated world: the truth with ``table_versions``, then the world log;
5. write the marker: from here on the lake is a version-2 lake;
6. delete the legacy files, ``_staging/``, the old truth parts, then the manifest.

Until step 5 the marker says version 1, so every reader refuses the lake and a re-run starts
over: it removes what an earlier, killed run created (Delta logs, data files the manifest does not
list, recorded worlds) and converts again. Legacy files are never touched before step 5. A crash
during step 6 leaves untracked files only: readers never see them, ``lake vacuum`` removes them,
and ``lake migrate`` finishes the clean-up while the manifest is still there.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from codex_metrics.errors import LakeCorruptError, LakeFormatError, SchemaMismatchError
from codex_metrics.lake._delta import (
    LOG_DIR,
    DataFile,
    commit_actions,
    create_table,
    open_table,
    table_files,
)
from codex_metrics.lake._files import LegacyFile, list_legacy_files
from codex_metrics.lake._lake import LEGACY_SCHEMA_VERSION, Lake
from codex_metrics.lake._locks import HIDDEN_DIR
from codex_metrics.lake._world import SIMULATOR_SOURCE, WORLDS_FILE
from codex_metrics.lake._writer import conform, constant_column, write_file
from codex_metrics.lake.schema import SCHEMA_VERSION, TableSpec
from codex_metrics.lake.tables import TABLES

__all__ = ["MigrationReport", "TableMigration", "migrate_lake"]

ProgressCallback = Callable[[int, int], None]

MANIFEST = "migrate-v1.json"
STAGING_DIR = "_staging"
TRUTH_FILE = "truth.json"
_SOURCE_KEY = b"codex_metrics.source"
_SCOPE_KEY = b"codex_metrics.scope"
_VERSION_KEY = b"codex_metrics.schema_version"


@dataclass(frozen=True)
class TableMigration:
    """One table converted.

    Attributes:
        table: the table.
        rows: rows converted.
        legacy_files: files of the previous layout read.
        files: Delta data files written.
        version: the table's Delta version holding them.
        simulated: whether it holds simulator rows (the recorded world names its version).
    """

    table: str
    rows: int
    legacy_files: int
    files: int
    version: int
    simulated: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class MigrationReport:
    """What ``lake migrate`` did.

    Attributes:
        lake: the lake's root.
        from_version: the schema version the lake had (``SCHEMA_VERSION``: nothing to do).
        tables: the tables converted, in declaration order.
        world: run id of the simulated world recorded, or ``None``.
        world_note: why no world was recorded, when the lake had a truth.
        removed: files of the previous layout deleted after the marker was updated.
        seconds: wall time.
    """

    lake: Path
    from_version: int
    tables: tuple[TableMigration, ...] = ()
    world: str | None = None
    world_note: str | None = None
    removed: int = 0
    seconds: float = 0.0

    @property
    def nothing_to_do(self) -> bool:
        """Whether the lake was already at the current schema version."""
        return self.from_version >= SCHEMA_VERSION

    @property
    def world_recorded(self) -> bool:
        """Whether the simulated world was recorded with its table versions."""
        return self.world is not None

    @property
    def rows(self) -> dict[str, int]:
        """Rows per converted table."""
        return {t.table: t.rows for t in self.tables}

    @property
    def legacy_files(self) -> int:
        """Legacy files converted."""
        return sum(t.legacy_files for t in self.tables)

    def summary(self) -> str:
        """One line per table, then a total line."""
        if self.nothing_to_do:
            line = f"{self.lake} is already at schema version {SCHEMA_VERSION}: nothing to do"
            if self.removed:
                line += f" (removed {self.removed} leftover file(s) of the previous layout)"
            return line
        lines = [
            f"{t.table}: {t.rows:,} rows from {t.legacy_files} file(s) -> version {t.version}"
            for t in self.tables
        ]
        total = (
            f"total: {sum(self.rows.values()):,} rows in {len(self.tables)} table(s) from "
            f"{self.legacy_files} file(s), schema version {self.from_version} -> {SCHEMA_VERSION}"
        )
        if self.world is not None:
            total += f"; simulated world {self.world} recorded"
        elif self.world_note:
            total += f"; {self.world_note}"
        lines.append(total + f"; removed {self.removed} old file(s) in {self.seconds:.1f} s")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        doc = asdict(self) | {"lake": str(self.lake), "tables": [asdict(t) for t in self.tables]}
        return doc | {"to_version": SCHEMA_VERSION, "nothing_to_do": self.nothing_to_do}


@dataclass
class _Source:
    """A legacy file with what its footer says."""

    ref: LegacyFile
    rel: str
    scope: str
    run_ids: frozenset[str] = field(default_factory=frozenset)


def migrate_lake(
    path: Path | str, *, on_progress: ProgressCallback | None = None
) -> MigrationReport:
    """Convert the lake at ``path`` from the previous layout to Delta tables, in place.

    Re-runnable: a run killed at any point leaves a lake that still counts as the previous
    layout (readers refuse it) with its original files intact, and the next run converts it.

    Args:
        path: the lake's folder.
        on_progress: called with (legacy files converted, legacy files in all).

    Raises:
        LakeCorruptError: a legacy file cannot be read (nothing is converted, the marker is
            unchanged).
        LakeFormatError: the truth of the simulated world is unreadable, or the lake is newer.
        LakePathError: no lake at ``path``.
    """
    started = time.perf_counter()
    lake = Lake.open(path, create=False, allow_legacy=True)
    from_version = lake.schema_version
    with lake.lock("migrate", what="migrating the lake"):
        if from_version >= SCHEMA_VERSION:
            removed = _finish_cleanup(lake)
            return MigrationReport(lake.root, from_version, removed=removed)
        manifest = _read_manifest(lake)
        sources = {name: _legacy_files(lake, spec, manifest) for name, spec in TABLES.items()}
        sources = {name: files for name, files in sources.items() if files}
        truth = _read_truth(lake)
        world_run, world_note = _world_run(truth, sources)
        last_day = _last_day(truth) if truth is not None and world_run is not None else None

        _write_manifest(lake, sources)
        _undo_earlier_run(lake, sources)
        total = sum(len(files) for files in sources.values())
        done = 0

        def advance(files: int) -> None:
            nonlocal done
            done += files
            if on_progress is not None:
                on_progress(done, total)

        advance(0)
        converted = [
            _convert_table(lake, TABLES[name], files, last_day, advance)
            for name, files in sources.items()
        ]
        if truth is not None and world_run is not None:
            versions = {t.table: t.version for t in converted if t.simulated}
            _record_world(lake, truth, world_run, versions)
        lake.mark_current()
        removed = _finish_cleanup(lake)
    return MigrationReport(
        lake.root,
        from_version,
        tuple(converted),
        world=world_run,
        world_note=world_note,
        removed=removed,
        seconds=time.perf_counter() - started,
    )


# -- finding the legacy files ----------------------------------------------------------------
def _manifest_path(lake: Lake) -> Path:
    return lake.root / HIDDEN_DIR / MANIFEST


def _read_manifest(lake: Lake) -> dict[str, set[str]] | None:
    try:
        doc = json.loads(_manifest_path(lake).read_text())
        return {str(t): {str(p) for p in paths} for t, paths in doc["tables"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        # Written atomically, so only a hand edit breaks it; then the footers tell old from new.
        return None


def _write_manifest(lake: Lake, sources: Mapping[str, list[_Source]]) -> None:
    doc = {
        "from_schema_version": LEGACY_SCHEMA_VERSION,
        "tables": {name: [s.rel for s in files] for name, files in sources.items()},
    }
    _atomic_json(_manifest_path(lake), doc)


def _footer(path: Path) -> pq.FileMetaData | None:
    try:
        return pq.read_metadata(path)
    except (OSError, pa.ArrowException):
        return None


def _legacy_files(
    lake: Lake, spec: TableSpec, manifest: Mapping[str, set[str]] | None
) -> list[_Source]:
    """The table's files of the previous layout, with their footers read.

    A file the manifest of an earlier run lists is legacy; any other file this package wrote
    (footer schema version 2, or unreadable while a manifest exists: cut short by a kill) is a
    leftover of that run and is skipped here (:func:`_undo_earlier_run` removes it).

    Raises:
        LakeCorruptError: a legacy file's footer cannot be read.
    """
    table_dir = lake.table_dir(spec.name)
    listed = None if manifest is None else manifest.get(spec.name, set())
    out = []
    for ref in list_legacy_files(table_dir, spec.name):
        rel = ref.path.relative_to(table_dir).as_posix()
        footer = _footer(ref.path)
        if listed is None or rel not in listed:
            if footer is None and listed is not None:
                continue
            if footer is not None and _footer_version(footer) >= SCHEMA_VERSION:
                continue
        if footer is None:
            raise _corrupt(spec.name, rel, "has an unreadable Parquet footer")
        meta = footer.metadata or {}
        scope = meta.get(_SCOPE_KEY, b"").decode() or ref.scope
        source = meta.get(_SOURCE_KEY, b"").decode() or ref.source
        run_ids: frozenset[str] = frozenset()
        if source == SIMULATOR_SOURCE:
            run_ids = _run_ids(spec.name, rel, ref.path)
        out.append(_Source(ref, rel, scope, run_ids))
    return out


def _footer_version(footer: pq.FileMetaData) -> int:
    raw = (footer.metadata or {}).get(_VERSION_KEY, b"")
    try:
        return int(raw.decode())
    except ValueError:
        return LEGACY_SCHEMA_VERSION


def _run_ids(table: str, rel: str, path: Path) -> frozenset[str]:
    try:
        column = pq.ParquetFile(path).read(columns=["run_id"]).column("run_id")
    except (OSError, KeyError, pa.ArrowException) as exc:
        raise _corrupt(table, rel, f"cannot be read ({exc})") from None
    return frozenset(v for v in pc.unique(column.cast(pa.string())).to_pylist() if v is not None)


def _corrupt(table: str, rel: str, problem: str) -> LakeCorruptError:
    """A :class:`LakeCorruptError` whose advice fits a lake that is not converted yet."""
    exc = LakeCorruptError(table, rel, problem)
    # The usual advice (`lake check`) needs a converted lake; say what works here instead.
    exc.args = (
        f"table {table}: data file {rel} {problem}; the lake is still in the previous layout "
        "and its files are untouched: restore the file from a backup or move it aside, then run "
        "`codex-metrics lake migrate` again",
    )
    return exc


# -- the simulated world -----------------------------------------------------------------------
def _read_truth(lake: Lake) -> dict[str, Any] | None:
    path = lake.simulator_dir / TRUTH_FILE
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_text())
        if not isinstance(doc, dict):
            raise TypeError("a JSON object is expected")
        str(doc["run_id"])
        _last_day(doc)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LakeFormatError(
            path,
            f"not a readable simulator truth ({exc}); restore it, or delete it to migrate the "
            "lake without its simulated world, then run `codex-metrics lake migrate` again",
        ) from None
    return doc


def _last_day(truth: Mapping[str, Any]) -> date:
    return date.fromisoformat(str(truth["start"])) + timedelta(days=int(truth["days"]) - 1)


def _world_run(
    truth: Mapping[str, Any] | None, sources: Mapping[str, list[_Source]]
) -> tuple[str | None, str | None]:
    """The run id of the world to record, or why none is (its truth must describe the rows)."""
    if truth is None:
        return None, None
    run_id = str(truth["run_id"])
    rows_runs = set().union(*(s.run_ids for files in sources.values() for s in files))
    if rows_runs and rows_runs != {run_id}:
        others = ", ".join(sorted(rows_runs - {run_id})) or "none"
        return None, (
            f"truth.json describes run {run_id} but the simulator rows are of run(s) {others} "
            "(a simulation was interrupted): no world recorded; run `codex-metrics simulate` "
            "again for a world with its truth"
        )
    return run_id, None


def _record_world(
    lake: Lake, truth: Mapping[str, Any], run_id: str, versions: Mapping[str, int]
) -> None:
    """Store the truth with its table versions, then record the world (as the simulator does)."""
    doc = {**truth, "table_versions": dict(versions)}
    folder = lake.simulator_dir
    _atomic_json(folder / f"truth-{run_id}.json", doc)
    lake.publish_world(run_id, versions)
    _atomic_json(folder / TRUTH_FILE, doc)


def _atomic_json(path: Path, doc: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=True, default=str))
    os.replace(tmp, path)


# -- converting ----------------------------------------------------------------------------------
def _undo_earlier_run(lake: Lake, sources: Mapping[str, list[_Source]]) -> None:
    """Remove what a killed earlier migration created; legacy files stay as they are."""
    for name in TABLES:
        table_dir = lake.table_dir(name)
        if not table_dir.is_dir():
            continue
        keep = {s.ref.path for s in sources.get(name, [])}
        for ref in list_legacy_files(table_dir, name):
            if ref.path not in keep:
                ref.path.unlink(missing_ok=True)
        shutil.rmtree(table_dir / LOG_DIR, ignore_errors=True)
    # A version-1 lake has no world log nor per-run truths: an earlier run wrote them.
    (lake.simulator_dir / WORLDS_FILE).unlink(missing_ok=True)
    for path in lake.simulator_dir.glob("truth-*.json"):
        path.unlink(missing_ok=True)


def _convert_table(
    lake: Lake,
    spec: TableSpec,
    files: list[_Source],
    last_day: date | None,
    advance: Callable[[int], None],
) -> TableMigration:
    """Create the Delta table and commit every legacy file's rows in one commit."""
    table_dir = lake.table_dir(spec.name)
    dt = create_table(table_dir, spec)
    adds: list[DataFile] = []
    for src in files:
        adds.extend(_convert_file(table_dir, spec, src, last_day))
        advance(1)
    rows = sum(f.rows or 0 for f in adds)
    version = dt.version()
    if adds:
        info = {
            "operation": "migrate",
            "source": ", ".join(sorted({f.source or "mixed" for f in adds})),
            "from_schema_version": LEGACY_SCHEMA_VERSION,
            "rows_added": rows,
            "rows_removed": 0,
            "legacy_files": len(files),
        }
        version = commit_actions(dt, spec, adds=adds, removes=[], info=info)
    simulated = any(f.source == SIMULATOR_SOURCE for f in adds)
    return TableMigration(spec.name, rows, len(files), len(adds), version, simulated)


def _convert_file(
    table_dir: Path, spec: TableSpec, src: _Source, last_day: date | None
) -> list[DataFile]:
    """Write one legacy file's rows as new data files (one per day) of the Delta table."""
    try:
        data = pq.ParquetFile(src.ref.path).read()
    except (OSError, pa.ArrowException) as exc:
        raise _corrupt(spec.name, src.rel, f"cannot be read ({exc})") from None
    if "day" in data.column_names:
        data = data.drop_columns(["day"])
    if "scope" not in data.column_names:
        data = data.append_column("scope", constant_column(src.scope, data.num_rows))
    try:
        rows = conform(spec, data.replace_schema_metadata(None))
    except SchemaMismatchError as exc:
        raise _corrupt(spec.name, src.rel, f"does not fit the table ({exc})") from None
    if rows.num_rows == 0:
        return []
    out = []
    for day, part in _by_day(spec, src.ref, rows, last_day):
        values = pc.unique(part.column("source").cast(pa.string())).to_pylist()
        source = values[0] if len(values) == 1 else None
        out.append(write_file(table_dir, spec, part, day=day, source=source, scope=src.scope))
    return out


def _by_day(
    spec: TableSpec, ref: LegacyFile, rows: pa.Table, last_day: date | None
) -> Iterable[tuple[date | None, pa.Table]]:
    """Split rows by partition day: the file's folder, or per row for tables that gained days.

    ``seats`` was a whole table and is now a daily snapshot: simulator rows are the snapshot of
    the simulated world's last day (as the simulator writes them now), other rows the snapshot of
    the day they were ingested.
    """
    if spec.partitioning != "day":
        yield None, rows
        return
    if ref.day is not None:
        yield ref.day, rows
        return
    days = pc.cast(rows.column("ingested_at"), pa.date32())
    if last_day is not None:
        simulated = pc.equal(rows.column("source").cast(pa.string()), SIMULATOR_SOURCE)
        days = pc.if_else(simulated, pa.scalar(last_day, pa.date32()), days)
    for day in sorted(pc.unique(days).to_pylist()):
        yield day, rows.filter(pc.equal(days, pa.scalar(day, pa.date32())))


# -- after the marker ----------------------------------------------------------------------------
def _finish_cleanup(lake: Lake) -> int:
    """Delete the previous layout's files once the lake is at the current version.

    Only files the manifest lists and no table version references are deleted, then
    ``_staging/``, the old truth parts and the manifest itself (last: it marks the work left).
    """
    manifest = _read_manifest(lake)
    if manifest is None:
        return 0
    removed = 0
    for name, rels in manifest.items():
        table_dir = lake.table_dir(name)
        dt = open_table(table_dir)
        referenced = {f.path for f in table_files(dt)} if dt is not None else set()
        for rel in sorted(rels - referenced):
            path = table_dir / rel
            if path.exists():
                path.unlink()
                removed += 1
            if path.parent != table_dir and path.parent.is_dir() and not any(path.parent.iterdir()):
                path.parent.rmdir()
    staging = lake.root / STAGING_DIR
    if staging.exists():
        removed += sum(1 for p in staging.rglob("*") if p.is_file())
        shutil.rmtree(staging, ignore_errors=True)
    for part in lake.simulator_dir.glob("truth.part-*.json"):
        part.unlink(missing_ok=True)
        removed += 1
    _manifest_path(lake).unlink(missing_ok=True)
    return removed
