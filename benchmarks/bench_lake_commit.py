"""Simulator end to end on Delta Lake against the raw Parquet write of the same tables.

Claim (issue 9): ``codex-metrics simulate`` of 10M suggestion events (baseline scenario, 30
days, process start included) costs at most 10% more wall time than writing the same Parquet
files without any Delta commit, and runs at >= 1.0M events/s on a 2-core machine.

Both sides are the same command in a fresh process, run as a script file by the venv's
Python: the Delta side is the ``codex-metrics`` console script itself; the baseline is a copy
of it that first replaces the Delta part with nothing: ``publish`` (in ``simulator`` and
``parallel``) only counts the generated rows, and the writer's Delta statistics from each
file's footer are skipped. The patches sit at the top of the script, so spawned worker
processes (which re-import the main script) get them too. Generation, Parquet encoding
(same files, same codec), locks on writing and process start are identical. Each run gets an
empty lake; both runs are checked to hold the same suggestion rows before timing, and the
timed runs alternate (median of ``--repeat``).

    python benchmarks/bench_lake_commit.py [--events 10000000] [--workers 0] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from codex_metrics.lake import Lake
from codex_metrics.telemetry.parallel import auto_workers
from codex_metrics.telemetry.scenarios import build_config

EVENTS_PER_DEVELOPER_MONTH = 740  # baseline scenario: suggestions per developer per 30 days
DAYS = 30
TARGET_RATIO = 1.10
TARGET_RATE = 1_000_000

RAW_SCRIPT = """
import sys

from codex_metrics.lake import DataFile, _writer
from codex_metrics.telemetry import parallel, simulator


def data_file_without_stats(table_dir, path, *, day, source, scope, metadata=None):
    # the raw write: no footer read, no Delta statistics
    return DataFile(path.relative_to(table_dir).as_posix(), 0, day, None, source, scope, 0, "")


def publish_nothing(lake, generated, *, partition=(0, 1)):
    # the raw write: no commit, no truth, no world record; only count the rows written
    rows = {t: sum(g.writes[t].rows for g in generated) for t in simulator.ALL_TABLES}
    return simulator.SimulationResult(generated[0].run_id, "", partition, rows, None, 0.0, {})


_writer.data_file_for = data_file_without_stats
simulator.publish = publish_nothing
parallel.publish = publish_nothing

from codex_metrics.cli.app import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
"""


def run(command: list[str], lake: Path) -> float:
    """Wall seconds of one ``simulate`` into an empty ``lake`` (process start included)."""
    shutil.rmtree(lake, ignore_errors=True)
    start = time.perf_counter()
    done = subprocess.run([*command, "--lake", str(lake)], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[1:3])} failed:\n{done.stderr[-2000:]}")
    return seconds


def delta_rows(lake: Path) -> int:
    con = Lake.open(lake, create=False).connect(sources="all")
    return int(con.sql("SELECT count(*) FROM suggestions").fetchall()[0][0])


def raw_rows(lake: Path) -> int:
    glob = str(lake / "suggestions" / "day=*" / "*.parquet")
    return int(
        duckdb.connect().sql(f"SELECT count(*) FROM read_parquet('{glob}')").fetchall()[0][0]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000, help="suggestion events")
    parser.add_argument("--workers", type=int, default=0, help="0: the CLI's own choice")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each side")
    parser.add_argument("--workdir", default=None, help="where the lakes go (default: tmp)")
    args = parser.parse_args()
    developers = max(1, round(args.events / EVENTS_PER_DEVELOPER_MONTH))
    workers = args.workers or auto_workers(
        build_config("baseline", developers=developers, days=DAYS)
    )
    sim_args = [
        "simulate",
        "--scenario",
        "baseline",
        "--developers",
        str(developers),
        "--days",
        str(DAYS),
        "--workers",
        str(args.workers),
    ]
    console_script = Path(sys.executable).with_name("codex-metrics")
    if not console_script.exists():
        raise SystemExit(f"{console_script} not found: install the project in this venv")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"baseline scenario, {developers:,} developers x {DAYS} days, {workers} worker(s)")
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        raw_script = Path(tmp) / "simulate_raw_parquet.py"
        raw_script.write_text(RAW_SCRIPT)
        commands = {
            "delta": [sys.executable, str(console_script), *sim_args],
            "raw": [sys.executable, str(raw_script), *sim_args],
        }
        lake = Path(tmp) / "lake"
        # Untimed first pair: the equality check (and a warm page cache for both sides).
        run(commands["delta"], lake)
        events = delta_rows(lake)
        run(commands["raw"], lake)
        if (raw := raw_rows(lake)) != events:
            raise SystemExit(f"raw run wrote {raw:,} suggestion rows, Delta {events:,}")
        print(f"equal: both runs wrote {events:,} suggestion rows")
        times: dict[str, list[float]] = {"delta": [], "raw": []}
        for i in range(args.repeat):
            for side in ("delta", "raw") if i % 2 == 0 else ("raw", "delta"):
                times[side].append(run(commands[side], lake))
        shutil.rmtree(lake, ignore_errors=True)
    delta_s = statistics.median(times["delta"])
    raw_s = statistics.median(times["raw"])
    ratio = delta_s / raw_s
    rate = events / delta_s
    print(f"{'side':<38} {'median s':>9} {'events/s':>12}  runs (s)")
    for side, label in (
        ("raw", "raw Parquet write (baseline)"),
        ("delta", "codex-metrics simulate (Delta)"),
    ):
        runs = ", ".join(f"{t:.2f}" for t in times[side])
        print(
            f"{label:<38} {statistics.median(times[side]):>9.2f} {events / statistics.median(times[side]):>12,.0f}  {runs}"
        )
    print(
        f"Delta overhead: {ratio:.3f}x the raw write (target <= {TARGET_RATIO:.2f}: "
        f"{'PASS' if ratio <= TARGET_RATIO else 'FAIL'}); "
        f"{rate:,.0f} events/s (target >= {TARGET_RATE:,}: {'PASS' if rate >= TARGET_RATE else 'FAIL'})"
    )


if __name__ == "__main__":
    main()
