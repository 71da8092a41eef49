"""The rows the productivity analysis reads, one DuckDB query per frame over a lake snapshot.

Frames are pandas at the edge (the models are numpy and scikit-learn); every query reads the
snapshot's pinned files, so a run is reproducible from its ``lake_snapshot``.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from codex_metrics.lake import LakeSnapshot

__all__ = ["SNAPSHOT_TABLES", "Frames", "read_frames"]

#: Tables the analysis reads (what ``lake_snapshot`` records).
SNAPSHOT_TABLES = ("tasks", "developers", "suggestions", "surveys", "latency_histograms_daily")

_TASKS = """
SELECT t.developer_id::VARCHAR AS developer_id,
       CAST(t.started_at AS DATE) AS day,
       t.with_ai,
       t.task_kind::VARCHAR AS task_kind,
       t.duration_s / 60.0 AS minutes,
       d.experience_years,
       CAST(d.adopted_at AS DATE) AS adopted_day,
       coalesce(d.editor::VARCHAR, 'unknown') AS editor,
       coalesce(d.plan::VARCHAR, 'unknown') AS plan
FROM tasks t JOIN developers d ON d.developer_id = t.developer_id
WHERE t.duration_s > 0 AND d.experience_years IS NOT NULL
"""


class Frames:
    """Lazily read frames of one snapshot (each query runs once)."""

    def __init__(self, snapshot: LakeSnapshot, con: duckdb.DuckDBPyConnection | None = None):
        self.snapshot = snapshot
        self.con = con or snapshot.connect()
        self._cache: dict[str, pd.DataFrame] = {}

    def query(self, name: str, sql: str) -> pd.DataFrame:
        """Run ``sql`` once and keep its frame under ``name``."""
        if name not in self._cache:
            # Through Arrow: DuckDB's own .df() calls a pandas API deprecated in pandas 3.1.
            self._cache[name] = self.con.sql(sql).to_arrow_table().to_pandas()
        return self._cache[name]

    def tasks(self) -> pd.DataFrame:
        """Tasks joined with their developer's attributes, with day and week indices."""
        df = self.query("tasks", _TASKS)
        if df.empty or "week" in df:
            return df
        first = pd.Timestamp(df["day"].min())
        day = (pd.to_datetime(df["day"]) - first).dt.days
        df["day_index"] = day.astype("int64")
        df["week"] = (day // 7).astype("int64")
        adopted = (pd.to_datetime(df["adopted_day"]) - first).dt.days
        df["adopted_day_index"] = adopted
        df["cohort"] = (adopted // 7).astype("float64")  # NaN: never adopted
        df["with_ai"] = df["with_ai"].astype(bool)
        return df


def read_frames(snapshot: LakeSnapshot) -> Frames:
    """Frames over ``snapshot`` (one DuckDB connection)."""
    return Frames(snapshot)
