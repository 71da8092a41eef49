"""Every catalogue metric at daily grain, unsliced, plus three sliced queries, on DuckDB.

Claim (issue 6): over 10 million events this takes under 15 s on the project machine.
Baseline measured in the same run: one DuckDB pass that reads every suggestion column the
catalogue uses and counts rows per day (the cost of just touching the data once).

    codex-metrics simulate --developers 15500 --days 28 --lake /tmp/lake10m
    python benchmarks/bench_metrics_catalogue.py --lake /tmp/lake10m
"""

from __future__ import annotations

import argparse
import os
import time

from codex_metrics.lake import Lake
from codex_metrics.metrics import DuckDBEngine, compute_metric, compute_metrics, list_metrics

SLICED = [
    ("acceptance_rate_by_count", ["language"]),
    ("daily_active_users", ["editor"]),
    ("latency_p90_ms", ["model"]),
]
BUDGET_S = 15.0


def events(lake: Lake) -> int:
    return lake.connect().sql("SELECT count(*) FROM suggestions").fetchall()[0][0]


def baseline_scan(lake: Lake) -> float:
    con = lake.connect()
    t0 = time.perf_counter()
    con.sql(
        "SELECT day, count(*), sum(latency_ms), count(DISTINCT developer_id), sum(lines_accepted), "
        "sum(chars_persisted_10m), sum(edit_distance_10m) FROM suggestions GROUP BY day"
    ).fetchall()
    return time.perf_counter() - t0


def run(lake: Lake, *, verbose: bool) -> tuple[float, dict[str, float]]:
    """The whole catalogue through ``compute_metrics`` (shared scans), then the sliced queries."""
    engine = DuckDBEngine(lake)
    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    compute_metrics([m.name for m in list_metrics()], lake, engine=engine)
    timings["catalogue (54 metrics, daily, unsliced)"] = time.perf_counter() - t_all
    for name, by in SLICED:
        t0 = time.perf_counter()
        compute_metric(name, lake, by=by, engine=engine)
        timings[f"{name} by {','.join(by)}"] = time.perf_counter() - t0
    total = time.perf_counter() - t_all
    if verbose:
        for key, secs in timings.items():
            print(f"  {secs:7.3f} s  {key}")
    return total, timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", required=True)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    lake = Lake.open(args.lake, create=False)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    n = events(lake)
    base = baseline_scan(lake)
    total, timings = run(lake, verbose=not args.quiet)
    print(f"events: {n:,}; {len(list_metrics())} metrics + {len(SLICED)} sliced queries")
    print(f"baseline single scan: {base:.2f} s")
    print(
        f"catalogue: {total:.2f} s = {total / base:.1f}x one scan; budget {BUDGET_S:.0f} s -> "
        f"{'PASS' if total < BUDGET_S else 'FAIL'} ({total / BUDGET_S:.2f} of budget)"
    )


if __name__ == "__main__":
    main()
