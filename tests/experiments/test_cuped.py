from __future__ import annotations

import numpy as np
import pytest

from codex_metrics.experiments.cuped import CupedRatioStats, cuped_adjust
from codex_metrics.experiments.frequentist import compare
from codex_metrics.experiments.status import Status
from codex_metrics.experiments.sufficient_stats import RatioStats


def _arms(seed: int = 1, n: int = 60, lift: float = 0.03):
    rng = np.random.default_rng(seed)
    out = []
    for v in (0, 1):
        shown, pre_shown = rng.poisson(100, n) + 1, rng.poisson(80, n) + 1
        p = rng.beta(3, 9, n)
        acc = rng.binomial(shown, np.clip(p + lift * v, 0, 1))
        pre_acc = rng.binomial(pre_shown, p)
        out.append((acc, shown, pre_acc, pre_shown))
    return out


def test_ratio_cuped_matches_tea_tasting_absolute_result():
    # Golden numbers from tea-tasting 1.14.0 RatioOfMeans("accepted", "shown", "pre_acc",
    # "pre_shown") on _arms(seed=1); typed by hand.
    (a, b) = _arms()
    res = cuped_adjust(CupedRatioStats.from_arrays(*a), CupedRatioStats.from_arrays(*b))
    effect = compare(res.control, res.treatment).absolute
    assert effect.estimate == pytest.approx(0.013231057475026564, abs=1e-9)
    assert effect.ci_low == pytest.approx(-0.009266488795326735, abs=1e-9)
    assert effect.ci_high == pytest.approx(0.03572860374537987, abs=1e-9)
    assert effect.p_value == pytest.approx(0.2465157224110635, abs=1e-9)


def test_cuped_narrows_the_interval_when_pre_period_predicts():
    (a, b) = _arms()
    res = cuped_adjust(CupedRatioStats.from_arrays(*a), CupedRatioStats.from_arrays(*b))
    raw = compare(RatioStats.from_arrays(a[0], a[1]), RatioStats.from_arrays(b[0], b[1])).absolute
    adj = compare(res.control, res.treatment).absolute
    assert res.status is Status.OK and 0.5 < res.theta < 1.2
    assert adj.se < raw.se
    assert res.variance_reduction == pytest.approx(1 - (adj.se / raw.se) ** 2, abs=1e-12)


def test_mean_cuped_matches_gbstats_regression_adjusted_statistic():
    st = pytest.importorskip("gbstats.models.statistics")
    ft = pytest.importorskip("gbstats.frequentist.tests")
    rng = np.random.default_rng(3)
    gb, ours = [], []
    for shift in (0.0, 0.4):
        pre = rng.normal(10, 3, 80)
        post = 0.8 * pre + rng.normal(shift, 1.5, 80)
        ones = np.ones_like(pre)
        ours.append(CupedRatioStats.from_arrays(post, ones, pre, ones))
        gb.append(
            st.RegressionAdjustedStatistic(
                n=80,
                post_statistic=st.SampleMeanStatistic(
                    n=80, sum=post.sum(), sum_squares=(post**2).sum()
                ),
                pre_statistic=st.SampleMeanStatistic(
                    n=80, sum=pre.sum(), sum_squares=(pre**2).sum()
                ),
                post_pre_sum_of_products=(post * pre).sum(),
                theta=0,
            )
        )
    theta = st.compute_theta(*gb)
    gb = [st.RegressionAdjustedStatistic(**{**g.__dict__, "theta": theta}) for g in gb]
    res = cuped_adjust(*ours)
    assert res.theta == pytest.approx(theta, rel=1e-9)
    for kind in ("absolute", "relative"):
        ref = ft.TwoSidedTTest(
            gb[0], gb[1], ft.FrequentistConfig(difference_type=kind)
        ).compute_result()
        got = getattr(compare(res.control, res.treatment), kind)
        assert got.estimate == pytest.approx(ref.expected, abs=1e-9)
        assert [got.ci_low, got.ci_high] == pytest.approx(ref.ci, abs=1e-9)
        assert got.p_value == pytest.approx(ref.p_value, abs=1e-9)


def test_no_pre_period_falls_back_to_raw_with_status():
    (a, b) = _arms()
    zeros = np.zeros_like(a[0])
    res = cuped_adjust(
        CupedRatioStats.from_arrays(a[0], a[1], zeros, zeros),
        CupedRatioStats.from_arrays(b[0], b[1], zeros, zeros),
    )
    assert res.status is Status.NO_PRE_PERIOD and res.theta == 0.0
    raw = compare(RatioStats.from_arrays(a[0], a[1]), RatioStats.from_arrays(b[0], b[1])).absolute
    assert compare(res.control, res.treatment).absolute.se == pytest.approx(raw.se, rel=1e-12)


def test_cuped_stats_pool_by_addition():
    (a, _) = _arms()
    whole = CupedRatioStats.from_arrays(*a)
    first = CupedRatioStats.from_arrays(*(x[:20] for x in a))
    rest = CupedRatioStats.from_arrays(*(x[20:] for x in a))
    pooled = first + rest
    assert pooled.post_pre_covariance == pytest.approx(whole.post_pre_covariance, rel=1e-12)
    assert pooled.post.variance == pytest.approx(whole.post.variance, rel=1e-12)
