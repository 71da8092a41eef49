"""Helpers of the fault tests: run the CLI in a child process, kill it, read the raw tables."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
from deltalake import DeltaTable

from codex_metrics.lake import Lake
from codex_metrics.telemetry.simulator import ALL_TABLES

SIM_TABLES = ALL_TABLES


def cli(*args: str) -> list[str]:
    """The command line that runs ``codex-metrics ARGS`` with this interpreter."""
    return [sys.executable, "-c", "from codex_metrics.cli.app import main; main()", *args]


def start_simulation(lake: Path, *args: str) -> subprocess.Popen[bytes]:
    """Start ``codex-metrics simulate`` in its own process group (so a kill reaches no one else)."""
    return subprocess.Popen(
        cli("simulate", "--lake", str(lake), "--replace", *args),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def kill_when(
    proc: subprocess.Popen[bytes], condition: Callable[[], bool], *, timeout_s: float = 60
) -> bool:
    """SIGKILL ``proc`` (the parent only) the moment ``condition()`` holds; False if it ended."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.002)
    proc.kill()
    raise AssertionError("the simulation neither reached the kill point nor finished")


def data_files(lake: Path, table: str) -> set[Path]:
    """Every Parquet file in a table's folder, committed or not."""
    return set((lake / table).rglob("*.parquet"))


def commits(lake: Path, table: str) -> int:
    """Number of commit files in a table's log."""
    return len(list((lake / table / "_delta_log").glob("*.json")))


def latest_worlds(lake: Path) -> dict[str, tuple[int, frozenset[str]]]:
    """Per table, at its latest version: simulator rows and the run ids among them."""
    con = duckdb.connect()
    out = {}
    for table in SIM_TABLES:
        if not (lake / table / "_delta_log").is_dir():
            out[table] = (0, frozenset())
            continue
        uris = DeltaTable(str(lake / table)).file_uris()
        if not uris:
            out[table] = (0, frozenset())
            continue
        rows = con.execute(
            "SELECT run_id, count(*) FROM read_parquet(?, union_by_name = true) "
            "WHERE source = 'simulator' GROUP BY run_id",
            [uris],
        ).fetchall()
        out[table] = (sum(n for _, n in rows), frozenset(r for r, _ in rows))
    return out


def world_counts(lake: Lake) -> dict[str, int]:
    """Rows per table of the simulated world the lake's readers see."""
    con = lake.connect(sources=["simulator"])
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in SIM_TABLES}


def world_run_ids(lake: Lake) -> dict[str, set[str]]:
    """Run ids per table of the simulated world the lake's readers see."""
    con = lake.connect(sources=["simulator"])
    return {
        t: {r[0] for r in con.execute(f"SELECT DISTINCT run_id FROM {t}").fetchall()}
        for t in SIM_TABLES
    }
