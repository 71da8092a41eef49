"""A simulation killed at any moment leaves every table holding one whole world.

World A (small) is published first; world B (bigger) is started in a child process and killed
with SIGKILL at fixed delays, at the instant its first data file appears, and at the instant
its first commit lands (the middle of the publish, the worst moment), with one worker and with
two. After each kill: every table's latest version holds exactly world A's or world B's rows,
readers see world A whole with its own truth (B never recorded its world), nothing publishes
later (workers die with their parent), and a re-run completes B.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from codex_metrics.analysis import summarize_simulation
from codex_metrics.lake import Lake
from codex_metrics.telemetry.scenarios import build_config
from codex_metrics.telemetry.simulator import simulate
from codex_metrics.telemetry.truth import load_truth

from .faults import (
    SIM_TABLES,
    commits,
    data_files,
    kill_when,
    latest_worlds,
    start_simulation,
    world_counts,
    world_run_ids,
)

pytestmark = pytest.mark.slow

B_ARGS = ("--scenario", "ab_test", "--developers", "4000", "--days", "10", "--seed", "2")


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A pristine lake holding world A, and the row counts of worlds A and B."""
    base = tmp_path_factory.mktemp("crash")
    a = Lake.open(base / "a")
    ra = simulate(a, build_config("ab_test", developers=150, days=9, seed=1))
    b = Lake.open(base / "b")
    rb = simulate(b, build_config("ab_test", developers=4000, days=10, seed=2))
    return {
        "pristine": a.root,
        "a": (ra.run_id, {t: ra.rows.get(t, 0) for t in SIM_TABLES}),
        "b": (rb.run_id, {t: rb.rows.get(t, 0) for t in SIM_TABLES}),
    }


def _fresh(worlds: dict[str, object], tmp_path: Path) -> Path:
    root = tmp_path / "lake"
    shutil.copytree(worlds["pristine"], root)  # type: ignore[arg-type]
    return root


def _after_kill(root: Path, worlds: dict[str, object]) -> set[str]:
    run_a, counts_a = worlds["a"]  # type: ignore[misc]
    run_b, counts_b = worlds["b"]  # type: ignore[misc]
    versions = {t: commits(root, t) for t in SIM_TABLES}
    time.sleep(1.5)  # a surviving worker would publish within this window
    assert {t: commits(root, t) for t in SIM_TABLES} == versions, "something published later"
    raw = latest_worlds(root)
    holding_b = set()
    for table, (rows, runs) in raw.items():
        whole_a = rows == counts_a[table] and runs <= {run_a}
        whole_b = rows == counts_b[table] and runs <= {run_b}
        assert whole_a or whole_b, f"{table}: {rows} rows of runs {sorted(runs)}"
        if whole_b and not whole_a:
            holding_b.add(table)
    lake = Lake.open(root)
    assert world_counts(lake) == counts_a  # readers see A whole: B never recorded its world
    assert all(ids <= {run_a} for ids in world_run_ids(lake).values())
    truth = load_truth(lake)
    assert truth["run_id"] == run_a
    measured = {r.metric: r.measured for r in summarize_simulation(lake)}
    assert measured["developers with activity"] <= truth["developers"] == 150
    return holding_b


def _first_new_file(root: Path) -> Callable[[], bool]:
    before = data_files(root, "suggestions")
    return lambda: len(data_files(root, "suggestions") - before) > 0


def _first_commit(root: Path) -> Callable[[], bool]:
    before = commits(root, "suggestions")
    return lambda: commits(root, "suggestions") > before


def _after(seconds: float) -> Callable[[], bool]:
    start = time.monotonic()
    return lambda: time.monotonic() - start >= seconds


@pytest.mark.parametrize(
    ("workers", "moment"),
    [
        (1, "delay-0.5"),
        (1, "delay-1.2"),
        (1, "first-file"),
        (1, "first-commit"),
        (2, "delay-1.2"),
        (2, "first-file"),
        (2, "first-commit"),
    ],
)
def test_killed_simulation_leaves_whole_worlds(
    worlds: dict[str, object], tmp_path: Path, workers: int, moment: str
) -> None:
    root = _fresh(worlds, tmp_path)
    if moment.startswith("delay-"):
        condition = _after(float(moment.split("-")[1]))
    else:
        condition = _first_new_file(root) if moment == "first-file" else _first_commit(root)
    proc = start_simulation(root, *B_ARGS, "--workers", str(workers))
    killed = kill_when(proc, condition)
    assert killed, "the run finished before the kill point; make world B bigger"
    holding_b = _after_kill(root, worlds)
    if moment == "first-commit":  # killed mid-publish: B's first table landed, the rest did not
        assert "suggestions" in holding_b and holding_b != set(SIM_TABLES)
    # A re-run publishes B whole, and the killed run's leftovers do not count twice.
    lake = Lake.open(root)
    simulate(lake, build_config("ab_test", developers=4000, days=10, seed=2))
    run_b, counts_b = worlds["b"]  # type: ignore[misc]
    assert world_counts(lake) == counts_b
    assert load_truth(lake)["run_id"] == run_b
