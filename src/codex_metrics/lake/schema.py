"""How a lake table is declared: columns, key, partitioning, and the vocabulary they share.

A :class:`TableSpec` names its stored columns (Arrow types and a sentence of meaning), its key
(rows with equal keys are one fact; the newest wins), how it is partitioned, and the columns that
order "newest". The declarations themselves live in :mod:`codex_metrics.lake.tables`; the lake
is the bottom layer, so every source (simulator, ingest, collectors, evaluation) and every
consumer imports its tables from here, and this package imports nothing above it.

Conventions shared by all tables:

* every row carries ``source`` (who wrote it: ``simulator``, ``copilot-report``, ``github``, ...),
  ``scope`` (what was read: an org or enterprise, a repository, a tag, a simulated world) and
  ``ingested_at``; simulated rows also carry ``run_id``;
* timestamps are timezone-aware UTC; day-partitioned tables do not store ``day`` in their
  Parquet files, it is the Delta partition value (``day=YYYY-MM-DD/`` folders) and readers see
  it as a ``DATE`` column;
* identifiers of people are pseudonymous strings (see DESIGN.md, personal data); event,
  session and task identifiers are 64-bit integers (adapters hash string ids into them);
* categorical columns hold the lower-case values listed in their enum;
* schema changes are additive: a new version may add tables and nullable columns, never rename
  or retype one (renames go through this module and a migration).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa

__all__ = [
    "BOOKKEEPING_COLUMNS",
    "BREAKDOWNS",
    "BREAKDOWN_DIMENSIONS",
    "EDITORS",
    "FAILURE_MODES",
    "FEATURES",
    "LANGUAGES",
    "REQUEST_STATUSES",
    "SCHEMA_VERSION",
    "TASK_OUTCOMES",
    "USAGE_COUNTERS",
    "USAGE_FEATURE_NAMES",
    "UTC_TS",
    "Column",
    "TableSpec",
    "bookkeeping",
    "col",
]

#: Version of the lake layout and schema: 1 was plain Parquet folders, 2 is Delta Lake tables
#: with a ``scope`` column. Recorded in ``_lake.json`` and in each table's Delta configuration.
SCHEMA_VERSION = 2

UTC_TS = pa.timestamp("us", tz="UTC")

FEATURES = ("code_completion", "chat_inline", "chat_panel", "agent_edit", "cli")
# GitHub's Copilot usage-metrics report spells some features differently; usage_daily uses
# GitHub's spelling so real reports and simulated roll-ups share one vocabulary.
USAGE_FEATURE_NAMES = {
    "code_completion": "code_completion",
    "chat_inline": "chat_inline",
    "chat_panel": "chat_panel_ask_mode",
    "agent_edit": "agent_edit",
    "cli": "copilot_cli",
}
REQUEST_STATUSES = ("ok", "error", "timeout", "cancelled")
LANGUAGES = ("python", "typescript", "javascript", "java", "go", "csharp", "cpp", "rust", "ruby")
EDITORS = ("vscode", "jetbrains", "neovim", "visualstudio")
FAILURE_MODES = (
    "none",  # nothing went wrong (shown and accepted, kept)
    "not_accepted",  # shown, the developer did not take it
    "service_error",  # the request failed (status error)
    "timeout",  # the request timed out
    "cancelled",  # the client cancelled (typing went on)
    "compile_error",  # accepted, then the code did not compile / parse
    "runtime_error",  # accepted, then the code failed when run or tested
    "hallucinated_api",  # accepted, referenced an API that does not exist
    "heavily_edited",  # accepted, but more than half of it was rewritten within 10 minutes
)
TASK_OUTCOMES = ("success", "fail", "timeout", "error")
BREAKDOWNS = ("total", "ide", "feature", "language_feature", "language_model", "model_feature")
BREAKDOWN_DIMENSIONS: dict[str, tuple[str, ...]] = {
    "total": (),
    "ide": ("ide",),
    "feature": ("feature",),
    "language_feature": ("language", "feature"),
    "language_model": ("language", "model"),
    "model_feature": ("model", "feature"),
}
USAGE_COUNTERS = (
    "user_initiated_interaction_count",
    "code_generation_activity_count",
    "code_acceptance_activity_count",
    "loc_suggested_to_add_sum",
    "loc_suggested_to_delete_sum",
    "loc_added_sum",
    "loc_deleted_sum",
)

#: Columns every table carries, filled by the lake's writer when the rows do not set them.
BOOKKEEPING_COLUMNS = ("source", "scope", "ingested_at", "run_id")


@dataclass(frozen=True)
class Column:
    """One column: name, Arrow type, whether it may be null, and what it means."""

    name: str
    type: pa.DataType
    doc: str
    nullable: bool = False


@dataclass(frozen=True)
class TableSpec:
    """A lake table.

    Attributes:
        name: directory name under the lake root.
        doc: one paragraph on what a row is.
        columns: the stored columns (``day`` excluded: it is the partition value).
        key: columns that identify a fact; rows with the same key (and source) are one fact.
        partitioning: ``"day"`` for ``day=YYYY-MM-DD/`` partitions, ``None`` for whole tables.
        newest_by: columns ordering versions of one fact, newest last (``ingested_at`` last).
        enums: allowed values of categorical columns (documented, checked by tests).
        selects_source: whether reads select this table's rows by source (``--source``): true
            for data a metric counts (telemetry, vendor reports, public signals), false for the
            product's own records (evaluation runs, source runs, alerts, analysis results).
        filled_by: the commands that write the table, for messages about empty data.
    """

    name: str
    doc: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    partitioning: Literal["day"] | None = "day"
    newest_by: tuple[str, ...] = ("ingested_at",)
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    selects_source: bool = True
    filled_by: tuple[str, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        """Names of the stored columns, in order."""
        return tuple(c.name for c in self.columns)

    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema of the stored files (``day`` excluded)."""
        return pa.schema([pa.field(c.name, c.type, nullable=c.nullable) for c in self.columns])

    def reader_schema(self) -> pa.Schema:
        """What a reader sees: the stored columns plus ``day`` (DATE) for day-partitioned tables.

        This is also the Delta table's schema (``day`` is its partition column).
        """
        schema = self.arrow_schema()
        if self.partitioning == "day":
            schema = schema.append(pa.field("day", pa.date32(), nullable=False))
        return schema

    @property
    def partition_columns(self) -> list[str]:
        """The Delta partition columns."""
        return ["day"] if self.partitioning == "day" else []


def col(name: str, type_: pa.DataType, doc: str, nullable: bool = False) -> Column:
    """Shorthand for :class:`Column` used by the table declarations."""
    return Column(name, type_, doc, nullable)


def bookkeeping() -> tuple[Column, ...]:
    """The bookkeeping columns every table ends with (see :data:`BOOKKEEPING_COLUMNS`)."""
    return (
        Column(
            "source",
            pa.string(),
            "Who wrote the row: simulator, copilot-report, codex-otel, github, ...",
        ),
        Column(
            "scope",
            pa.string(),
            "What was read: an org or enterprise, a repository, a tag, or the simulated world.",
        ),
        Column("ingested_at", UTC_TS, "When the row was written to the lake (UTC)."),
        Column(
            "run_id",
            pa.string(),
            "Simulator run that produced the row (simulated rows only).",
            True,
        ),
    )
