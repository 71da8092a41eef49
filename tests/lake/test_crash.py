"""A writer killed mid-run leaves the lake exactly as it was; vacuum removes its leftovers."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codex_metrics.lake import Lake
from tests.conftest import simulated_lake


@pytest.mark.slow
def test_killed_simulation_leaves_previous_world_intact(tmp_path: Path) -> None:
    lake = simulated_lake(tmp_path / "lake", "baseline", developers=200, days=5)
    con = lake.connect()
    before = {
        t: con.execute(f"SELECT count(*), min(run_id) FROM {t}").fetchone()
        for t in ("suggestions", "usage_daily", "developers")
    }
    truth_before = (lake.simulator_dir / "truth.json").read_text()
    code = (
        "from codex_metrics.lake import Lake\n"
        "from codex_metrics.telemetry.scenarios import build_config\n"
        "from codex_metrics.telemetry.simulator import simulate\n"
        f"simulate(Lake.open({str(lake.root)!r}), build_config('baseline', developers=20000, days=60, seed=9),"
        " on_progress=lambda d, t: print(d, flush=True))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for _ in range(3):  # wait until it is really writing staging files
        proc.stdout.readline()
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    staging = list((lake.root / "_staging").iterdir())
    assert staging, "the killed run should have left staging files"
    con = lake.connect()
    after = {
        t: con.execute(f"SELECT count(*), min(run_id) FROM {t}").fetchone()
        for t in ("suggestions", "usage_daily", "developers")
    }
    assert after == before
    assert (lake.simulator_dir / "truth.json").read_text() == truth_before
    assert Lake.open(lake.root).vacuum() >= 1
    assert not any((lake.root / "_staging").iterdir())
