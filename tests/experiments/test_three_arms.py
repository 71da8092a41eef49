"""Several arms: every treatment against the control, Holm across arms, a verdict naming the arm."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
from scipy import stats as sps

from codex_metrics.experiments import AnalysisOptions, Decision, Role, analyze_experiment
from codex_metrics.experiments.planning import plan_power
from codex_metrics.lake import Lake
from codex_metrics.telemetry.scenarios import build_config
from codex_metrics.telemetry.simulator import simulate
from codex_metrics.telemetry.truth import load_truth
from tests.parallel import map_seeds

EXPERIMENT = "exp-models-b-c-vs-a"
PRIMARY = "acceptance_rate_by_count"
# The verdict on the primary metric and the latency guardrails; the 10%-margin error-rate
# guardrail needs far more developers than this test can simulate (see `ab power`).
VERDICT_METRICS = (PRIMARY, "latency_mean_ms", "latency_p90_ms")
POWERED = {"ab.pre_days": 3, "errors.error_rate": 0.08}
NULL = {**POWERED, "ab.lift_acceptance": 0.0, "ab.latency_ratio": 1.0, "ab3.lift_acceptance_c": 0.0}


def _world(root: Path, *, developers: int, days: int, seed: int, overrides: dict) -> Lake:
    lake = Lake.open(root)
    simulate(
        lake,
        build_config(
            "ab_three_arms", developers=developers, days=days, seed=seed, overrides=overrides
        ),
    )
    return lake


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    lake = _world(
        tmp_path_factory.mktemp("three") / "lake", developers=300, days=8, seed=2, overrides=POWERED
    )
    con = lake.connect()
    return lake, analyze_experiment(con, EXPERIMENT, AnalysisOptions(slices=False))


def test_every_treatment_is_compared_with_the_control(small):
    lake, report = small
    assert [a.name for a in report.design.arms] == ["A", "B", "C"]
    assert report.treatments == ("B", "C")
    per_arm = Counter(m.arm for m in report.metrics)
    assert per_arm == {"B": 8, "C": 8} and {m.control_arm for m in report.metrics} == {"A"}
    truth = load_truth(lake)["estimands"]["ab_test"]
    assert {"pooled_acceptance_difference", "pooled_acceptance_difference_c"} <= set(truth)
    assert truth["completion_latency_p90_ms_c"] == pytest.approx(
        truth["completion_latency_p90_ms_a"]
    )


def test_holm_runs_over_every_arm_and_srm_over_every_arm(small):
    _, report = small
    family = [m for m in report.metrics if m.role in (Role.PRIMARY, Role.GUARDRAIL)]
    assert len(family) == 8  # primary + 3 guardrails, for each of B and C
    smallest = min(family, key=lambda m: m.p_value)
    assert smallest.adjusted_p_value == pytest.approx(min(1.0, len(family) * smallest.p_value))
    srm = report.health.srm
    assert set(srm.observed) == {"A", "B", "C"}
    expected = [srm.expected[a] for a in "ABC"]
    observed = [srm.observed[a] for a in "ABC"]
    assert srm.p_value == pytest.approx(sps.chisquare(observed, expected).pvalue)


def _three_arm_seed(
    root: Path, seed: int, overrides: dict, with_power: bool
) -> tuple[Decision, str | None, float | None]:
    """One world's verdict and arm, and `ab power`'s power for the primary of B if asked."""
    lake = _world(root, developers=450, days=9, seed=seed, overrides=overrides)
    con = lake.connect()
    report = analyze_experiment(
        con, EXPERIMENT, AnalysisOptions(slices=False, metrics=VERDICT_METRICS)
    )
    power = None
    if with_power:
        truth = load_truth(lake)["estimands"]["ab_test"]
        primary = next(m for m in report.metrics if m.metric == PRIMARY and m.arm == "B")
        counts = report.health.counts.developers
        power = plan_power(
            con,
            PRIMARY,
            relative_mde=truth["acceptance_rate_b"] / truth["acceptance_rate_a"] - 1,
            developers=counts["A"] + counts["B"],
            alpha=0.05 / 6,  # Bonferroni over the Holm family: at least Holm's power
            variance_reduction=primary.variance_reduction,
            days=6,
        ).plan.power
    con.close()
    shutil.rmtree(root, ignore_errors=True)
    return report.verdict.decision, report.verdict.arm, power


@pytest.mark.slow
def test_the_best_arm_ships_and_no_arm_better_is_inconclusive(tmp_path):
    """30 seeds each (450 developers, 6-day experiment): B is truly best (C a smaller lift), and
    `ab power` gives the primary comparison of B at least 90% power; then no arm is better."""
    runs = [("best", POWERED, seed) for seed in range(30)]
    runs += [("null", NULL, seed) for seed in range(100, 130)]
    rows = map_seeds(
        _three_arm_seed,
        [tmp_path / f"{mode}{seed}" for mode, _, seed in runs],
        [seed for *_, seed in runs],
        [overrides for _, overrides, _ in runs],
        [i == 0 for i in range(len(runs))],
    )
    decisions: dict[str, list[tuple[Decision, str | None]]] = {"best": [], "null": []}
    for (mode, _, _), (decision, arm, _) in zip(runs, rows, strict=True):
        decisions[mode].append((decision, arm))
    power = rows[0][2]
    shipped_b = decisions["best"].count((Decision.SHIP, "B"))
    inconclusive = sum(d is Decision.INCONCLUSIVE for d, _ in decisions["null"])
    print(
        f"\nthree arms: power {power:.3f}; ship B {shipped_b}/30; null inconclusive {inconclusive}/30"
    )
    assert power is not None and power >= 0.9
    assert shipped_b >= 27
    assert inconclusive >= 27
