"""Snapshots: one Delta version per table, resolved once, read consistently.

A :class:`LakeSnapshot` is what a report, a CLI command or a dashboard render reads: for every
table the version it reads (``None`` when the table did not exist yet) and that version's data
files, with the rows of the selected sources. Files removed by later commits stay on disk until
``lake vacuum``, so a snapshot stays readable while writers commit.

The simulated world is pinned: the simulator records the version of every table it wrote in
its truth, last, and a snapshot reads the simulator's files of those versions even when a later
simulation has started to publish (or was killed half way), so the rows of one world always sit
beside the truth that describes them. Rows of real sources are read at the snapshot's version.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal

import duckdb
import pyarrow as pa
from deltalake import DeltaTable

from codex_metrics.errors import ParameterError
from codex_metrics.lake._delta import (
    COMMIT_INFO_KEY,
    DataFile,
    files_may_differ,
    open_table,
    table_files,
)
from codex_metrics.lake._maintenance import explain_read_error
from codex_metrics.lake._world import SIMULATOR_SOURCE, World, current_world
from codex_metrics.lake.schema import TableSpec
from codex_metrics.lake.tables import TABLES

if TYPE_CHECKING:
    from codex_metrics.lake._lake import Lake

__all__ = ["LakeSnapshot", "SourceSelection", "TableVersion", "parse_as_of", "resolve_snapshot"]

_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "large_string": "VARCHAR",
    "int32": "INTEGER",
    "int64": "BIGINT",
    "double": "DOUBLE",
    "bool": "BOOLEAN",
    "date32[day]": "DATE",
}


@dataclass(frozen=True)
class SourceSelection:
    """Which sources a read selects.

    Attributes:
        mode: ``all`` sources, ``only`` the named ones, or ``real`` (every source but the
            simulator).
        names: the named sources for ``only``.
        defaulted: chosen by the default rule rather than asked for.
    """

    mode: Literal["all", "only", "real"]
    names: tuple[str, ...] = ()
    defaulted: bool = False

    @classmethod
    def parse(cls, value: str | Sequence[str] | None) -> SourceSelection | None:
        """``None`` (the default rule), ``all``, or source names (comma-separated or a list)."""
        if value is None:
            return None
        names = value.split(",") if isinstance(value, str) else list(value)
        names = [n.strip() for n in names if n.strip()]
        if not names:
            raise ParameterError("--source", "name at least one source, or all")
        if "all" in names:
            if len(names) > 1:
                raise ParameterError("--source", "all cannot be combined with source names")
            return cls("all")
        return cls("only", tuple(sorted(set(names))))

    def includes(self, source: str) -> bool:
        """Whether rows of ``source`` are read."""
        if self.mode == "all":
            return True
        if self.mode == "real":
            return source != SIMULATOR_SOURCE
        return source in self.names

    def sql(self) -> str | None:
        """A row filter for files holding several sources (``None``: keep every row)."""
        if self.mode == "all":
            return None
        if self.mode == "real":
            return f"source <> '{SIMULATOR_SOURCE}'"
        quoted = ", ".join("'" + n.replace("'", "''") + "'" for n in self.names)
        return f"source IN ({quoted})"

    def describe(self) -> str:
        """Human form: ``all``, ``real sources`` or the names."""
        if self.mode == "all":
            return "all"
        if self.mode == "real":
            return "real sources (every source but the simulator)"
        return ",".join(self.names)


@dataclass(frozen=True)
class TableVersion:
    """One table as a snapshot reads it.

    Attributes:
        name: the table.
        version: its Delta version (``None``: the table did not exist).
        files: the data files read (every source; selection happens on read).
        world_version: the version the simulator's files come from, when pinned to the world.
        columns: columns of the Delta table's schema.
        union_by_name: read the files' columns by name (their schemas may differ).
    """

    name: str
    version: int | None
    files: tuple[DataFile, ...] = ()
    world_version: int | None = None
    columns: frozenset[str] = frozenset()
    union_by_name: bool = True


AsOf = datetime | Mapping[str, int] | None


def parse_as_of(value: str | None) -> AsOf:
    """Parse ``--as-of``: a UTC timestamp, or ``TABLE@N[,TABLE@N]``.

    Raises:
        ParameterError: neither form, or an unknown table.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if "@" in text:
        versions: dict[str, int] = {}
        for part in text.split(","):
            name, _, number = part.strip().partition("@")
            if name not in TABLES:
                raise ParameterError("--as-of", f"unknown table {name!r} in {part!r}")
            if not number.isdigit():
                raise ParameterError("--as-of", f"{part!r}: the version after @ must be a number")
            versions[name] = int(number)
        return versions
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ParameterError(
            "--as-of",
            f"{text!r} is neither a UTC timestamp (2026-11-26T09:30:00Z) nor TABLE@VERSION",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _load(lake: Lake, spec: TableSpec, as_of: AsOf, world: World | None) -> TableVersion:
    table_dir = lake.table_dir(spec.name)
    explicit = isinstance(as_of, Mapping) and spec.name in as_of
    if isinstance(as_of, Mapping):
        dt = open_table(table_dir, version=as_of[spec.name]) if explicit else open_table(table_dir)
    else:
        dt = open_table(table_dir)
        if dt is not None and isinstance(as_of, datetime):
            try:
                dt.load_as_version(as_of)
            except Exception:  # before the table's first commit
                return TableVersion(spec.name, None)
    if dt is None:
        return TableVersion(spec.name, None)
    version = dt.version()
    files = table_files(dt)
    columns = frozenset(f.name for f in dt.schema().fields)
    union = files_may_differ(dt)
    pinned = None if world is None or explicit else world.versions.get(spec.name)
    if pinned is None or pinned >= version or pinned < 0 or not _simulated_since(dt, pinned):
        return TableVersion(spec.name, version, tuple(files), None, columns, union)
    # A simulation published into the table after the world was recorded, and has not recorded
    # its own world (it is publishing, or was killed): keep the table's real rows as they are
    # now and read the simulator's files of the recorded world.
    at_world = open_table(table_dir, version=pinned)
    world_files = table_files(at_world) if at_world is not None else []
    merged = [f for f in files if f.source != SIMULATOR_SOURCE]
    merged += [f for f in world_files if f.source == SIMULATOR_SOURCE]
    if any(f.source is None for f in files):  # mixed files: cannot split them by source
        merged = files
    merged.sort(key=lambda f: f.path)
    return TableVersion(spec.name, version, tuple(merged), pinned, columns, union)


def _simulated_since(dt: DeltaTable, version: int) -> bool:
    """Whether a simulation committed to the table after ``version``."""
    for entry in dt.history(dt.version() - version):
        if int(entry.get("version", -1)) <= version:
            continue
        mine = entry.get(COMMIT_INFO_KEY)
        if isinstance(mine, dict) and mine.get("operation") == "simulate":
            return True
    return False


def resolve_snapshot(
    lake: Lake, *, as_of: AsOf = None, sources: SourceSelection | None = None
) -> LakeSnapshot:
    """Resolve every table's version (and the simulated world's pins) once."""
    world = current_world(lake.root, as_of=as_of if isinstance(as_of, datetime) else None)
    tables = {name: _load(lake, spec, as_of, world) for name, spec in TABLES.items()}
    if sources is None:
        real = any(
            f.source != SIMULATOR_SOURCE
            for name, tv in tables.items()
            if TABLES[name].selects_source
            for f in tv.files
            if f.rows != 0
        )
        sources = SourceSelection(
            "real" if real else "only", () if real else (SIMULATOR_SOURCE,), defaulted=True
        )
    return LakeSnapshot(lake, tables, sources, as_of, world)


@dataclass(frozen=True)
class LakeSnapshot:
    """A lake read at one version per table, with a source selection."""

    lake: Lake
    tables: Mapping[str, TableVersion]
    sources: SourceSelection
    as_of: AsOf = None
    world: World | None = None

    @property
    def versions(self) -> dict[str, int]:
        """Table -> version, for the tables that exist."""
        return {n: t.version for n, t in self.tables.items() if t.version is not None}

    @property
    def key(self) -> str:
        """A short hash of the versions, the world pins and the sources (a cache key)."""
        doc = {
            "versions": self.versions,
            "world": {n: t.world_version for n, t in self.tables.items() if t.world_version},
            "sources": [self.sources.mode, *self.sources.names],
        }
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:12]

    def selected(self, table: str) -> list[DataFile]:
        """The data files of ``table`` holding selected rows."""
        tv = self.tables[table]
        if not TABLES[table].selects_source:
            return list(tv.files)
        return [f for f in tv.files if f.source is None or self.sources.includes(f.source)]

    def days(self, table: str) -> set[date]:
        """Partition days of ``table`` with selected rows."""
        return {f.day for f in self.selected(table) if f.day is not None}

    def sources_read(self, tables: list[str] | tuple[str, ...] | None = None) -> list[str]:
        """The distinct sources of the selected rows of ``tables`` (default: all)."""
        names = set()
        for name in tables or list(self.tables):
            if name in self.tables and TABLES[name].selects_source:
                names |= {f.source or "mixed" for f in self.selected(name)}
        return sorted(names)

    def to_dict(self, tables: list[str] | tuple[str, ...] | None = None) -> dict[str, Any]:
        """Metadata for result envelopes: versions, world pins, sources and the hash."""
        wanted = [t for t in (tables or list(self.tables)) if t in self.tables]
        return {
            "versions": {t: self.tables[t].version for t in wanted},
            "world_versions": {
                t: self.tables[t].world_version for t in wanted if self.tables[t].world_version
            },
            "sources": self.sources_read(wanted),
            "source_selection": self.sources.describe(),
            "hash": self.key,
            "as_of": self.as_of.isoformat() if isinstance(self.as_of, datetime) else self.as_of,
        }

    # -- reading ---------------------------------------------------------------------------
    def uris(self, table: str) -> list[str]:
        """Absolute paths of the selected files of ``table``."""
        root = self.lake.table_dir(table)
        return [str(root / f.path) for f in self.selected(table)]

    def row_filter(self, table: str) -> str | None:
        """SQL filter needed on top of the file selection (files mixing several sources)."""
        if not TABLES[table].selects_source:
            return None
        if any(f.source is None for f in self.selected(table)):
            return self.sources.sql()
        return None

    def view_sql(self, table: str) -> str | None:
        """The DuckDB ``SELECT`` over ``table``'s files (``None`` when it has none)."""
        spec = TABLES[table]
        uris = self.uris(table)
        if not uris:
            return None
        listed = ", ".join("'" + u.replace("'", "''") + "'" for u in uris)
        hive = (
            ", hive_partitioning = true, hive_types = {'day': 'DATE'}"
            if spec.partitioning
            else ", hive_partitioning = false"
        )
        missing = [
            f'NULL::{_DUCKDB_TYPES.get(str(c.type), "VARCHAR")} AS "{c.name}"'
            for c in spec.columns
            if self.tables[table].columns and c.name not in self.tables[table].columns
        ]
        select = ", ".join(["*", *missing])
        union = "true" if self.tables[table].union_by_name else "false"
        sql = f"SELECT {select} FROM read_parquet([{listed}], union_by_name = {union}{hive})"
        where = self.row_filter(table)
        return f"{sql} WHERE {where}" if where else sql

    def connect(self, con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with one view per table (empty tables get a typed empty view)."""
        con = con or duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        for name, spec in TABLES.items():
            sql = self.view_sql(name)
            if sql is not None:
                try:
                    con.execute(f'CREATE OR REPLACE VIEW "{name}" AS {sql}')
                except duckdb.Error as exc:  # binding the view reads the files' footers
                    explained = explain_read_error(exc)
                    if explained is None:
                        raise
                    raise explained from None
            else:
                empty = pa.Table.from_batches([], schema=spec.reader_schema())
                con.register(f"__empty_{name}", empty)
                con.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM "__empty_{name}"')
        return con
