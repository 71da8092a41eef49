"""Bad data is a result with a stable status code, never an exception."""

from __future__ import annotations

import math

import pytest

from codex_metrics.errors import ParameterError
from codex_metrics.experiments.frequentist import compare, relative_effect
from codex_metrics.experiments.status import Status
from codex_metrics.experiments.sufficient_stats import MeanStats, ProportionStats, RatioStats

GOOD = RatioStats.from_arrays([3, 4, 5, 2], [10, 12, 11, 9])


@pytest.mark.parametrize(
    ("control", "status"),
    [
        (RatioStats.from_arrays([], []), Status.EMPTY_ARM),
        (RatioStats.from_arrays([3], [10]), Status.TOO_FEW_DEVELOPERS),
        (RatioStats.from_arrays([0, 0, 0], [0, 0, 0]), Status.ZERO_DENOMINATOR),
    ],
)
def test_bad_arms_give_status_codes(control, status):
    result = compare(control, GOOD)
    assert result.absolute.status is status and result.relative.status is status
    assert math.isnan(result.absolute.p_value) and result.absolute.message


def test_zero_variance_keeps_the_point_estimate():
    a = MeanStats.from_values([2.0, 2.0, 2.0])
    b = MeanStats.from_values([3.0, 3.0])
    result = compare(a, b).absolute
    assert result.status is Status.ZERO_VARIANCE and result.estimate == 1.0


def test_zero_baseline_only_breaks_the_relative_lift():
    a = MeanStats.from_values([-1.0, 1.0, 0.0])
    b = MeanStats.from_values([1.0, 2.0, 3.0])
    result = compare(a, b)
    assert result.absolute.ok and result.relative.status is Status.BASELINE_ZERO


def test_fieller_unbounded_when_control_is_indistinguishable_from_zero():
    a = MeanStats.from_values([-5.0, 5.5, -4.0, 4.2])
    b = MeanStats.from_values([1.0, 2.0, 3.0, 2.5])
    result = relative_effect(a, b, ci="fieller")
    assert result.status is Status.FIELLER_UNBOUNDED and math.isinf(result.ci_high)


def test_misuse_raises():
    with pytest.raises(ParameterError):
        compare(GOOD, GOOD, alpha=1.5)
    with pytest.raises(ParameterError):
        relative_effect(GOOD, GOOD, ci="log")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        GOOD + MeanStats.from_values([1.0])  # type: ignore[operator]


def test_proportion_and_mean_stats_pool_by_addition():
    p = ProportionStats(10, 3) + ProportionStats(30, 9)
    assert (p.n, p.mean, p.variance) == (40, 0.3, pytest.approx(0.21))
    whole = MeanStats.from_values([1.0, 2.0, 3.0, 7.0])
    parts = MeanStats.from_values([1.0, 2.0]) + MeanStats.from_values([3.0, 7.0])
    assert parts.variance == pytest.approx(whole.variance)
    ratio = RatioStats.from_mean(whole)
    assert ratio.mean == pytest.approx(whole.mean) and ratio.variance == pytest.approx(
        whole.variance
    )
