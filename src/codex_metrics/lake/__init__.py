"""The lake: Delta Lake tables with atomic commits, pinned snapshots, sources and time travel.

The bottom layer of codex-metrics: it declares every table (:mod:`codex_metrics.lake.tables`)
and imports nothing above it.
"""

from codex_metrics.lake._delta import DataFile
from codex_metrics.lake._forget import ForgetReport
from codex_metrics.lake._lake import MARKER, Lake
from codex_metrics.lake._maintenance import (
    Commit,
    Problem,
    TableInfo,
    VacuumReport,
    explain_read_error,
)
from codex_metrics.lake._migrate import MigrationReport, TableMigration, migrate_lake
from codex_metrics.lake._runs import RunRecord, source_freshness, source_run
from codex_metrics.lake._snapshot import LakeSnapshot, SourceSelection, TableVersion, parse_as_of
from codex_metrics.lake._world import SIMULATOR_SOURCE, World
from codex_metrics.lake._writer import (
    PendingWrite,
    Replacement,
    TableWriter,
    WriteReport,
    conform,
    newest_wins,
)
from codex_metrics.lake.schema import SCHEMA_VERSION, Column, TableSpec
from codex_metrics.lake.tables import TABLES, table_spec

__all__ = [
    "MARKER",
    "SCHEMA_VERSION",
    "SIMULATOR_SOURCE",
    "TABLES",
    "Column",
    "Commit",
    "DataFile",
    "ForgetReport",
    "Lake",
    "LakeSnapshot",
    "MigrationReport",
    "PendingWrite",
    "Problem",
    "Replacement",
    "RunRecord",
    "SourceSelection",
    "TableInfo",
    "TableMigration",
    "TableSpec",
    "TableVersion",
    "TableWriter",
    "VacuumReport",
    "World",
    "WriteReport",
    "conform",
    "explain_read_error",
    "migrate_lake",
    "newest_wins",
    "parse_as_of",
    "source_freshness",
    "source_run",
    "table_spec",
]
