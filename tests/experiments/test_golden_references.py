"""Golden numbers of shared/notes/experiments.md §1.4, typed by hand (gbstats 0.8.0, tea-tasting
1.14.0), plus live cross-checks when those packages are importable."""

from __future__ import annotations

import math

import pytest

from codex_metrics.experiments.frequentist import compare, relative_effect
from codex_metrics.experiments.sufficient_stats import RatioStats

from .conftest import TOY_A, TOY_B

TOL = 1e-6


def test_per_arm_sufficient_statistics_match_gbstats_query_rows(toy_arms):
    a, b = toy_arms
    assert (a.n, a.num_sum, a.num_sum_squares) == (8, 197, 5581)
    assert (a.den_sum, a.den_sum_squares, a.num_den_sum_products) == (860, 109600, 24590)
    assert (b.n, b.num_sum, b.num_sum_squares) == (8, 261, 9605)
    assert (b.den_sum, b.den_sum_squares, b.num_den_sum_products) == (870, 103100, 31390)


def test_rates_and_per_developer_delta_variance(toy_arms):
    a, b = toy_arms
    assert a.mean == pytest.approx(0.229070, abs=TOL)
    assert b.mean == pytest.approx(0.300000, abs=TOL)
    assert a.variance == pytest.approx(0.000821, abs=1e-6)
    assert b.variance == pytest.approx(0.000604, abs=1e-6)


def test_absolute_lift_matches_gbstats_and_tea_tasting(toy_arms):
    result = compare(*toy_arms).absolute
    assert result.estimate == pytest.approx(0.070930, abs=TOL)
    assert result.se == pytest.approx(0.013345, abs=TOL)
    assert result.ci_low == pytest.approx(0.042247, abs=TOL)
    assert result.ci_high == pytest.approx(0.099614, abs=TOL)
    assert result.p_value == pytest.approx(0.000118, abs=TOL)
    assert result.df == pytest.approx(13.683, abs=1e-3)


def test_relative_lift_matches_gbstats_linear_delta(toy_arms):
    result = compare(*toy_arms).relative
    assert result.estimate == pytest.approx(0.309645, abs=TOL)
    assert result.se == pytest.approx(0.069223, abs=TOL)
    assert result.ci_low == pytest.approx(0.160854, abs=TOL)
    assert result.ci_high == pytest.approx(0.458435, abs=TOL)
    assert result.p_value == pytest.approx(0.000555, abs=TOL)


def test_relative_ci_is_linear_not_tea_tastings_log_scale(toy_arms):
    # tea-tasting's log-scale interval is [0.1673, 0.4694]; ours is gbstats' linear one.
    result = compare(*toy_arms).relative
    assert result.ci_low < 0.1673 - 0.005 and result.ci_high < 0.4694 - 0.005


def test_fieller_interval_contains_estimate_and_is_asymmetric(toy_arms):
    result = relative_effect(*toy_arms, ci="fieller")
    assert result.method == "fieller"
    assert result.ci_low < result.estimate < result.ci_high
    # Fieller skews to the right of the linear interval for a positive ratio.
    assert result.ci_high - result.estimate > result.estimate - result.ci_low
    # Numbers from the closed form with t(0.975, 13.683) = 2.14936.
    assert result.ci_low == pytest.approx(0.171638, abs=TOL)
    assert result.ci_high == pytest.approx(0.471524, abs=TOL)


# --- live cross-checks (skipped when the oracles are not installed) -----------------------


def _gb_ratio(stats: RatioStats):
    st = pytest.importorskip("gbstats.models.statistics")
    n, mean = stats.n, st.SampleMeanStatistic
    return st.RatioStatistic(
        n=n,
        m_statistic=mean(n=n, sum=stats.num_sum, sum_squares=stats.num_sum_squares),
        d_statistic=mean(n=n, sum=stats.den_sum, sum_squares=stats.den_sum_squares),
        m_d_sum_of_products=stats.num_den_sum_products,
    )


@pytest.mark.parametrize("kind", ["absolute", "relative"])
def test_live_gbstats_agrees_to_1e9(toy_arms, kind):
    tests = pytest.importorskip("gbstats.frequentist.tests")
    a, b = toy_arms
    ref = tests.TwoSidedTTest(
        _gb_ratio(a), _gb_ratio(b), tests.FrequentistConfig(alpha=0.05, difference_type=kind)
    ).compute_result()
    ours = getattr(compare(a, b), kind)
    assert ours.estimate == pytest.approx(ref.expected, abs=1e-9)
    assert ours.se == pytest.approx(ref.uplift.stddev, abs=1e-9)
    assert [ours.ci_low, ours.ci_high] == pytest.approx(ref.ci, abs=1e-9)
    assert ours.p_value == pytest.approx(ref.p_value, abs=1e-9)


def test_live_tea_tasting_absolute_agrees(toy_arms):
    tt = pytest.importorskip("tea_tasting")
    pd = pytest.importorskip("pandas")
    rows = [{"variant": 0, "shown": s, "accepted": a} for s, a in TOY_A]
    rows += [{"variant": 1, "shown": s, "accepted": a} for s, a in TOY_B]
    ref = tt.Experiment(rate=tt.RatioOfMeans("accepted", "shown")).analyze(pd.DataFrame(rows))
    ref = ref["rate"]
    ours = compare(*toy_arms).absolute
    assert ours.estimate == pytest.approx(ref.effect_size, abs=1e-9)
    assert ours.ci_low == pytest.approx(ref.effect_size_ci_lower, abs=1e-9)
    assert ours.ci_high == pytest.approx(ref.effect_size_ci_upper, abs=1e-9)
    assert ours.p_value == pytest.approx(ref.pvalue, abs=1e-9)
    assert math.isclose(ref.rel_effect_size, compare(*toy_arms).relative.estimate, abs_tol=1e-12)
