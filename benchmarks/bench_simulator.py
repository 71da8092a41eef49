"""Simulator throughput: events/s and peak memory at 1M, 10M and 30M events, against a
straightforward per-row Python generator measured in the same run.

Target (issue 3): 10M suggestion events generated and published in under 15 s wall on a 2-core
machine, peak memory under 1.5 GB, flat as N grows.

Usage: python benchmarks/bench_simulator.py [--sizes 1,10,30] [--baseline-events 50000]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

EVENTS_PER_DEVELOPER_MONTH = (
    740  # measured with the baseline defaults (suggestions / developer / 30 days)
)

RUN_ONE = """
import json, multiprocessing, os, sys, threading, time
from codex_metrics.lake import Lake
from codex_metrics.telemetry.scenarios import build_config
from codex_metrics.telemetry.parallel import simulate_parallel, auto_workers

def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as fh:
            return next(int(l.split()[1]) for l in fh if l.startswith("VmRSS"))
    except (OSError, StopIteration):
        return 0

peak = [0]
stop = threading.Event()
def watch():  # total resident memory of this process and its workers, sampled every 50 ms
    while not stop.is_set():
        total = rss_kb(os.getpid()) + sum(rss_kb(c.pid) for c in multiprocessing.active_children())
        peak[0] = max(peak[0], total)
        time.sleep(0.05)
threading.Thread(target=watch, daemon=True).start()
cfg = build_config("baseline", developers=int(sys.argv[2]), days=30, seed=11)
t = time.perf_counter()
r = simulate_parallel(Lake.open(sys.argv[1]), cfg, workers=auto_workers(cfg))
wall = time.perf_counter() - t
stop.set()
print(json.dumps({"events": r.rows["suggestions"], "seconds": wall, "peak_mb": peak[0] / 1024}))
"""


def per_row_baseline(n_events: int, out: Path) -> float:
    """The straightforward way: one Python dict per event, random module, then Parquet."""
    start = time.perf_counter()
    rng = random.Random(1)
    rows = []
    features = ["code_completion", "chat_inline", "chat_panel", "agent_edit", "cli"]
    for i in range(n_events):
        feature = rng.choices(features, weights=[0.75, 0.09, 0.09, 0.04, 0.03])[0]
        latency = rng.lognormvariate(5.56, 0.5)
        accepted = rng.random() < 0.3
        chars = int(rng.lognormvariate(3.9, 0.8)) + 1
        kept = rng.betavariate(7, 2.2) if accepted else None
        rows.append(
            {
                "event_id": i,
                "developer_id": f"dev-{rng.randrange(1000):07d}",
                "feature": feature,
                "language": rng.choice(["python", "go", "java"]),
                "editor": "vscode",
                "model_version": "m",
                "status": "ok",
                "latency_ms": latency,
                "chars_suggested": chars,
                "lines_suggested": chars // 38 + 1,
                "accepted": accepted,
                "chars_accepted": chars if accepted else 0,
                "chars_persisted_10m": int(chars * kept) if kept is not None else None,
                "keystrokes_saved": int(chars * kept) if kept is not None else 0,
            }
        )
    pq.write_table(pa.Table.from_pylist(rows), out)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,30", help="millions of events, comma-separated")
    parser.add_argument("--baseline-events", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base_s = per_row_baseline(args.baseline_events, Path(tmp) / "baseline.parquet")
        base_rate = args.baseline_events / base_s
        print(
            f"baseline (per-row Python, {args.baseline_events:,} events): {base_rate:,.0f} events/s"
        )
        print(
            f"{'events':>12} {'seconds':>8} {'events/s':>12} {'peak MB (all processes)':>24} {'x baseline':>10}"
        )
        for millions in [float(s) for s in args.sizes.split(",")]:
            developers = max(1, round(millions * 1e6 / EVENTS_PER_DEVELOPER_MONTH))
            lake = Path(tmp) / f"lake-{millions:g}"
            out = subprocess.run(
                [sys.executable, "-c", RUN_ONE, str(lake), str(developers)],
                check=True,
                capture_output=True,
                text=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            rate = r["events"] / r["seconds"]
            print(
                f"{r['events']:>12,} {r['seconds']:>8.1f} {rate:>12,.0f} {r['peak_mb']:>24.0f} {rate / base_rate:>10.1f}"
            )
            subprocess.run(["rm", "-rf", str(lake)], check=True)


if __name__ == "__main__":
    main()
