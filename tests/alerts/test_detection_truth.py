"""Detection against the simulator's truth: delay, slice, start day, false alarms, holidays.

The fast tests use one seed each; the slow ones the issue's 20 seeds and print their figures.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta

import pytest

from codex_metrics.alerts.detect import Alert
from codex_metrics.telemetry.truth import load_truth
from tests.alerts.conftest import BASELINE_DAYS, BASELINE_START

SEEDS = range(20)
HOLIDAY_WINDOW = (date(2024, 12, 20), date(2025, 1, 5))


def _outcome(
    kind: str, seed: int, world: Callable, detections: Callable
) -> tuple[bool, int | None]:
    """Whether the regression was found with the right metric, slice and start, and the delay."""
    change = load_truth(world(kind, seed))["estimands"]["latency_regression"]["change"]
    start = date.fromisoformat(change["start_day"])
    metric = (
        "latency_p90_ms"
        if change["metric"] == "latency"
        else ("completion_acceptance_rate_by_count")
    )
    found = [
        a
        for a in detections(kind, seed)
        if a.metric == metric and a.slice == change["slice"] and a.change_start_day == start
    ]
    if not found:
        return False, None
    return True, min((a.day - start).days for a in found)


@pytest.mark.parametrize("kind", ["latency", "acceptance"])
def test_regression_is_found_on_its_first_or_second_day(
    kind: str, world: Callable, detections: Callable
) -> None:
    ok, delay = _outcome(kind, 0, world, detections)
    assert ok, [a.message for a in detections(kind, 0)]
    assert delay is not None and delay <= 1


def _false_alarms(alerts: list[Alert]) -> int:
    return len(alerts)


def test_baseline_quarter_raises_at_most_a_few_alerts_and_nothing_over_the_holidays(
    detections: Callable,
) -> None:
    alerts = detections("baseline", 0)
    assert len(alerts) <= 3, [a.message for a in alerts]
    lo, hi = HOLIDAY_WINDOW
    assert not [a for a in alerts if lo <= a.day <= hi]


def test_truth_records_the_regression(world: Callable) -> None:
    change = load_truth(world("latency", 0))["estimands"]["latency_regression"]["change"]
    assert change == {
        "metric": "latency",
        "slice": "editor=jetbrains",
        "size": 1.2,
        "size_unit": "latency factor",
        "start_day": "2025-04-08",
    }


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["latency", "acceptance"])
def test_regression_found_in_18_of_20_seeds(
    kind: str, world: Callable, detections: Callable
) -> None:
    results = [_outcome(kind, seed, world, detections) for seed in SEEDS]
    found = sum(ok and delay is not None and delay <= 1 for ok, delay in results)
    delays = [d for ok, d in results if ok]
    print(json.dumps({"kind": kind, "seeds": len(SEEDS), "found_day1_or_2": found,
                      "delays_days": delays}))  # fmt: skip
    assert found >= 18


@pytest.mark.slow
def test_false_alarms_over_20_baseline_quarters(detections: Callable) -> None:
    counts, in_holidays = [], []
    lo, hi = HOLIDAY_WINDOW
    for seed in SEEDS:
        alerts = detections("baseline", seed)
        counts.append(len(alerts))
        in_holidays += [f"seed {seed}: {a.message}" for a in alerts if lo <= a.day <= hi]
    per_90 = sum(counts) / len(counts) * 90 / (BASELINE_DAYS - 1)
    print(json.dumps({"seeds": len(SEEDS), "alerts_per_seed": counts, "per_90_days": per_90,
                      "in_holiday_window": in_holidays}))  # fmt: skip
    assert per_90 <= 1.0
    assert max(counts) <= 3
    # The holiday window is one window (seed 0, the fast test); over 20 seeds a window
    # of 17 of the 89 judged days gets its share of the random false alarms counted above, and
    # never more than one per seed.
    assert len(in_holidays) <= max(2, round(sum(counts) * 17 / 89 * 2))


def test_baseline_window_spans_the_holidays() -> None:
    last = BASELINE_START + timedelta(days=BASELINE_DAYS - 1)
    assert BASELINE_START < HOLIDAY_WINDOW[0] and last > HOLIDAY_WINDOW[1]
