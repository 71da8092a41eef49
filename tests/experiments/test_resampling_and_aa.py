from __future__ import annotations

import numpy as np
import pytest

from codex_metrics.errors import ParameterError
from codex_metrics.experiments.aa import aa_false_positive_rate, heterogeneous_developers
from codex_metrics.experiments.bootstrap import cluster_bootstrap, poisson_bootstrap
from codex_metrics.experiments.frequentist import compare
from codex_metrics.experiments.mixed import mixed_model_effect
from codex_metrics.experiments.status import Status
from codex_metrics.experiments.sufficient_stats import RatioStats

from .conftest import TOY_A, TOY_B


def _split(n_per_arm: int, seed: int):
    m, d = heterogeneous_developers(2 * n_per_arm, seed=seed)
    return (m[:n_per_arm], d[:n_per_arm]), (m[n_per_arm:], d[n_per_arm:])


@pytest.mark.parametrize("bootstrap", [cluster_bootstrap, poisson_bootstrap])
@pytest.mark.parametrize("kind", ["absolute", "relative"])
def test_bootstrap_se_within_10_percent_of_delta_method(bootstrap, kind):
    a, b = _split(150, seed=11)
    delta = getattr(compare(RatioStats.from_arrays(*a), RatioStats.from_arrays(*b)), kind)
    boot = bootstrap(a, b, n_resamples=4000, kind=kind, seed=3)
    assert boot.status is Status.OK and boot.estimate == pytest.approx(delta.estimate)
    assert boot.se / delta.se == pytest.approx(1.0, abs=0.10)
    assert boot.ci_low < delta.estimate < boot.ci_high


def test_cluster_bootstrap_matches_scipy_bootstrap_on_toy_data():
    from scipy.stats import bootstrap as scipy_bootstrap

    a = (np.array([x[1] for x in TOY_A], float), np.array([x[0] for x in TOY_A], float))
    b = (np.array([x[1] for x in TOY_B], float), np.array([x[0] for x in TOY_B], float))

    def stat(ia, ib, axis=-1):
        ia, ib = ia.astype(int), ib.astype(int)
        return b[0][ib].sum(axis) / b[1][ib].sum(axis) - a[0][ia].sum(axis) / a[1][ia].sum(axis)

    ref = scipy_bootstrap(
        (np.arange(8.0), np.arange(8.0)),
        stat,
        vectorized=True,
        paired=False,
        n_resamples=20000,
        method="percentile",
        random_state=1,
    )
    ours = cluster_bootstrap(a, b, n_resamples=20000, seed=2)
    assert ours.se == pytest.approx(ref.standard_error, rel=0.03)
    # notes §3.2: percentile CI about [0.0434, 0.0930], SE 0.0127
    assert ours.se == pytest.approx(0.0127, abs=0.0006)
    assert [ours.ci_low, ours.ci_high] == pytest.approx([0.0434, 0.0930], abs=0.002)


def test_bootstrap_bad_data_and_misuse():
    empty = (np.array([]), np.array([]))
    assert cluster_bootstrap(empty, empty).status is Status.EMPTY_ARM
    one = (np.array([1.0]), np.array([3.0]))
    assert poisson_bootstrap(one, one).status is Status.TOO_FEW_DEVELOPERS
    a, b = _split(20, 0)
    with pytest.raises(ParameterError):
        cluster_bootstrap(a, b, n_resamples=3)
    with pytest.raises(ParameterError):
        cluster_bootstrap(a, b, kind="log")


@pytest.mark.slow
def test_aa_delta_method_is_calibrated_and_naive_test_is_not():
    """2,000 A/A splits of 200 heterogeneous developers (notes §3.3).

    The per-suggestion z-test treats ~150 correlated suggestions per developer as independent;
    with Beta(3, 9) developer rates (ICC ≈ 0.08) the design effect is ≈ 1 + 149·0.08 ≈ 13, so
    its standard error is ~3.5× too small and it "finds" a difference in most A/A splits. This
    is why codex-metrics never runs a per-suggestion test.
    """
    fprs = []
    for seed in range(3):
        m, d = heterogeneous_developers(200, seed=seed)
        result = aa_false_positive_rate(m, d, replicates=2000, seed=100 + seed)
        assert result.replicates == 2000
        assert 0.03 <= result.delta_fpr <= 0.07
        assert result.naive_fpr is not None and result.naive_fpr > 0.5
        fprs.append(result.delta_fpr)
    assert np.mean(fprs) == pytest.approx(0.05, abs=0.01)


def test_aa_rejects_bad_input_and_skips_naive_for_non_counts():
    with pytest.raises(ParameterError):
        aa_false_positive_rate(np.ones(3), np.ones(3))
    rng = np.random.default_rng(0)
    latency = rng.lognormal(6, 0.5, 300) * 40
    requests = rng.poisson(40, 300) + 1.0
    result = aa_false_positive_rate(latency, requests, replicates=500)
    assert result.naive_fpr is None and 0.02 <= result.delta_fpr <= 0.08


def test_mixed_model_guard_catches_the_variance_collapse():
    # notes §3.4: on the toy data τ² collapses and raw MixedLM returned treat 0.933.
    a = (np.array([x[1] for x in TOY_A], float), np.array([x[0] for x in TOY_A], float))
    b = (np.array([x[1] for x in TOY_B], float), np.array([x[0] for x in TOY_B], float))
    result = mixed_model_effect(a, b)
    assert result.status is Status.MIXED_VARIANCE_COLLAPSED and result.method == "ols-cluster"
    assert result.estimate == pytest.approx(0.070930, abs=1e-6)
    assert result.se == pytest.approx(0.0129, abs=0.0005)


def test_mixed_model_on_heterogeneous_developers_is_close_to_truth():
    rng = np.random.default_rng(5)
    shown = rng.poisson(120, 200) + 1
    rates = rng.beta(3, 9, 200) + np.r_[np.zeros(100), np.full(100, 0.05)]
    accepted = rng.binomial(shown, rates)
    result = mixed_model_effect((accepted[:100], shown[:100]), (accepted[100:], shown[100:]))
    assert result.status is Status.OK and result.method == "mixedlm"
    assert result.random_effect_variance > 0.005
    assert result.ci_low < 0.05 < result.ci_high
    sub = mixed_model_effect(
        (accepted[:100], shown[:100]), (accepted[100:], shown[100:]), max_developers=30
    )
    assert sub.subsampled and sub.developers == 60
    latency = (rng.random(10) * 100, np.ones(10))
    assert mixed_model_effect(latency, latency).status is Status.MIXED_NOT_APPLICABLE
