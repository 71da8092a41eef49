"""The full ``productivity`` run against one DuckDB scan of the tables it reads.

Claim (issue 15): the whole analysis on one month of 10,000 simulated developers (about 7M
suggestions) runs in under 2 minutes on this machine. The baseline, measured in the same run,
is one DuckDB scan that hashes every column the analysis reads (suggestions, tasks,
surveys, developers; a bare count(*) would read no column at all); the script prints where
the time goes and the ratio to that scan. Before timing, it checks that the run produced its
estimates (an equality check on the estimate keys).

    python benchmarks/bench_productivity.py --lake /tmp/bench-lake [--developers 10000]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from codex_metrics.analysis.productivity import run_productivity
from codex_metrics.lake import Lake
from codex_metrics.telemetry.scenarios import build_config
from codex_metrics.telemetry.simulator import simulate

SCAN = """
SELECT (SELECT sum(hash(developer_id, accepted, latency_ms, feature, language, model_version,
                        chars_suggested, status, failure_mode, timestamp)) FROM suggestions),
       (SELECT sum(hash(developer_id, started_at, with_ai, duration_s)) FROM tasks),
       (SELECT sum(hash(developer_id, satisfaction)) FROM surveys),
       (SELECT sum(hash(developer_id, experience_years, adopted_at, persona)) FROM developers),
       (SELECT count(*) FROM suggestions)
"""

TARGET_S = 120


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lake", type=Path, required=True)
    parser.add_argument("--developers", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--model-rows", type=int, default=200_000)
    args = parser.parse_args()
    lake = Lake.open(args.lake)
    if lake.world() is None:
        started = time.perf_counter()
        simulate(lake, build_config("rollout", developers=args.developers, days=args.days, seed=1))
        print(f"simulated in {time.perf_counter() - started:.1f} s (not timed below)")
    snapshot = lake.snapshot()
    con = snapshot.connect()
    started = time.perf_counter()
    counts = con.execute(SCAN).fetchone()
    scan = time.perf_counter() - started
    print(
        f"baseline: one DuckDB scan of the columns read: {scan:.2f} s ({counts[-1]:,} suggestions)"
    )
    started = time.perf_counter()
    report = run_productivity(snapshot, model_rows=args.model_rows)
    total = time.perf_counter() - started
    keys = {(e.estimand, e.method, e.subgroup) for e in report.estimates}
    assert ("att_log_duration", "aipw", None) in keys and len(keys) == len(report.estimates)
    for step, seconds in report.timings.items():
        print(f"  {step:28s} {seconds:7.2f} s")
    print(f"samples: {report.samples}")
    verdict = "PASS" if total < TARGET_S else "FAIL"
    print(
        f"productivity: {total:.1f} s = {total / scan:.1f}x the scan; target < {TARGET_S} s: {verdict}"
    )


if __name__ == "__main__":
    main()
