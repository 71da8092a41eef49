"""The demo world: one simulated world with every milestone the dashboard shows."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from codex_metrics.alerts import list_annotations
from codex_metrics.dashboard.demo import DEMO_OVERRIDES, build_demo
from codex_metrics.experiments import list_experiments
from codex_metrics.lake import Lake
from codex_metrics.metrics import compute_metric
from codex_metrics.telemetry.scenarios import DEFAULT_START
from codex_metrics.telemetry.truth import load_truth


def test_the_demo_world_has_a_rollout_an_experiment_and_a_regression(tmp_path: Path) -> None:
    built = build_demo(
        tmp_path / "demo", developers=300, days=42, seed=3, evals=False, analysis=False
    )
    lake = Lake.open(tmp_path / "demo")
    assert built.scenario == "demo" and built.events > 0
    estimands = load_truth(lake)["estimands"]
    assert {"ab_test", "latency_regression", "rollout"} <= set(estimands)
    # Adopters are the less experienced (the rollout's confounding), as in `rollout`.
    ro = estimands["rollout"]
    assert ro["adopters_mean_experience_years"] < ro["non_adopters_mean_experience_years"]
    (experiment,) = list_experiments(lake.connect())
    marks = list_annotations(lake.snapshot())
    kinds = [m["kind"] for m in marks]
    assert kinds.count("rollout") == DEMO_OVERRIDES["rollout.waves"]
    start = DEFAULT_START + timedelta(days=int(str(DEMO_OVERRIDES["ab.pre_days"])))
    deploy = DEFAULT_START + timedelta(days=int(str(DEMO_OVERRIDES["regression.day"])))
    assert {(m["kind"], m["day"]) for m in marks} >= {
        ("experiment_start", start),
        ("deploy", deploy),
    }
    assert [m["experiment_id"] for m in marks if m["kind"] == "experiment_start"] == [
        experiment.experiment_id
    ]
    # The regression is in the data: completion P90 latency jumps on the deploy day.
    p90 = compute_metric(
        "latency_p90_ms", lake.snapshot(), filters={"feature": ["code_completion"]}
    )
    by_day = {r["period"]: r["value"] for r in p90.rows.to_pylist()}
    before = [v for d, v in by_day.items() if start <= d < deploy]
    after = [v for d, v in by_day.items() if d >= deploy]
    assert min(after) > 1.3 * max(before)
    # A second build reuses the world.
    again = build_demo(
        tmp_path / "demo", developers=300, days=42, seed=3, evals=False, analysis=False
    )
    assert "already built" in " ".join(again.notes)
    assert len(list_annotations(lake.snapshot())) == len(marks)
