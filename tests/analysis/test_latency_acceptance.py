"""Latency slopes against the simulator's, and the acceptance models against the oracle."""

from __future__ import annotations

from codex_metrics.analysis.productivity import ProductivityReport


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
