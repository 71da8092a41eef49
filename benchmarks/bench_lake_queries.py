"""Three sliced queries through the lake's snapshot against a read_parquet glob of the same files.

Claim (issue 9): acceptance by language, daily active users by editor and P90 latency by model,
each per day (the queries of bench_metrics_vs_pandas.py), computed by the catalogue over a
lake snapshot (``compute_metric`` on the DuckDB engine: views over each table's pinned Delta
file list) are within 10% of the same SQL over a plain glob,
``read_parquet('<lake>/<table>/day=*/*.parquet', hive_partitioning = true,
union_by_name = true)``, in the same run.

The SQL is the one the engine generates (``DuckDBEngine.sql(build_expression(query))``); the
baseline runs it on a second connection whose views, named like the tables, read the globs.
Like a dashboard, each side keeps its connection open (views are lazy: every query reads the
Parquet files again); the one-off cost of opening each side is printed apart. A third column
runs the same SQL on the snapshot's views, to separate the read path from the catalogue's own
work (Ibis compilation, gap detection, metadata). The glob must list exactly the snapshot's
files (a lake with replaced or uncommitted files, or with real sources' rows, does not
qualify); results are checked equal before timing; timings are medians of ``--repeat``,
alternating sides.

    python benchmarks/bench_lake_queries.py --lake /tmp/lake10m [--developers 15500] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from codex_metrics.lake import Lake, LakeSnapshot
from codex_metrics.metrics import DuckDBEngine, compute_metric, get_metric
from codex_metrics.metrics.query import MetricQuery, build_expression
from codex_metrics.telemetry.parallel import auto_workers, simulate_parallel
from codex_metrics.telemetry.scenarios import build_config

TARGET = 1.10
DAYS = 28
QUERIES = [
    ("acceptance_rate_by_count", "language"),
    ("daily_active_users", "editor"),
    ("latency_p90_ms", "model"),
]


def simulate_into(path: Path, developers: int) -> None:
    cfg = build_config("baseline", developers=developers, days=DAYS)
    t0 = time.perf_counter()
    result = simulate_parallel(Lake.open(path), cfg, workers=auto_workers(cfg))
    events = result.rows["suggestions"]
    print(f"simulated {events:,} events into {path} in {time.perf_counter() - t0:.0f} s")


def glob_of(lake: Lake, table: str) -> str:
    return str(lake.table_dir(table) / "day=*" / "*.parquet")


def glob_connection(lake: Lake, tables: set[str]) -> duckdb.DuckDBPyConnection:
    """A connection whose views, named like the tables, read plain globs of their files."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for t in sorted(tables):
        con.execute(
            f"CREATE VIEW \"{t}\" AS SELECT * FROM read_parquet('{glob_of(lake, t)}', "
            "hive_partitioning = true, union_by_name = true, hive_types = {'day': 'DATE'})"
        )
    return con


def check_same_files(lake: Lake, snapshot: LakeSnapshot, tables: set[str]) -> None:
    con = duckdb.connect()
    for t in sorted(tables):
        globbed = {r[0] for r in con.sql(f"SELECT file FROM glob('{glob_of(lake, t)}')").fetchall()}
        pinned = set(snapshot.uris(t))
        if globbed != pinned:
            raise SystemExit(
                f"warning: in {t} the glob lists {len(globbed - pinned)} file(s) the snapshot "
                f"does not read and misses {len(pinned - globbed)} (replaced or uncommitted "
                "files, or other sources' rows), so the two would not read the same rows. "
                "Compare on a freshly simulated lake: pass a new --lake path"
            )


def check_equal(ours: pa.Table, theirs: pa.Table, keys: list[str], name: str) -> None:
    a = ours.select([*keys, "value"]).sort_by([(k, "ascending") for k in keys])
    b = theirs.select([*keys, "value"]).sort_by([(k, "ascending") for k in keys])
    same_keys = all(a.column(k).equals(b.column(k).cast(a.column(k).type)) for k in keys)
    va, vb = a.column("value"), b.column("value")
    close = pc.all(pc.less_equal(pc.abs(pc.subtract(va, vb)), pc.multiply(pc.abs(vb), 1e-9)))
    same_nulls = va.is_null().equals(vb.is_null())
    if a.num_rows != b.num_rows or not same_keys or not same_nulls or close.as_py() is False:
        raise SystemExit(f"{name}: the snapshot's and the glob's results differ")


def timed(fn: Callable[[], object], times: list[float]) -> None:
    t0 = time.perf_counter()
    fn()
    times.append(time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", required=True, help="a simulated lake (simulated when missing)")
    parser.add_argument("--developers", type=int, default=15_500, help="when simulating, x 28 days")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    path = Path(args.lake)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if not path.exists():
        simulate_into(path, args.developers)
    lake = Lake.open(path, create=False)
    tables = {t for name, _ in QUERIES for t in get_metric(name).tables}

    t0 = time.perf_counter()
    snapshot = lake.snapshot()
    engine = DuckDBEngine(snapshot)
    open_lake_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    glob_con = glob_connection(lake, tables)
    open_glob_s = time.perf_counter() - t0
    check_same_files(lake, snapshot, tables)

    print(f"{'query':<36} {'catalogue s':>11} {'views SQL s':>11} {'glob SQL s':>10} {'ratio':>6}")
    totals = {"catalogue": 0.0, "views": 0.0, "glob": 0.0}
    for name, by in QUERIES:
        query = MetricQuery(get_metric(name), by=(by,))
        sql = engine.sql(build_expression(query))
        keys = ["period", by]

        def catalogue(name: str = name, by: str = by) -> pa.Table:
            return compute_metric(name, snapshot, by=[by], engine=engine).rows

        def views(sql: str = sql) -> pa.Table:
            return engine.con.sql(sql).to_arrow_table()

        def glob(sql: str = sql) -> pa.Table:
            return glob_con.sql(sql).to_arrow_table()

        check_equal(catalogue(), glob(), keys, name)
        check_equal(views(), glob(), keys, name)
        times: dict[str, list[float]] = {k: [] for k in totals}
        sides: dict[str, Callable[[], pa.Table]] = {
            "catalogue": catalogue,
            "views": views,
            "glob": glob,
        }
        for i in range(args.repeat):
            order = list(sides) if i % 2 == 0 else list(reversed(sides))
            for side in order:
                timed(sides[side], times[side])
        med = {k: statistics.median(v) for k, v in times.items()}
        for k in totals:
            totals[k] += med[k]
        label = f"{name} by {by}"
        print(
            f"{label:<36} {med['catalogue']:>11.3f} {med['views']:>11.3f} {med['glob']:>10.3f} "
            f"{med['catalogue'] / med['glob']:>6.2f}"
        )
    ratio = totals["catalogue"] / totals["glob"]
    print(
        f"{'three queries':<36} {totals['catalogue']:>11.3f} {totals['views']:>11.3f} "
        f"{totals['glob']:>10.3f} {ratio:>6.2f}"
    )
    print(
        f"opening once: snapshot + DuckDB views {open_lake_s * 1000:.0f} ms, "
        f"glob views {open_glob_s * 1000:.0f} ms"
    )
    print(
        f"catalogue over the snapshot / glob read_parquet (baseline): {ratio:.3f}x "
        f"(target <= {TARGET:.2f}: {'PASS' if ratio <= TARGET else 'FAIL'}); "
        f"same SQL on the snapshot's views: {totals['views'] / totals['glob']:.3f}x"
    )


if __name__ == "__main__":
    main()
