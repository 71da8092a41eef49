"""How catalogue time grows with events: 1M, 10M, 100M (DuckDB, daily grain, unsliced).

Baseline: the smallest lake given, measured in the same run; each larger lake prints its time
ratio against it next to its event ratio (linear scaling means the two ratios are equal).

    codex-metrics simulate --developers 1600 --days 28 --lake /tmp/lake1m
    codex-metrics simulate --developers 15500 --days 28 --lake /tmp/lake10m
    codex-metrics simulate --developers 155000 --days 28 --lake /tmp/lake100m   # --workers 0
    python benchmarks/bench_metrics_scaling.py /tmp/lake1m /tmp/lake10m /tmp/lake100m
"""

from __future__ import annotations

import argparse
import os
import time

from codex_metrics.lake import Lake
from codex_metrics.metrics import DuckDBEngine, compute_metrics, list_metrics


def measure(path: str) -> tuple[int, float]:
    lake = Lake.open(path, create=False)
    engine = DuckDBEngine(lake)
    n = engine.con.sql("SELECT count(*) FROM suggestions").fetchall()[0][0]
    t0 = time.perf_counter()
    compute_metrics([m.name for m in list_metrics()], lake, engine=engine)
    return n, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lakes", nargs="+", help="lake directories, smallest first")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    base: tuple[int, float] | None = None
    for path in args.lakes:
        n, secs = measure(path)
        base = base or (n, secs)
        print(
            f"{n:>13,} events: {secs:7.2f} s  ({secs / n * 1e6:.2f} s per 1M events; "
            f"{n / base[0]:5.1f}x events -> {secs / base[1]:5.1f}x time)"
        )


if __name__ == "__main__":
    main()
