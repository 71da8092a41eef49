"""Latency slopes against the simulator's, and the acceptance models against the oracle."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from codex_metrics.analysis.frames import Frames
from codex_metrics.analysis.latency_satisfaction import (
    acceptance_latency_slope,
    developer_latency,
    satisfaction_latency_slopes,
    shown_suggestions_sample,
)
from codex_metrics.analysis.productivity import ProductivityReport
from codex_metrics.telemetry.truth import load_truth
from tests.conftest import simulated_lake
from tests.parallel import map_seeds


def test_acceptance_latency_slope_covers_the_simulators(rollout_report: ProductivityReport) -> None:
    e = rollout_report.find("acceptance_log_odds_per_latency_doubling", "fixed_effects_logit")
    assert e is not None and e.status == "ok"
    assert e.truth == -0.45
    assert e.covers_truth, (e.estimate, e.ci_low, e.ci_high)
    deciles = e.details["by_latency_decile"]
    assert len(deciles) == 10 and all(d["marginal_pp_per_doubling"] < 0 for d in deciles)
    # Acceptance falls with latency.
    assert deciles[0]["acceptance"] > deciles[-1]["acceptance"]


def test_satisfaction_slope_covers_the_simulators(rollout_report: ProductivityReport) -> None:
    e = rollout_report.find("satisfaction_per_latency_doubling_p50", "ols_clustered")
    assert e is not None and e.status == "ok"
    assert e.truth == -0.9
    assert e.covers_truth, (e.estimate, e.ci_low, e.ci_high)
    engagement = rollout_report.find("engagement_active_day_share_per_latency_doubling", "ols_hc1")
    assert engagement is not None and engagement.covers_truth


def test_grouped_cv_auc_is_within_003_of_the_oracle(rollout_report: ProductivityReport) -> None:
    for method in ("logistic_penalised", "xgboost"):
        auc = rollout_report.find("cv_auc", method)
        assert auc is not None and auc.truth is not None and auc.estimate is not None
        assert abs(auc.estimate - auc.truth) <= 0.03, (method, auc.estimate, auc.truth)
        assert auc.details["developers_in_both_folds"] == 0
        loss = rollout_report.find("cv_log_loss", method)
        assert loss is not None and loss.estimate is not None and loss.truth is not None
        # No model beats the oracle by more than fold noise.
        assert loss.estimate > loss.truth - 0.02


def test_latency_odds_ratio_is_below_one(rollout_report: ProductivityReport) -> None:
    e = rollout_report.find("odds_ratio", "logit_clustered", "term=log2_latency")
    assert e is not None and e.ci_high is not None and e.ci_high < 1
    assert rollout_report.charts["contributions"]
    pdp = rollout_report.charts["partial_dependence_latency"]
    assert pdp[0]["acceptance"] > pdp[-1]["acceptance"]


def _slopes_cover(root: Path, seed: int) -> tuple[bool, bool]:
    """Whether one seed's acceptance and satisfaction slopes cover the truth (worker process)."""
    lake = simulated_lake(root, "rollout", developers=500, days=28, seed=seed)
    frames = Frames(lake.snapshot())
    slope = acceptance_latency_slope(shown_suggestions_sample(frames))
    sat = satisfaction_latency_slopes(frames, developer_latency(frames))[0]
    truth = load_truth(lake)["estimands"]["latency_slopes"]
    shutil.rmtree(root)
    return (
        bool(slope.with_truth(truth["acceptance_log_odds_per_doubling"]).covers_truth),
        bool(sat.with_truth(truth["satisfaction_per_doubling"]).covers_truth),
    )


@pytest.mark.slow
def test_latency_slopes_cover_truth_in_18_of_20_seeds(tmp_path: Path) -> None:
    seeds = range(200, 220)
    rows = map_seeds(_slopes_cover, [tmp_path / f"s{seed}" for seed in seeds], seeds)
    acceptance = sum(a for a, _ in rows)
    satisfaction = sum(s for _, s in rows)
    print(f"latency slopes: acceptance covered {acceptance}/20, satisfaction {satisfaction}/20")
    assert acceptance >= 18 and satisfaction >= 18
