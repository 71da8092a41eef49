from __future__ import annotations

import numpy as np
import pytest

from codex_metrics.errors import ParameterError
from codex_metrics.experiments.frequentist import absolute_effect
from codex_metrics.experiments.guardrails import (
    GuardrailOutcome,
    guardrail_outcome,
    non_inferiority,
)
from codex_metrics.experiments.power import power_at, required_developers
from codex_metrics.experiments.sequential import sequential_effect
from codex_metrics.experiments.sufficient_stats import MeanStats, RatioStats


def test_sequential_matches_gbstats_golden_values(toy_arms):
    # gbstats 0.8.0 SequentialTwoSidedTTest on the §1.4 toy data (typed by hand).
    rel = sequential_effect(*toy_arms, planned_developers=5000, kind="relative")
    assert rel.estimate == pytest.approx(0.309645, abs=1e-6)
    assert [rel.ci_low, rel.ci_high] == pytest.approx([-0.769272, 1.388561], abs=1e-6)
    assert rel.p_value == pytest.approx(0.790380, abs=1e-6)
    ab = sequential_effect(*toy_arms, planned_developers=16, kind="absolute")
    assert [ab.ci_low, ab.ci_high] == pytest.approx([0.030427, 0.111434], abs=1e-6)
    assert ab.p_value == pytest.approx(1.064549e-05, rel=1e-5)
    assert ab.method == "sequential"


def test_sequential_interval_is_wider_than_fixed_and_tightest_near_planned_n(toy_arms):
    fixed = absolute_effect(*toy_arms)
    widths = {
        n: (lambda e: e.ci_high - e.ci_low)(sequential_effect(*toy_arms, planned_developers=n))
        for n in (4, 16, 5000)
    }
    assert min(widths.values()) > fixed.ci_high - fixed.ci_low
    assert widths[16] < widths[4] and widths[16] < widths[5000]
    with pytest.raises(ParameterError):
        sequential_effect(*toy_arms, planned_developers=0)


def test_sequential_peeking_keeps_type_one_error():
    # 400 A/A experiments looked at after every 20 developers per arm, up to 200: the
    # always-valid interval excludes 0 at any look in at most ~alpha of them.
    rng = np.random.default_rng(7)
    hits = 0
    for _ in range(400):
        x = rng.normal(0, 1, (2, 200))
        for k in range(20, 201, 20):
            a, b = MeanStats.from_values(x[0, :k]), MeanStats.from_values(x[1, :k])
            e = sequential_effect(a, b, planned_developers=400)
            if e.ci_low > 0 or e.ci_high < 0:
                hits += 1
                break
    assert hits / 400 <= 0.06


def _latency(mean_b: float, n: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    a = rng.lognormal(np.log(300), 0.3, n)
    b = rng.lognormal(np.log(300 * mean_b), 0.3, n)
    return MeanStats.from_values(a), MeanStats.from_values(b)


def test_non_inferiority_directions():
    faster = non_inferiority(*_latency(0.85), margin=0.05, higher_is_better=False)
    assert faster.p_value < 1e-6 and faster.bound < 0.05
    assert guardrail_outcome(faster, faster.p_value) is GuardrailOutcome.PASS
    slower = non_inferiority(*_latency(1.2), margin=0.05, higher_is_better=False)
    assert slower.harmful_beyond_margin and slower.p_value > 0.5
    assert guardrail_outcome(slower, slower.p_value) is GuardrailOutcome.FAIL
    same = non_inferiority(*_latency(1.0, n=20), margin=0.05, higher_is_better=False)
    assert guardrail_outcome(same, same.p_value) is GuardrailOutcome.INCONCLUSIVE
    # For higher-is-better metrics a drop within the margin still passes.
    a, b = _latency(1.0)
    up = non_inferiority(b, a, margin=0.05, higher_is_better=True)
    assert up.p_value < 0.05
    with pytest.raises(ParameterError):
        non_inferiority(a, b, margin=0, higher_is_better=True)


def test_sample_size_reaches_its_power_in_simulation():
    # Per-developer values ~ N(10, 4²): detect a 3% relative lift with 80% power.
    baseline = MeanStats.from_values(np.random.default_rng(0).normal(10, 4, 100_000))
    plan = required_developers(baseline, relative_mde=0.03, power=0.8)
    assert plan.developers == pytest.approx(
        2 * 2 * (1.959964 + 0.841621) ** 2 * 0.16 / 0.03**2, rel=0.02
    )
    rng = np.random.default_rng(1)
    half = plan.developers // 2
    x = rng.normal(10, 4, (1000, half))
    y = rng.normal(10.3, 4, (1000, half))
    a = MeanStats(half, x.sum(1), (x * x).sum(1))
    b = MeanStats(half, y.sum(1), (y * y).sum(1))
    from codex_metrics.experiments.frequentist import welch_p_values

    assert (welch_p_values(a, b) < 0.05).mean() == pytest.approx(0.8, abs=0.04)
    assert power_at(baseline, developers=plan.developers, relative_mde=0.03).power == pytest.approx(
        0.8, abs=0.005
    )


def test_power_rejects_bad_arguments():
    base = RatioStats.from_arrays([1, 2, 3], [4, 4, 5])
    for kwargs in ({"power": 1.2}, {"alpha": 0}, {"treatment_share": 1.0}, {"relative_mde": 0}):
        with pytest.raises(ParameterError):
            required_developers(base, **{"relative_mde": 0.05, **kwargs})
    with pytest.raises(ParameterError):
        required_developers(RatioStats.from_arrays([1, 1], [2, 2]), relative_mde=0.1)


def test_sequential_guardrail_is_more_conservative_than_fixed():
    from codex_metrics.experiments import AnalysisOptions
    from codex_metrics.experiments.metric_analysis import _sequential_non_inferiority

    a, b = _latency(0.97, n=400)
    fixed = non_inferiority(a, b, margin=0.05, higher_is_better=False)
    seq = _sequential_non_inferiority(fixed, a, b, AnalysisOptions(sequential=True), 800)
    assert seq.p_value > fixed.p_value and seq.bound > fixed.bound
    worse = non_inferiority(*_latency(1.08, n=400), margin=0.05, higher_is_better=False)
    assert (
        _sequential_non_inferiority(worse, *_latency(1.08, n=400), AnalysisOptions(), 800).p_value
        == 1.0
    )
