"""The causal estimates recover the simulator's known effects in the rollout scenario.

Fast: three seeds (8-week worlds of 1,500 developers). Slow: 20 seeds, the issue's criteria.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from codex_metrics.analysis.aipw import aipw, effect_by_experience
from codex_metrics.analysis.estimates import Estimate
from codex_metrics.analysis.frames import Frames
from codex_metrics.analysis.staggered_did import (
    callaway_santanna,
    developer_weeks,
    naive_adoption_difference,
    placebo,
    two_way_fixed_effects,
)
from codex_metrics.lake import Lake
from codex_metrics.telemetry.truth import load_truth
from tests.analysis.conftest import causal_lake
from tests.parallel import map_seeds


def _estimates(lake: Lake) -> dict[str, object]:
    tasks = Frames(lake.snapshot()).tasks()
    panel = developer_weeks(tasks)
    study = callaway_santanna(panel)
    return {
        "aipw_att": aipw(tasks, target="att"),
        "naive_task": tasks,
        "cs": study.overall,
        "events": study.by_event_week,
        "twfe": two_way_fixed_effects(panel),
        "naive": naive_adoption_difference(panel),
        "placebo": placebo(panel),
        "by_experience": effect_by_experience(tasks),
        "truth": load_truth(lake)["estimands"],
    }


def _covers(e: Estimate, truth: float) -> bool:
    assert e.ci_low is not None and e.ci_high is not None
    return e.ci_low <= truth <= e.ci_high


@pytest.fixture(scope="module")
def results(causal_world: Lake) -> dict[str, object]:
    return _estimates(causal_world)


def test_aipw_att_covers_the_task_level_truth(results: dict) -> None:
    truth = results["truth"]["task_effect"]["att_log"]
    att = results["aipw_att"]
    assert att.status == "ok"
    # Per seed within 3 SE (a 95% interval misses 1 world in 20; the 20-seed test counts those).
    assert abs(att.estimate - truth) < 3 * att.std_error, (att.estimate, att.std_error, truth)
    assert att.details["e_value"] > 1


def test_naive_task_difference_misses(results: dict) -> None:
    tasks = results["naive_task"]
    y = np.log(tasks["minutes"].to_numpy())
    t = tasks["with_ai"].to_numpy(bool)
    naive = y[t].mean() - y[~t].mean()
    truth = results["truth"]["task_effect"]["att_log"]
    # Adopters are juniors, slower without AI, so the raw comparison understates the speed-up.
    assert naive - truth > 5 * results["aipw_att"].std_error


def test_callaway_santanna_covers_the_adoption_truth_and_beats_twfe(results: dict) -> None:
    truth = results["truth"]["adoption_effect"]
    cs = results["cs"]
    assert abs(cs.estimate - truth["att_log"]) < 3 * cs.std_error, (cs.estimate, truth["att_log"])
    assert results["twfe"].ci_low is not None  # shown beside it; its bias is checked over seeds
    assert not _covers(results["naive"], truth["att_log"])
    by_week = {e.subgroup: e for e in results["events"]}
    for week, value in truth["by_event_week"].items():
        e = by_week[f"event_week={week}"]
        # Each event week within 4 standard errors (20 intervals: a few may miss at 95%).
        assert abs(e.estimate - value) < 4 * e.std_error
    pre = [e for e in results["events"] if int(e.subgroup.split("=")[1]) < 0]
    assert pre and cs.details["pretrend_p"] is not None


def test_placebo_covers_zero(results: dict) -> None:
    p = results["placebo"]
    assert p.status == "ok", p.status_reason
    assert p.estimate is not None
    assert _covers(p, 0.0)


def test_effect_by_experience_has_the_true_sign_and_order(results: dict) -> None:
    junior, mid, senior = (e.estimate for e in results["by_experience"])
    assert junior < mid < senior < 0.1
    assert junior < 0 and mid < 0


def _seed_row(
    root: Path, seed: int
) -> tuple[Estimate, float, Estimate, float, Estimate, Estimate, Estimate]:
    """One seed's world and estimates (run in a worker process; the lake is removed after)."""
    lake = causal_lake(root, seed)
    r = _estimates(lake)
    shutil.rmtree(root)
    return (
        r["aipw_att"],
        r["truth"]["task_effect"]["att_log"],
        r["cs"],
        r["truth"]["adoption_effect"]["att_log"],
        r["naive"],
        r["placebo"],
        r["twfe"],
    )


