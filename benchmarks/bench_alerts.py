"""``alerts check`` over 90 days and the default slices against one full scan of the lake.

Claim (issue 16): a check of every default target over 90 days costs a small multiple of one
full scan of the suggestions it reads (one grouped scan per target, then statistics on
per-developer sums and histograms). The baseline, measured in the same run on the same lake,
is one full scan: ``SELECT count(*), sum(latency_ms), sum(accepted::INT) FROM suggestions``.
Before timing, the check's overall acceptance on one day is compared with the same number
computed from the rows. Prints the time per metric and slice (series).

    python benchmarks/bench_alerts.py [--developers 3500] [--days 90] [--lake PATH]

3,500 developers over 90 days is about 10M suggestion events (simulated once into --lake).
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta
from pathlib import Path

from codex_metrics.alerts import AlertConfig, detect_alerts
from codex_metrics.alerts.series import load_daily_stats
from codex_metrics.lake import Lake
from codex_metrics.telemetry.scenarios import build_config
from codex_metrics.telemetry.simulator import simulate

HOLIDAYS = ("01-01", "05-01", "07-04", "12-24", "12-25", "12-26", "12-31")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--developers", type=int, default=3500)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--lake", type=Path, default=Path("/tmp/bench-alerts-lake"))
    args = parser.parse_args()
    if not (args.lake / "suggestions").exists():
        lake = Lake.open(args.lake)
        simulate(lake, build_config("baseline", developers=args.developers, days=args.days,
                                    seed=7))  # fmt: skip
    lake = Lake.open(args.lake, create=False)
    snapshot = lake.snapshot()
    con = snapshot.connect()
    events, first, last = con.execute(
        "SELECT count(*), min(CAST(timestamp AS DATE)), max(CAST(timestamp AS DATE)) "
        "FROM suggestions"
    ).fetchone()  # type: ignore[misc]
    print(f"lake: {events:,} suggestion events, {first} to {last}")

    # equality check before timing
    day = first + timedelta(days=10)
    rows = con.execute(
        "SELECT sum(accepted::INT)::DOUBLE / count(*) FROM suggestions WHERE status = 'ok' "
        "AND feature = 'code_completion' AND CAST(timestamp AS DATE) = ?",
        [day],
    ).fetchone()
    stats = load_daily_stats(snapshot, measure="ratio", feature="code_completion",
                             dimensions=(), since=day, until=day)[("overall", "")][day]  # fmt: skip
    assert stats.num is not None and stats.den is not None and rows is not None
    ours = float(stats.num.sum() / stats.den.sum())
    assert abs(ours - rows[0]) < 1e-12, (ours, rows[0])
    print(f"check: acceptance on {day} = {ours:.6f} from the alerts' sums and from the rows")

    start = time.perf_counter()
    con.execute("SELECT count(*), sum(latency_ms), sum(accepted::INT) FROM suggestions").fetchall()
    scan = time.perf_counter() - start

    config = AlertConfig(holidays=HOLIDAYS)
    print(f"{'what':52} {'seconds':>9} {'ratio':>7}")
    print(f"{'one full scan of suggestions (baseline)':52} {scan:9.3f} {1.0:7.1f}")
    total, series, fired = 0.0, 0, 0
    for target in config.effective_targets():
        points: dict[tuple[str, str], list] = {}
        one = AlertConfig(targets=(target,), holidays=HOLIDAYS)
        start = time.perf_counter()
        alerts = detect_alerts(snapshot, one, since=first + timedelta(days=1), points_out=points)
        seconds = time.perf_counter() - start
        total, series, fired = total + seconds, series + len(points), fired + len(alerts)
        name = f"{target.metric} ({len(points)} slices)"
        print(f"{name:52} {seconds:9.3f} {seconds / scan:7.1f}")
        print(
            f"{'  per slice':52} {seconds / len(points):9.3f} {seconds / len(points) / scan:7.1f}"
        )
    print(f"{'alerts check, 90 days, every default series':52} {total:9.3f} {total / scan:7.1f}")
    print(f"series (metric x slice): {series}; alerts fired: {fired}")
    start = time.perf_counter()
    detect_alerts(snapshot, config, since=last - timedelta(days=1))
    daily = time.perf_counter() - start
    print(f"{'the daily cron check (last two days)':52} {daily:9.3f} {daily / scan:7.1f}")


if __name__ == "__main__":
    main()
