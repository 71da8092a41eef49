"""The statistics of detection, on numbers typed by hand, and gaps, holidays and low volume."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest

from codex_metrics.alerts import (
    AlertConfig,
    SeriesStatus,
    Target,
    bootstrap_log_quantile_se,
    developer_adjusted_difference,
    quantile_from_histogram,
    ratio_with_se,
)
from codex_metrics.alerts.detect import evaluate_series, find_gaps, fired_days
from codex_metrics.alerts.series import ALERT_GRID, DailyStats


def test_ratio_delta_method_golden() -> None:
    # R = 6/20 = 0.3; residuals a - R s = [1-1.5, 2-1.5, 3-3] = [-0.5, 0.5, 0]
    # Var = 3/2 * 0.5 / 400 = 0.001875
    r, se = ratio_with_se(np.array([1.0, 2.0, 3.0]), np.array([5.0, 5.0, 10.0]))
    assert r == pytest.approx(0.3)
    assert se == pytest.approx(math.sqrt(0.001875))


def test_developer_adjustment_removes_between_developer_spread() -> None:
    ids = np.array(["a", "b"])
    window = [DailyStats(date(2025, 1, d), 2, 200, developer_ids=ids, num=np.array([10.0, 50.0]),
                         den=np.array([100.0, 100.0])) for d in range(1, 8)]  # fmt: skip
    today = DailyStats(date(2025, 1, 8), 2, 200, developer_ids=ids, num=np.array([10.0, 50.0]),
                       den=np.array([100.0, 100.0]))  # fmt: skip
    r, d, se = developer_adjusted_difference(today, window)
    assert r == pytest.approx(0.3)
    # each developer did today what they did before (shrinkage moves p_i a little to 0.3)
    assert abs(d) < 0.002
    raw_se = ratio_with_se(today.num, today.den)[1]  # type: ignore[arg-type]
    assert se < raw_se / 5


def test_histogram_quantile_is_within_the_grid_error() -> None:
    rng = np.random.default_rng(1)
    x = rng.lognormal(math.log(300), 0.5, 20_000)
    bins, counts = np.unique(ALERT_GRID.bins(x), return_counts=True)
    got = quantile_from_histogram(bins, counts.astype(float), 0.9)[0]
    assert got == pytest.approx(np.quantile(x, 0.9), rel=0.01)


def test_developer_bootstrap_widens_with_developer_heterogeneity() -> None:
    rng = np.random.default_rng(2)
    grid_bins = np.arange(ALERT_GRID.bins([5])[0], ALERT_GRID.bins([50_000])[0])

    def hist(scales: np.ndarray) -> np.ndarray:
        rows = []
        for s in scales:
            b = ALERT_GRID.bins(rng.lognormal(math.log(s), 0.4, 200))
            rows.append(np.bincount(b - grid_bins[0], minlength=grid_bins.size)[: grid_bins.size])
        return np.array(rows, dtype=float)

    same = hist(np.full(100, 300.0))
    varied = hist(rng.lognormal(math.log(300), 0.5, 100))
    se_same = bootstrap_log_quantile_se(grid_bins, same, 0.9, replicates=200, seed=0)
    se_varied = bootstrap_log_quantile_se(grid_bins, varied, 0.9, replicates=200, seed=0)
    # 20,000 requests of identical developers: about sqrt(.09/20000)/f(q)·1/q ~ 1%
    assert 0.003 < se_same < 0.02
    assert se_varied > 3 * se_same


def _series(days: int, rate: float, *, volume: int = 4000, devs: int = 100, seed: int = 0,
            skip: tuple[int, ...] = ()) -> dict[date, DailyStats]:  # fmt: skip
    rng = np.random.default_rng(seed)
    out = {}
    ids = np.array([f"d{i:03d}" for i in range(devs)])
    for k in range(days):
        if k in skip:
            continue
        day = date(2025, 3, 3) + timedelta(days=k)
        den = np.full(devs, volume / devs)
        num = rng.binomial(den.astype(int), rate).astype(float)
        out[day] = DailyStats(day, devs, volume, developer_ids=ids, num=num, den=den)
    return out


TARGET = Target("acc", "completion_acceptance_rate_by_count")


def test_a_drop_fires_and_a_missing_day_is_a_gap_never_a_drop() -> None:
    series = _series(40, 0.3, skip=(35,))
    day = date(2025, 3, 3) + timedelta(days=36)
    drop = series[day]
    assert drop.num is not None
    series[day] = DailyStats(day, drop.developers, drop.events, developer_ids=drop.developer_ids,
                             num=drop.num * 0.7, den=drop.den)  # fmt: skip
    config = AlertConfig()
    first = date(2025, 3, 3) + timedelta(days=30)
    points = evaluate_series(TARGET, ("overall", ""), series, first=first,
                             last=first + timedelta(days=9), gaps=set(), config=config)  # fmt: skip
    by_day = {p.day: p for p in points}
    assert by_day[day - timedelta(days=1)].status == SeriesStatus.GAP
    assert by_day[day].z > 4
    fired = fired_days(points, config)
    assert [(p.day, start) for p, start in fired][:1] == [(day, day)]


def test_low_volume_never_alerts() -> None:
    series = _series(40, 0.3)
    day = date(2025, 3, 3) + timedelta(days=36)
    series[day] = DailyStats(day, 3, 12, developer_ids=np.array(["a", "b", "c"]),
                             num=np.zeros(3), den=np.full(3, 4.0))  # fmt: skip
    first = date(2025, 3, 3) + timedelta(days=30)
    points = evaluate_series(TARGET, ("overall", ""), series, first=first,
                             last=first + timedelta(days=9), gaps=set(), config=AlertConfig())  # fmt: skip
    assert {p.day: p.status for p in points}[day] == SeriesStatus.LOW_VOLUME
    assert not fired_days(points, AlertConfig())


def test_partial_and_missing_days_are_gaps_and_holidays_are_not() -> None:
    start = date(2025, 3, 3)
    volume = {start + timedelta(days=k): (14_000 if (start + timedelta(days=k)).weekday() < 5
                                          else 1500) for k in range(30)}  # fmt: skip
    volume[start + timedelta(days=22)] = 5_000  # a partly ingested Tuesday
    del volume[start + timedelta(days=23)]  # nothing for Wednesday
    volume[start + timedelta(days=24)] = 1_000  # a quiet holiday Thursday
    config = AlertConfig(holidays=((start + timedelta(days=24)).strftime("%m-%d"),))
    gaps = find_gaps(volume, start, start + timedelta(days=29), config)
    assert gaps == {start + timedelta(days=22), start + timedelta(days=23)}
