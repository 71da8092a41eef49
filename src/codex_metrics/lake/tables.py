"""Every lake table, by name: the one registry the writers, the readers and the docs use."""

from __future__ import annotations

from codex_metrics.errors import DataNotFoundError
from codex_metrics.lake.schema import TableSpec
from codex_metrics.lake.tables_operations import OPERATIONS_TABLES
from codex_metrics.lake.tables_sources import SOURCE_TABLES
from codex_metrics.lake.tables_telemetry import (
    ASSIGNMENTS,
    DEVELOPERS,
    EVAL_RESULTS,
    EXPERIMENTS,
    LATENCY_HISTOGRAMS_DAILY,
    SEATS,
    SUGGESTIONS,
    SURVEYS,
    TASKS,
    TEAM_MEMBERS,
    TYPING,
    USAGE_DAILY,
)

__all__ = ["TABLES", "table_spec"]

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        DEVELOPERS,
        TEAM_MEMBERS,
        SEATS,
        EXPERIMENTS,
        ASSIGNMENTS,
        SUGGESTIONS,
        TYPING,
        TASKS,
        SURVEYS,
        USAGE_DAILY,
        LATENCY_HISTOGRAMS_DAILY,
        EVAL_RESULTS,
        *SOURCE_TABLES,
        *OPERATIONS_TABLES,
    )
}


def table_spec(name: str) -> TableSpec:
    """Return the spec of table ``name``.

    Raises:
        DataNotFoundError: when no such table is declared.
    """
    try:
        return TABLES[name]
    except KeyError:
        known = ", ".join(sorted(TABLES))
        raise DataNotFoundError(f"unknown table {name!r}; known tables: {known}") from None
