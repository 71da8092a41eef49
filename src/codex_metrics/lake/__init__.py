"""The Parquet lake: atomic partition publishing, keys and newest-wins, DuckDB views."""

from codex_metrics.lake._files import FileRef
from codex_metrics.lake._lake import Lake, TableInfo
from codex_metrics.lake._writer import TableWriter, WriteReport, conform, newest_wins

__all__ = ["FileRef", "Lake", "TableInfo", "TableWriter", "WriteReport", "conform", "newest_wins"]
