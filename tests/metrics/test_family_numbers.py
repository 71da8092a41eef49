"""Golden numbers, typed by hand, for the metrics with their own shape."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from codex_metrics.lake import Lake
from codex_metrics.metrics import compute_metric, compute_metrics, list_metrics

from .conftest import MONDAY, assert_same_rows, write

DAYS = [MONDAY + timedelta(days=i) for i in range(10)]


def active(dev: str, day: date, breakdown: str = "total", **dims: str) -> dict:
    return {
        "developer_id": dev,
        "day": day,
        "breakdown": breakdown,
        "code_generation_activity_count": 1,
        "user_initiated_interaction_count": 1,
        **dims,
    }


def test_new_users_cohorts_and_seats(lake: Lake) -> None:
    # dev-a active weeks 1 and 2; dev-b week 1 only; dev-c week 2 only.
    write(
        lake,
        "usage_daily",
        [
            active("dev-a", DAYS[0]),
            active("dev-b", DAYS[1]),
            active("dev-a", DAYS[7]),
            active("dev-c", DAYS[8]),
        ],
    )
    write(
        lake,
        "seats",
        [
            {"developer_id": d, "assigned_at": datetime(2025, 3, day, tzinfo=UTC), "day": DAYS[-1]}
            for d, day in (("dev-a", 1), ("dev-b", 1), ("dev-c", 10), ("dev-d", 1))
        ],
    )
    new = compute_metric("new_users", lake, grain="week")
    assert {r["period"]: r["value"] for r in new.rows.to_pylist()} == {DAYS[0]: 2, DAYS[7]: 1}
    cohorts = compute_metric("cohort_retention", lake, grain="week")
    got = {(r["cohort"], r["period"]): r["value"] for r in cohorts.rows.to_pylist()}
    assert got == {(DAYS[0], DAYS[0]): 1.0, (DAYS[0], DAYS[7]): 0.5, (DAYS[7], DAYS[7]): 1.0}
    seats = compute_metrics(
        ["seats_assigned", "seats_active", "seat_activation_rate"], lake, grain="week"
    )
    assert [r["value"] for r in seats["seats_assigned"].rows.to_pylist()] == [3, 4]
    assert [r["value"] for r in seats["seats_active"].rows.to_pylist()] == [2, 2]
    assert [r["value"] for r in seats["seat_activation_rate"].rows.to_pylist()] == [2 / 3, 0.5]


def test_engaged_users_by_feature_counts_each_developer_once_per_feature(lake: Lake) -> None:
    write(
        lake,
        "usage_daily",
        [
            active("dev-a", DAYS[0], "feature", feature="code_completion"),
            active("dev-a", DAYS[0], "feature", feature="chat_panel_ask_mode"),
            active("dev-b", DAYS[0], "feature", feature="code_completion"),
            active("dev-a", DAYS[1], "feature", feature="code_completion"),
        ],
    )
    r = compute_metric("engaged_users_by_feature", lake, grain="week")
    assert {x["feature"]: x["value"] for x in r.rows.to_pylist()} == {
        "chat_panel_ask_mode": 1,
        "code_completion": 2,
    }


def test_ai_code_share_joins_suggestions_and_typing(lake: Lake) -> None:
    write(
        lake,
        "suggestions",
        [
            {"developer_id": "dev-a", "day": DAYS[0], "accepted": True, "chars_accepted": 30},
            {"developer_id": "dev-b", "day": DAYS[0], "accepted": True, "chars_accepted": 10},
        ],
    )
    write(
        lake,
        "typing",
        [
            {"developer_id": "dev-a", "day": DAYS[0], "chars_typed": 60},
            {"developer_id": "dev-c", "day": DAYS[0], "chars_typed": 100},
        ],
    )
    assert compute_metric("ai_code_share", lake).value_of(period=DAYS[0]) == pytest.approx(40 / 200)


def test_survey_scores(lake: Lake) -> None:
    write(
        lake,
        "surveys",
        [
            {
                "developer_id": "dev-a",
                "day": DAYS[0],
                "satisfaction": 5,
                "nps": 10,
                "frustration": 1,
            },
            {"developer_id": "dev-b", "day": DAYS[0], "satisfaction": 2, "nps": 6, "flow": 2},
            {"developer_id": "dev-c", "day": DAYS[0], "satisfaction": 3, "nps": 8},
            {"developer_id": "dev-d", "day": DAYS[0], "satisfaction": 4, "nps": None},
        ],
    )
    many = compute_metrics(["nps", "satisfaction_mean", "developer_happiness_score"], lake)
    assert many["nps"].value_of(period=DAYS[0]) == pytest.approx((100 - 100 + 0) / 3)
    assert many["satisfaction_mean"].value_of(period=DAYS[0]) == pytest.approx(3.5)
    # per response: (5, 6-1) -> 100; (2, 2) -> 25; 3 -> 50; 4 -> 75
    assert many["developer_happiness_score"].value_of(period=DAYS[0]) == pytest.approx(62.5)


def test_time_saved_with_ai(lake: Lake) -> None:
    write(
        lake,
        "tasks",
        [
            {"developer_id": "dev-a", "day": DAYS[0], "with_ai": True, "duration_s": 60.0},
            {"developer_id": "dev-a", "day": DAYS[0], "with_ai": True, "duration_s": 90.0},
            {"developer_id": "dev-b", "day": DAYS[0], "with_ai": False, "duration_s": 100.0},
            {"developer_id": "dev-b", "day": DAYS[1], "with_ai": True, "duration_s": 10.0},
        ],
    )
    rows = {r["period"]: r for r in compute_metric("task_time_saved_share", lake).rows.to_pylist()}
    assert rows[DAYS[0]]["value"] == pytest.approx(1 - 75 / 100)
    assert rows[DAYS[1]]["value"] is None and rows[DAYS[1]]["null_reason"] == "no_values"


def test_compute_metrics_equals_one_by_one(parity_lake: Lake) -> None:
    names = [
        m.name
        for m in list_metrics()
        if m.kind in ("ratio", "total", "distinct", "quantile") and "org" in m.dimensions
    ]
    kwargs = {"grain": "week", "by": ["org"]}
    snapshot = parity_lake.snapshot(sources="all")
    many = compute_metrics(names, snapshot, **kwargs)
    for name in names:
        one = compute_metric(name, snapshot, **kwargs)
        assert_same_rows(one.rows, many[name].rows, name)  # float sums may differ in the last bit
