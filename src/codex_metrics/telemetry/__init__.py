"""Telemetry: the schema every source shares, and the simulator."""

from codex_metrics.telemetry.schema import SCHEMA_VERSION, TABLES, Column, TableSpec, table_spec

__all__ = ["SCHEMA_VERSION", "TABLES", "Column", "TableSpec", "table_spec"]
