"""Same seed and start: same rows. Partitioned runs: their union is the single run."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from codex_metrics.lake import Lake
from codex_metrics.telemetry.scenarios import build_config
from codex_metrics.telemetry.simulator import ALL_TABLES as TABLES
from codex_metrics.telemetry.simulator import simulate
from codex_metrics.telemetry.truth import load_truth


def snapshot(lake: Lake) -> dict[str, list[tuple]]:
    con = lake.connect()
    out = {}
    for t in TABLES:
        # ingested_at is the write time; scope names the partition that wrote the row.
        skip = ("ingested_at", "scope")
        cols = [r[0] for r in con.execute(f"DESCRIBE {t}").fetchall() if r[0] not in skip]
        quoted = ", ".join(f'"{c}"' for c in cols)
        out[t] = con.execute(f"SELECT {quoted} FROM {t} ORDER BY ALL").fetchall()
    return out


def run(
    root: Path,
    partition: tuple[int, int] = (0, 1),
    *,
    seed: int = 5,
    start: date = date(2025, 3, 3),
) -> Lake:
    lake = Lake.open(root)
    cfg = build_config(
        "ab_test", developers=700, days=9, seed=seed, start=start, overrides={"ab.pre_days": 3}
    )
    simulate(lake, cfg, partition=partition, block_size=128)
    return lake


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    return run(tmp_path_factory.mktemp("single") / "lake")


def test_same_seed_and_start_give_the_same_rows(single: Lake, tmp_path: Path) -> None:
    again = run(tmp_path / "again")
    assert snapshot(again) == snapshot(single)
    assert load_truth(again)["estimands"] == load_truth(single)["estimands"]


def test_another_seed_or_start_gives_other_rows(single: Lake, tmp_path: Path) -> None:
    other = snapshot(run(tmp_path / "seed", seed=6))["suggestions"]
    assert other != snapshot(single)["suggestions"]
    shifted = snapshot(run(tmp_path / "start", start=date(2025, 3, 10)))["suggestions"]
    assert (
        len(shifted) != len(snapshot(single)["suggestions"])
        or shifted != snapshot(single)["suggestions"]
    )


def test_partitions_union_equals_single_run(single: Lake, tmp_path: Path) -> None:
    root = tmp_path / "parts"
    for i in range(3):
        lake = run(root, (i, 3))
        if i < 2:  # truth appears only once every partition is in
            assert not (lake.simulator_dir / "truth.json").exists()
    assert snapshot(lake) == snapshot(single)
    est, est_single = load_truth(lake)["estimands"], load_truth(single)["estimands"]
    assert est["ab_test"]["pooled_acceptance_difference"] == pytest.approx(
        est_single["ab_test"]["pooled_acceptance_difference"], rel=1e-9
    )
    assert est["acceptance_rate_expected"] == pytest.approx(
        est_single["acceptance_rate_expected"], rel=1e-9
    )
    members = load_truth(lake)["personas"]
    assert sum(len(p["members"]) for p in members.values()) == 700


def test_a_new_run_replaces_the_simulated_world(single: Lake, tmp_path: Path) -> None:
    root = tmp_path / "replace"
    run(root)
    lake = Lake.open(root)
    simulate(lake, build_config("baseline", developers=50, days=2, seed=1))
    con = lake.connect()
    assert con.execute("SELECT count(DISTINCT run_id) FROM suggestions").fetchone() == (1,)
    assert con.execute("SELECT count(*) FROM experiments").fetchone() == (
        0,
    )  # ab_test's rows are gone
    assert con.execute("SELECT count(*) FROM assignments").fetchone() == (0,)
    assert load_truth(lake)["scenario"] == "baseline"


def test_parallel_workers_produce_the_single_run(single: Lake, tmp_path: Path) -> None:
    from codex_metrics.telemetry.parallel import simulate_parallel

    lake = Lake.open(tmp_path / "parallel")
    cfg = build_config("ab_test", developers=700, days=9, seed=5, overrides={"ab.pre_days": 3})
    seen: list[tuple[int, int]] = []
    result = simulate_parallel(
        lake, cfg, workers=2, block_size=128, on_progress=lambda d, t: seen.append((d, t))
    )
    assert snapshot(lake) == snapshot(single)
    assert result.truth_path is not None and result.truth_path.exists()
    assert seen and seen[-1][0] == seen[-1][1]
