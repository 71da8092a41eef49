"""Opening a lake snapshot (12 tables x 365 days x 1,000 commits) against a glob listing.

Claim (issue 9): resolving a snapshot (every declared table's latest Delta version and file
list) of a lake of 12 day-partitioned tables x 365 daily partitions x 1,000 commits, printed
against DuckDB listing the same files with a glob; about 5 ms per table was measured when the
claim was written (delta-rs checkpoints every 100 commits, so a load reads one checkpoint and
at most 99 JSON commits). No pass/fail target: the ratio is printed.

The lake is built once into ``--lake`` (reused when it exists) with the lake's own internals:
per table ``create_table``, then ``--commits`` commits of 1-3 conformed rows each, walking the
days in order so each day is replaced a few times, like a daily collector re-running; every
commit removes the day's previous file, which is then deleted (as ``lake vacuum`` would), so the
files on disk are exactly the latest version's and a glob lists the same files. Checked equal
before timing. Times are medians of ``--repeat``, each with a new ``Lake`` object. The
snapshot loads all 26 declared tables (14 do not exist here); the glob lists the 12 that do.

    python benchmarks/bench_lake_snapshot.py --lake /tmp/lake-snapshot [--commits 1000 --partitions 365]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from codex_metrics.lake import DataFile, Lake, conform
from codex_metrics.lake._delta import commit_actions, create_table, open_table, table_files
from codex_metrics.lake._writer import write_file
from codex_metrics.lake.schema import TableSpec
from codex_metrics.lake.tables import TABLES

#: Day-partitioned tables that daily collectors write (collector re-runs replace a day).
BENCH_TABLES = tuple(
    "copilot_user_daily copilot_entity_daily codex_requests codex_tool_events repo_snapshots "
    "star_history issues issue_comments so_question_counts ecosystem_counts source_runs "
    "annotations".split()
)
FIRST_DAY = date(2025, 1, 1)
SOURCE, SCOPE = "bench-collector", "org-acme"


def value(spec: TableSpec, name: str, t: pa.DataType, day: date, k: int, i: int) -> Any:
    """A plausible value of column ``name`` for row ``i`` of commit ``k``."""
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    if name in spec.enums:
        return spec.enums[name][(k + i) % len(spec.enums[name])]
    if pa.types.is_string(t):
        return f"{name}-{(k + i) % 17}"
    if pa.types.is_integer(t):
        return (k * 7 + i) % 1000
    if pa.types.is_floating(t):
        return (k % 100) / 10 + i
    if pa.types.is_boolean(t):
        return (k + i) % 2 == 0
    if pa.types.is_timestamp(t):
        return noon + timedelta(minutes=k % 600 + i)
    if pa.types.is_date(t):
        return day
    return [] if pa.types.is_list(t) else None


def tiny_rows(spec: TableSpec, day: date, k: int) -> pa.Table:
    """1-3 rows: every non-nested column filled; nested nullable ones left to ``conform``."""
    n = 1 + k % 3
    columns: dict[str, pa.Array] = {}
    for c in spec.columns:
        if c.name in ("source", "scope"):
            columns[c.name] = pa.array([SOURCE if c.name == "source" else SCOPE] * n)
        elif not (c.nullable and pa.types.is_nested(c.type)):
            columns[c.name] = pa.array(
                [value(spec, c.name, c.type, day, k, i) for i in range(n)], c.type
            )
    return conform(spec, pa.table(columns))


def build_table(root: str, name: str, commits: int, partitions: int) -> None:
    spec = TABLES[name]
    table_dir = Path(root) / name
    dt = create_table(table_dir, spec)
    latest: dict[date, DataFile] = {}
    for k in range(commits):
        day = FIRST_DAY + timedelta(days=k * partitions // commits)
        rows = tiny_rows(spec, day, k)
        new = write_file(table_dir, spec, rows, day=day, source=SOURCE, scope=SCOPE)
        old = latest.get(day)
        info = {"operation": "replace", "source": SOURCE, "scope": SCOPE, "rows_added": len(rows)}
        commit_actions(dt, spec, adds=[new], removes=[old] if old else [], info=info)
        if old is not None:  # vacuumed: the folder holds the latest version's files only
            os.unlink(table_dir / old.path)
        latest[day] = new


def build_lake(root: Path, commits: int, partitions: int) -> None:
    Lake.open(root)
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        jobs = [pool.submit(build_table, str(root), t, commits, partitions) for t in BENCH_TABLES]
        for job in jobs:
            job.result()


def glob_pattern(root: Path, table: str) -> str:
    return str(root / table / "day=*" / "*.parquet")


def glob_files(con: duckdb.DuckDBPyConnection, root: Path, table: str) -> list[str]:
    return [
        r[0] for r in con.sql(f"SELECT file FROM glob('{glob_pattern(root, table)}')").fetchall()
    ]


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def glob_listing_ms(root: Path, tables: Sequence[str], repeat: int) -> float:
    """Median ms of listing ``tables`` with DuckDB's glob on a new connection each time."""
    times = []
    for _ in range(repeat):
        con = duckdb.connect()  # outside the timer: a reader already has its connection
        t0 = time.perf_counter()
        for t in tables:
            glob_files(con, root, t)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", required=True, help="built here once, reused afterwards")
    parser.add_argument("--commits", type=int, default=1000, help="commits per table")
    parser.add_argument("--partitions", type=int, default=365, help="days per table")
    parser.add_argument("--travel-version", type=int, default=500, help="version of --as-of")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    root = Path(args.lake).absolute()
    if args.commits < args.partitions:
        raise SystemExit("--commits must be at least --partitions (one file per day)")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if (root / BENCH_TABLES[-1] / "_delta_log").is_dir():
        print(f"reusing the lake at {root}")
    else:
        t0 = time.perf_counter()
        build_lake(root, args.commits, args.partitions)
        print(f"built {root} in {time.perf_counter() - t0:.0f} s")
    snap = Lake.open(root).snapshot(sources="all")
    versions = {t: v for t in BENCH_TABLES if (v := snap.tables[t].version) is not None}
    if len(versions) < len(BENCH_TABLES):
        raise SystemExit(f"{root} lacks some of the 12 tables; delete it and rebuild")
    checkpoints = len(list((root / BENCH_TABLES[0] / "_delta_log").glob("*.checkpoint.parquet")))
    print(f"versions {sorted(set(versions.values()))}, {checkpoints} checkpoints per table")
    con = duckdb.connect()
    for t in BENCH_TABLES:  # equality: the glob lists exactly the snapshot's files
        if sorted(glob_files(con, root, t)) != sorted(snap.uris(t)):
            raise SystemExit(f"{t}: the glob and the snapshot list different files; rebuild")
    print(f"equal: {sum(len(snap.uris(t)) for t in BENCH_TABLES):,} files in both listings")

    def load(t: str) -> None:
        dt = open_table(root / t)
        if dt is None:
            raise SystemExit(f"{t} is not a Delta table; delete {root} and rebuild")
        table_files(dt)

    print(f"{'table':<22} {'Delta load ms':>14} {'glob ms':>9} {'ratio':>6}")
    for t in BENCH_TABLES:
        ms_delta = median_ms(partial(load, t), args.repeat)
        ms_glob = glob_listing_ms(root, [t], args.repeat)
        print(f"{t:<22} {ms_delta:>14.1f} {ms_glob:>9.1f} {ms_delta / ms_glob:>6.2f}")

    snapshot_ms = median_ms(lambda: Lake.open(root).snapshot(sources="all"), args.repeat)
    glob_ms = glob_listing_ms(root, BENCH_TABLES, args.repeat)
    connect_ms = median_ms(snap.connect, args.repeat)  # a new connection and views each time
    absent = [t for t in TABLES if t not in BENCH_TABLES]
    absent_ms = median_ms(lambda: [open_table(root / t) for t in absent], args.repeat)
    travel = min(args.travel_version, *versions.values())
    as_of = dict.fromkeys(BENCH_TABLES, travel)
    travel_ms = median_ms(lambda: Lake.open(root).snapshot(sources="all", as_of=as_of), args.repeat)
    n = len(BENCH_TABLES)  # ms per table: per table holding files, or per absent table
    print(f"{'whole lake':<48} {'median ms':>10} {'ms/table':>9}")
    rows = [
        (f"glob listing, {n} tables (baseline)", n, glob_ms),
        (f"Lake.open().snapshot(sources='all'), {len(TABLES)} tables", n, snapshot_ms),
        (f"  of which {len(absent)} absent tables (open_table: None)", len(absent), absent_ms),
        (f"the same, as_of version {travel} of the {n} tables", n, travel_ms),
        ("snapshot.connect() alone (views read footers)", n, connect_ms),
    ]
    for label, tables, ms in rows:
        print(f"{label:<48} {ms:>10.1f} {ms / tables:>9.1f}")
    print(f"snapshot / glob listing: {snapshot_ms / glob_ms:.2f}x")


if __name__ == "__main__":
    main()
