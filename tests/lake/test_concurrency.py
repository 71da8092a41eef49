"""Writers racing each other, readers during a publish, and conflicts with foreign writers."""

from __future__ import annotations

import multiprocessing as mp
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from codex_metrics.errors import LakeConflictError
from codex_metrics.lake import Lake, _commit
from codex_metrics.lake._delta import CommitFailedError, RemoveAction
from codex_metrics.metrics import compute_metric
from codex_metrics.telemetry.scenarios import build_config
from codex_metrics.telemetry.simulator import simulate
from codex_metrics.telemetry.truth import load_truth

from .faults import cli, latest_worlds, start_simulation, world_counts

DAY = date(2025, 1, 6)


def typing_rows(devs: list[str], day: date = DAY) -> pa.Table:
    n = len(devs)
    return pa.table(
        {
            "developer_id": devs,
            "org": ["org-a"] * n,
            "chars_typed": [100] * n,
            "lines_typed": [3] * n,
            "day": [day] * n,
        }
    )


def _writer(root: str, scope: str, devs: list[str], mode: str, barrier: Any, rounds: int) -> None:
    lake = Lake.open(root)
    for k in range(rounds):
        barrier.wait()
        # Every round a new day: both writers race on a partition nobody wrote yet, where
        # Delta's own conflict check sees two appends and would let both win.
        rows = typing_rows(devs, date.fromordinal(DAY.toordinal() + k))
        lake.write_table("typing", rows, source="test", scope=scope, mode=mode)  # type: ignore[arg-type]


def _race(root: Path, jobs: list[tuple[str, list[str], str]], rounds: int = 6) -> None:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(len(jobs))
    procs = [
        ctx.Process(target=_writer, args=(str(root), scope, devs, mode, barrier, rounds))
        for scope, devs, mode in jobs
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0


def _rows(lake: Lake, day: date = DAY) -> list[tuple[str, str]]:
    con = lake.connect(sources="all")
    sql = "SELECT scope, developer_id FROM typing WHERE day = ?"
    return sorted(con.execute(sql, [day]).fetchall())


def _days(rounds: int = 6) -> list[date]:
    return [date.fromordinal(DAY.toordinal() + k) for k in range(rounds)]


@pytest.mark.slow
def test_racing_writers_of_one_partition_never_both_win(tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "lake")
    _race(lake.root, [("org:a", ["x1", "x2"], "replace"), ("org:a", ["y1", "y2", "y3"], "replace")])
    for day in _days():
        got = [dev for _, dev in _rows(lake, day)]
        assert got in (["x1", "x2"], ["y1", "y2", "y3"]), day  # one writer's rows, never both


@pytest.mark.slow
def test_racing_writers_of_different_partitions_both_commit(tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "lake")
    _race(lake.root, [("org:a", ["a1"], "replace"), ("org:b", ["b1", "b2"], "replace")])
    for day in _days():
        assert _rows(lake, day) == [("org:a", "a1"), ("org:b", "b1"), ("org:b", "b2")]


@pytest.mark.slow
def test_racing_merges_of_one_partition_keep_every_key_once(tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "lake")
    _race(lake.root, [("org:a", ["m1", "m2"], "merge"), ("org:a", ["m2", "m3"], "merge")])
    for day in _days():
        assert [dev for _, dev in _rows(lake, day)] == ["m1", "m2", "m3"]


@pytest.mark.slow
def test_two_simulations_at_once_leave_one_whole_world(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    args = [("--seed", "1", "--developers", "900"), ("--seed", "2", "--developers", "1100")]
    procs = [start_simulation(root, "--days", "5", "--workers", "1", *a) for a in args]
    for p in procs:
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0, err.decode()
    lake = Lake.open(root)
    truth = load_truth(lake)
    raw = latest_worlds(root)
    assert all(runs == {truth["run_id"]} for t, (_, runs) in raw.items() if raw[t][0])
    developers = lake.connect().execute("SELECT count(*) FROM developers").fetchone()
    assert developers == (truth["developers"],)


@pytest.mark.slow
def test_readers_during_a_publish_see_one_world_every_time(tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "lake")
    a = simulate(lake, build_config("baseline", developers=200, days=7, seed=1))
    proc = start_simulation(
        lake.root, "--developers", "3000", "--days", "8", "--seed", "2", "--workers", "1"
    )
    totals = []
    while proc.poll() is None:
        result = compute_metric("requests_served", lake, grain="month")
        totals.append(sum(r["value"] for r in result.records() if r["value"] is not None))
    assert proc.returncode == 0
    b_total = world_counts(lake)["suggestions"]
    assert len(totals) >= 5
    assert set(totals) <= {a.rows["suggestions"], b_total}, sorted(set(totals))
    after = compute_metric("requests_served", lake, grain="month")
    assert sum(r["value"] for r in after.records()) == b_total


def test_commit_conflicts_are_retried_then_fail_cleanly(
    tmp_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp_lake.write_table("typing", typing_rows(["old"]), source="test", scope="s")
    calls = []

    def always_conflicts(*args: Any, **kwargs: Any) -> int:
        calls.append(1)
        raise CommitFailedError("a concurrent transaction deleted data this operation read")

    monkeypatch.setattr(_commit, "commit_actions", always_conflicts)
    monkeypatch.setattr(_commit.time, "sleep", lambda s: None)
    with pytest.raises(LakeConflictError, match="typing: another writer kept changing"):
        tmp_lake.write_table("typing", typing_rows(["new"]), source="test", scope="s")
    assert len(calls) == _commit.MAX_COMMIT_RETRIES + 1
    monkeypatch.undo()
    assert [d for _, d in _rows(tmp_lake)] == ["old"]
    day_dir = tmp_lake.table_dir("typing") / f"day={DAY.isoformat()}"
    assert len(list(day_dir.glob("*.parquet"))) == 1  # the failed writer's file is gone


def test_a_foreign_commit_in_between_is_reread_and_retried(
    tmp_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another engine removes the file we are replacing: delta-rs refuses, we re-read, retry."""
    tmp_lake.write_table("typing", typing_rows(["old"]), source="test", scope="s")
    real = _commit.commit_actions
    interfered = []

    def foreign_then_real(dt: Any, spec: Any, **kwargs: Any) -> int:
        if not interfered:
            interfered.append(1)
            other = type(dt)(str(tmp_lake.table_dir("typing")))
            (path,) = [a["path"] for a in pa.table(other.get_add_actions()).to_pylist()]
            remove = RemoveAction(path, True, 0, None, {"day": DAY.isoformat()})
            other.create_write_transaction([remove], "append", spec.reader_schema(), ["day"])
        return real(dt, spec, **kwargs)

    monkeypatch.setattr(_commit, "commit_actions", foreign_then_real)
    report = tmp_lake.write_table("typing", typing_rows(["new"]), source="test", scope="s")
    assert interfered and report.rows_written == 1
    assert [d for _, d in _rows(tmp_lake)] == ["new"]


def test_cli_reports_a_busy_or_conflicting_lake_in_one_line(tmp_path: Path) -> None:
    out = subprocess.run(
        cli("metrics", "show", "requests_served", "--lake", str(tmp_path / "none")),
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "no lake here" in out.stderr
