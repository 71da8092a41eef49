"""The simulator's truth carries the estimands of the productivity analysis."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from codex_metrics.lake import Lake
from codex_metrics.telemetry.scenarios import build_config
from codex_metrics.telemetry.simulator import simulate
from codex_metrics.telemetry.truth import _auc_from_histograms, load_truth


def test_rollout_truth_has_every_estimand(rollout_world: Lake) -> None:
    est = load_truth(rollout_world)["estimands"]
    task = est["task_effect"]
    # Tasks done with AI include agent tasks (minutes instead of an hour), so ATT < ATE < 0.
    assert task["att_log"] < task["ate_log"] < 0
    assert task["att_minutes"] < 0 and task["tasks_with_ai"] < task["tasks"]
    by_exp = est["tasks"]["log_effect_by_experience_years"]
    # log(1 - speed-up), speed-up 0.26 - 0.015 (years - 7).
    assert by_exp["1"] == pytest.approx(math.log(1 - 0.35))
    assert by_exp["15"] == pytest.approx(math.log(1 - 0.14))
    adoption = est["adoption_effect"]
    assert set(adoption["by_event_week"]) <= {"0", "1", "2"}
    # Week 0 is partly before adoption, so its effect is smaller than a full week's.
    assert adoption["by_event_week"]["1"] < adoption["by_event_week"]["0"] < 0
    assert est["latency_slopes"] == {
        "acceptance_log_odds_per_doubling": -0.45,
        "satisfaction_per_doubling": -0.9,
    }
    oracle = est["acceptance_oracle"]
    assert 0.6 < oracle["auc"] < 0.8 and 0.4 < oracle["log_loss"] < 0.69


def test_auc_from_histograms_counts_ties_as_half() -> None:
    assert _auc_from_histograms([0, 0, 1], [1, 0, 0]) == 1.0
    assert _auc_from_histograms([1, 0], [1, 0]) == 0.5
    assert _auc_from_histograms([1, 1], [1, 1]) == pytest.approx((1 * 0.5 + 1 * (1 + 0.5)) / 4)


def test_partitioned_run_has_the_same_truth(tmp_path: Path) -> None:
    cfg = build_config("rollout", developers=600, days=14, seed=4)
    single, split = Lake.open(tmp_path / "a"), Lake.open(tmp_path / "b")
    simulate(single, cfg)
    for i in range(2):
        simulate(split, cfg, partition=(i, 2))
    a, b = load_truth(single)["estimands"], load_truth(split)["estimands"]
    for key in ("task_effect", "adoption_effect", "acceptance_oracle"):
        for name, value in a[key].items():
            if isinstance(value, dict):
                assert value == pytest.approx(b[key][name], rel=1e-9)
            else:
                assert value == pytest.approx(b[key][name], rel=1e-9)