@pytest.mark.slow
def test_twenty_seeds_meet_the_issue_criteria(tmp_path: Path) -> None:
    seeds = range(100, 120)
    rows = map_seeds(_seed_row, [tmp_path / f"s{seed}" for seed in seeds], seeds)
    checks = []
    for k_est, k_truth in ((0, 1), (2, 3)):
        est = [row[k_est] for row in rows]
        truths = np.array([row[k_truth] for row in rows])
        values = np.array([e.estimate for e in est])
        covered = sum(_covers(e, t) for e, t in zip(est, truths, strict=True))
        sd = values.std(ddof=1)
        half = np.mean([(e.ci_high - e.ci_low) / 2 for e in est])
        bias = np.mean(values - truths)
        print(  # the figures of the closing note (pytest -s)
            f"{est[0].method}: covered {covered}/20, mean half-width {half:.4f}, sd of "
            f"estimates {sd:.4f} (ratio {half / sd:.2f}), sd of errors "
            f"{(values - truths).std(ddof=1):.4f}, mean bias {bias:+.4f} ({bias / sd:+.2f} sd)"
        )
        error_sd = (values - truths).std(ddof=1)
        # The issue's "half-width <= 1.5 x SD of the estimates" holds only when the truth
        # itself varies between worlds: a calibrated interval has half-width 1.96 x the error
        # SD. It holds for the AIPW ATT (ratio 0.97 measured) but not for the adoption ATT
        # (1.78 with a calibrated interval), so that one is held to calibration instead.
        width_ok = half <= 1.5 * sd if k_est == 0 else 0.7 <= half / (1.96 * error_sd) <= 1.5
        checks.append((covered >= 18, width_ok, abs(bias) <= 0.25 * sd))
    cs_bias = np.mean([row[2].estimate - row[3] for row in rows])
    twfe_bias = np.mean([row[6].estimate - row[3] for row in rows])
    print(
        f"twfe mean bias {twfe_bias:+.4f}, cs mean bias {cs_bias:+.4f}, naive misses "
        f"{sum(not _covers(row[4], row[3]) for row in rows)}/20, placebo covers 0 "
        f"{sum(_covers(row[5], 0.0) for row in rows)}/20"
    )
    assert all(all(c) for c in checks), checks
    # TWFE compares later adopters with earlier ones: biased towards 0 here, unlike CS.
    assert twfe_bias > 0.01 and abs(cs_bias) < twfe_bias
    assert sum(not _covers(row[4], row[3]) for row in rows) >= 15
    assert sum(_covers(row[5], 0.0) for row in rows) >= 18


def _noise_panel(
    rng: np.random.Generator, developers: int = 120, weeks: int = 16, drift: float = 0.0
) -> pd.DataFrame:
    """Developer-weeks of pure noise (adoption does nothing).

    ``drift``: adopters' log duration falls by this much per week before adoption (a
    pre-trend the test should find).
    """
    cohort = rng.choice([4.0, 8.0, 12.0, np.nan, np.nan, np.nan], size=developers)
    person = rng.normal(0, 0.5, developers)
    week_effect = rng.normal(0, 0.1, weeks)
    rows = []
    for i in range(developers):
        for t in range(weeks):
            if rng.random() < 0.15:  # weeks without tasks
                continue
            pre = -drift * (t - cohort[i]) if not np.isnan(cohort[i]) and t < cohort[i] else 0.0
            y = person[i] + week_effect[t] + pre + rng.normal(0, 0.4)
            rows.append((f"d{i}", t, y, 3, cohort[i], 5.0))
    return pd.DataFrame(
        rows, columns=["developer_id", "week", "y", "tasks", "cohort", "experience_years"]
    )


def test_pretrend_test_holds_its_size_and_finds_a_drift() -> None:
    rng = np.random.default_rng(2026)
    null = [callaway_santanna(_noise_panel(rng)).pretrend_p for _ in range(200)]
    assert all(p is not None for p in null)
    rejected = np.mean(np.array(null, dtype=float) < 0.05)
    # 5% nominal; binomial SD over 200 panels is 1.5 points (the old cell-by-cell chi-square
    # test rejected 59% of these panels).
    assert 0.01 <= rejected <= 0.09, rejected
    drifting = [callaway_santanna(_noise_panel(rng, drift=0.1)).pretrend_p for _ in range(40)]
    assert np.mean(np.array(drifting, dtype=float) < 0.05) >= 0.8
