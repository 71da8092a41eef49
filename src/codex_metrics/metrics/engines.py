"""Query engines: the same Ibis expressions on embedded DuckDB (default) or on Spark.

Both engines read one pinned lake snapshot and expose every table under its own name (DuckDB:
the snapshot's views; Spark: temporary views over the same pinned file lists, the ``day``
column read from the ``day=`` folder with the declared schema, an empty typed view when a table
has no files), so an expression built over :func:`codex_metrics.metrics.query.lake_table` runs
unchanged on either, on the same data.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa

from codex_metrics.errors import ConfigError
from codex_metrics.lake import Lake, LakeSnapshot
from codex_metrics.lake.tables import TABLES

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: Where a quiet Spark session's JVM output goes, in the temporary folder.
SPARK_LOG = "codex-metrics-spark.log"

__all__ = ["DuckDBEngine", "QueryEngine", "SparkEngine", "local_spark_session", "open_engine"]


class QueryEngine(Protocol):
    """What the metric layer needs from an engine: a name, its snapshot, ``execute`` to Arrow."""

    name: str
    snapshot: LakeSnapshot

    def execute(self, expr: ir.Table) -> pa.Table:
        """Run ``expr`` and return its rows."""
        ...


def _snapshot_of(lake: Lake | LakeSnapshot) -> LakeSnapshot:
    return lake if isinstance(lake, LakeSnapshot) else lake.snapshot()


class DuckDBEngine:
    """Embedded DuckDB over a lake snapshot's data files (one view per table)."""

    name = "duckdb"

    def __init__(
        self, lake: Lake | LakeSnapshot, con: duckdb.DuckDBPyConnection | None = None
    ) -> None:
        self.snapshot = _snapshot_of(lake)
        self.lake = self.snapshot.lake
        self.con = self.snapshot.connect(con)
        self.backend = ibis.duckdb.from_connection(self.con)

    def execute(self, expr: ir.Table) -> pa.Table:
        """Run ``expr`` on DuckDB.

        Raises:
            LakeCorruptError: a data file of the snapshot is missing or unreadable.
        """
        try:
            return self.backend.to_pyarrow(expr)
        except duckdb.Error as exc:
            explained = self.lake.explain(exc)
            if explained is None:
                raise
            raise explained from None

    def sql(self, expr: ir.Table) -> str:
        """The DuckDB SQL of ``expr``."""
        return str(ibis.to_sql(expr, dialect="duckdb"))


class SparkEngine:
    """PySpark over the lake's Parquet files (local mode in tests, a cluster in production)."""

    name = "spark"

    def __init__(self, lake: Lake | LakeSnapshot, session: SparkSession) -> None:
        self.snapshot = _snapshot_of(lake)
        self.lake = self.snapshot.lake
        self.session = session
        register_spark_views(self.snapshot, session)
        self.backend = ibis.pyspark.connect(session)

    def execute(self, expr: ir.Table) -> pa.Table:
        """Run ``expr`` on Spark and return Arrow directly (no pandas round trip)."""
        table = self.session.sql(self.sql(expr)).toArrow()
        return table.cast(expr.schema().to_pyarrow())

    def sql(self, expr: ir.Table) -> str:
        """The Spark SQL of ``expr`` (compiled by the connected backend, with its options)."""
        return str(self.backend.compile(expr))


def register_spark_views(snapshot: LakeSnapshot, session: SparkSession) -> None:
    """Create one temporary view per lake table in ``session``, over the snapshot's files."""
    from pyspark.sql.pandas.types import from_arrow_schema

    for name, spec in TABLES.items():
        spark_schema = from_arrow_schema(spec.reader_schema())
        uris = snapshot.uris(name)
        if uris:
            reader = session.read.schema(spark_schema)
            if spec.partitioning == "day":
                reader = reader.option("basePath", str(snapshot.lake.table_dir(name)))
            # The pinned file list, never the folder: uncommitted and removed files stay unseen.
            df = reader.parquet(*uris)
            where = snapshot.row_filter(name)
            if where:
                df = df.where(where)
        else:
            df = session.createDataFrame([], spark_schema)
        df.createOrReplaceTempView(name)


@contextmanager
def _jvm_output_to(log: Path | None) -> Iterator[None]:
    """Send what a JVM started inside writes to stderr into ``log`` (``None``: keep it)."""
    if log is None:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with log.open("ab") as fh:
        os.dup2(fh.fileno(), 2)  # the JVM inherits this descriptor for its whole life
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def local_spark_session(
    *, master: str | None = "local[2]", shuffle_partitions: int = 4, verbose: bool = False
) -> SparkSession:
    """A Spark session with the lake's conventions (UTC session time zone, no UI).

    Args:
        master: ``local[N]`` for one machine; ``None`` under ``spark-submit`` so the cluster's
            master (YARN, Kubernetes, standalone) is kept.
        shuffle_partitions: ``spark.sql.shuffle.partitions`` for a new session.
        verbose: let the JVM write to the terminal; otherwise its start-up warnings and logs
            go to ``codex-metrics-spark.log`` in the temporary folder.

    An active session (a notebook, ``spark-submit``) is reused, with the time zone set to UTC.

    Raises:
        ConfigError: PySpark (or Java) is not installed.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError(
            "--engine spark needs PySpark: pip install 'codex-metrics[spark]' (and Java 17)"
        ) from None
    active = SparkSession.getActiveSession()
    if active is not None:
        active.conf.set("spark.sql.session.timeZone", "UTC")
        return active
    builder: Any = SparkSession.builder
    if master is not None:
        builder = builder.master(master)
    log = None if verbose else Path(tempfile.gettempdir()) / SPARK_LOG
    with _jvm_output_to(log):
        session = (
            builder.appName("codex-metrics")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .getOrCreate()
        )
    session.sparkContext.setLogLevel("WARN" if verbose else "ERROR")
    return session


def open_engine(
    lake: Lake | LakeSnapshot,
    engine: str = "duckdb",
    *,
    spark: SparkSession | None = None,
    verbose: bool = False,
) -> QueryEngine:
    """The engine called ``engine`` over a lake snapshot (default: the lake as it is now).

    ``verbose`` lets a new Spark session's JVM write to the terminal.

    Raises:
        ConfigError: the engine name is unknown or Spark is unavailable.
    """
    if engine == "duckdb":
        return DuckDBEngine(lake)
    if engine == "spark":
        return SparkEngine(lake, spark or local_spark_session(verbose=verbose))
    raise ConfigError(f"--engine must be duckdb or spark, not {engine!r}")
