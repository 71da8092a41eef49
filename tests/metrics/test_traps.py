"""The definitional traps of issue 6, on small hand-made lakes with numbers typed by hand."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from codex_metrics.errors import MetricError
from codex_metrics.lake import Lake
from codex_metrics.metrics import compute_metric

from .conftest import MONDAY, write

TUE, WED, THU = (MONDAY + timedelta(days=i) for i in (1, 2, 3))


def shown(
    dev: str, day: date, n: int, accepted: int, *, lines: int = 1, **kw: object
) -> list[dict]:
    return [
        {
            "developer_id": dev,
            "day": day,
            "accepted": i < accepted,
            "lines_suggested": lines,
            "lines_accepted": lines if i < accepted else 0,
            "chars_accepted": 10 if i < accepted else 0,
            **kw,
        }
        for i in range(n)
    ]


def usage(
    dev: str, day: date, breakdown: str, *, gen: int = 0, acc: int = 0, added: int = 0, **dims: str
) -> dict:
    return {
        "developer_id": dev,
        "day": day,
        "breakdown": breakdown,
        "code_generation_activity_count": gen,
        "code_acceptance_activity_count": acc,
        "loc_added_sum": added,
        **dims,
    }


def by_period(result) -> dict:
    return {r["period"]: r for r in result.rows.to_pylist()}


# -- ratio of sums ------------------------------------------------------------------------------
def test_acceptance_is_ratio_of_sums_not_mean_of_daily_or_developer_rates(lake: Lake) -> None:
    # Monday: dev-a 1 of 10, dev-b 0 of 2. Tuesday: dev-a 2 of 2.
    write(
        lake,
        "suggestions",
        [
            *shown("dev-a", MONDAY, 10, 1, lines=3),
            *shown("dev-b", MONDAY, 2, 0),
            *shown("dev-a", TUE, 2, 2),
        ],
    )
    week = compute_metric("acceptance_rate_by_count", lake, grain="week")
    assert week.value_of(period=MONDAY) == pytest.approx(
        3 / 14
    )  # mean of daily rates: (1/12 + 1)/2
    daily = compute_metric("acceptance_rate_by_count", lake, grain="day")
    assert daily.value_of(period=MONDAY) == pytest.approx(1 / 12)
    lines = compute_metric("acceptance_rate_by_lines", lake, grain="week")
    assert lines.value_of(period=MONDAY) == pytest.approx((3 + 2) / (30 + 2 + 2))
    by_dev = compute_metric("acceptance_rate_by_count", lake, grain="week", by=["org"])
    assert by_dev.rows.column("numerator").to_pylist() == [3.0]
    assert by_dev.rows.column("denominator").to_pylist() == [14.0]


def test_rolling_acceptance_sums_the_window_instead_of_averaging_days(lake: Lake) -> None:
    early = MONDAY - timedelta(days=7)  # data before TUE's window: the window is complete
    write(lake, "suggestions", [*shown("dev-a", early, 4, 4), *shown("dev-a", MONDAY, 10, 1),
                                *shown("dev-a", TUE, 2, 2)])  # fmt: skip
    r = compute_metric("acceptance_rate_rolling_7d", lake)
    assert r.value_of(period=TUE) == pytest.approx(3 / 12)
    first = by_period(r)[early]  # its window reaches before the first day of data: no ramp
    assert first["value"] is None and first["null_reason"] == "partial_window"
    with pytest.raises(MetricError, match="grain day only"):
        compute_metric("acceptance_rate_rolling_7d", lake, grain="week")


# -- distinct counts ----------------------------------------------------------------------------
def test_distinct_users_are_not_summed_across_days(lake: Lake) -> None:
    write(
        lake,
        "usage_daily",
        [
            usage("dev-a", MONDAY, "total", gen=1),
            usage("dev-a", TUE, "total", gen=1),
            usage("dev-b", TUE, "total", gen=1),
        ],
    )
    assert [r["value"] for r in compute_metric("daily_active_users", lake).rows.to_pylist()] == [
        1,
        2,
    ]
    assert compute_metric("active_users", lake, grain="week").value_of(period=MONDAY) == 2  # not 3
    wau = by_period(compute_metric("weekly_active_users", lake))
    assert wau[TUE]["value"] is None and wau[TUE]["null_reason"] == "partial_window"
    assert compute_metric("weekly_active_users", lake, since=TUE).value_of(period=TUE) is None
    # at week grain WAU is the week's actives, not the mean of daily values
    assert compute_metric("weekly_active_users", lake, grain="week").value_of(period=MONDAY) == 2
    avg = compute_metric("daily_active_users", lake, grain="week")
    assert avg.value_of(period=MONDAY) == pytest.approx(1.5)  # mean DAU over the week's days


def test_distinct_users_are_not_summed_across_editors_or_breakdowns(lake: Lake) -> None:
    # dev-a used two editors and two features on one day: one user, seven report rows.
    write(
        lake,
        "usage_daily",
        [
            usage("dev-a", MONDAY, "total", gen=10, acc=4, added=8),
            usage("dev-a", MONDAY, "ide", gen=6, acc=2, added=5, ide="vscode"),
            usage("dev-a", MONDAY, "ide", gen=4, acc=2, added=3, ide="jetbrains"),
            usage("dev-a", MONDAY, "feature", gen=7, acc=3, added=6, feature="code_completion"),
            usage("dev-a", MONDAY, "feature", gen=3, acc=1, added=2, feature="chat_panel_ask_mode"),
            usage(
                "dev-a",
                MONDAY,
                "language_feature",
                gen=10,
                acc=4,
                added=8,
                language="python",
                feature="code_completion",
            ),
            usage("dev-b", MONDAY, "total", gen=0),  # a report row without activity
        ],
    )
    assert compute_metric("active_users", lake).value_of(period=MONDAY) == 1
    by_editor = compute_metric("active_users", lake, by=["editor"])
    assert {r["editor"]: r["value"] for r in by_editor.rows.to_pylist()} == {
        "jetbrains": 1,
        "vscode": 1,
    }
    rate = compute_metric("usage_acceptance_rate_by_count", lake)
    assert rate.value_of(period=MONDAY) == pytest.approx(4 / 10)  # the total row only
    assert compute_metric("ai_lines_added", lake).value_of(period=MONDAY) == 8
    by_feature = compute_metric("usage_acceptance_rate_by_count", lake, by=["feature"])
    assert {r["feature"]: r["value"] for r in by_feature.rows.to_pylist()} == pytest.approx(
        {"code_completion": 3 / 7, "chat_panel_ask_mode": 1 / 3}
    )
    # our feature spelling is accepted in filters on GitHub-spelled usage rows
    chat = compute_metric("engaged_users_by_feature", lake, filters={"feature": ["chat_panel"]})
    assert chat.rows.column("feature").to_pylist() == ["chat_panel_ask_mode"]
    with pytest.raises(MetricError, match="no breakdown by ide x language"):
        compute_metric("active_users", lake, by=["editor", "language"])


# -- zero denominators and empty slices ---------------------------------------------------------
def test_zero_denominators_give_null_with_a_reason(lake: Lake) -> None:
    write(
        lake,
        "suggestions",
        [
            *shown("dev-a", MONDAY, 4, 1),
            {
                "developer_id": "dev-a",
                "day": TUE,
                "status": "error",
                "chars_suggested": 0,
                "latency_ms": 900.0,
            },
            {
                "developer_id": "dev-a",
                "day": TUE,
                "status": "timeout",
                "chars_suggested": 0,
                "latency_ms": 700.0,
            },
        ],
    )
    rows = by_period(compute_metric("acceptance_rate_by_count", lake))
    assert rows[TUE]["value"] is None and rows[TUE]["null_reason"] == "zero_denominator"
    assert rows[MONDAY]["value"] == pytest.approx(0.25) and rows[MONDAY]["null_reason"] is None
    edits = by_period(compute_metric("edit_distance_mean", lake))
    assert edits[TUE]["value"] is None and edits[TUE]["null_reason"] == "no_values"
    assert compute_metric("latency_mean_ms", lake).value_of(period=TUE) == pytest.approx(800.0)
    assert compute_metric("error_rate", lake).value_of(period=TUE) == 1.0
    csv_text = compute_metric("acceptance_rate_by_count", lake).to_csv().splitlines()
    assert csv_text[0] == "period,numerator,denominator,value,null_reason"
    assert csv_text[2] == "2025-03-04,0.0,0.0,,zero_denominator"


def test_percentile_without_values_is_null_and_empty_slice_has_no_rows(lake: Lake) -> None:
    write(
        lake,
        "tasks",
        [
            {"developer_id": "dev-a", "day": MONDAY, "task_kind": "coding"},
            {"developer_id": "dev-a", "day": TUE, "task_kind": "agent", "duration_s": 30.0},
            {"developer_id": "dev-a", "day": TUE, "task_kind": "agent", "duration_s": 50.0},
        ],
    )
    rows = by_period(compute_metric("agent_task_duration_p50_s", lake))
    assert rows[MONDAY]["value"] is None and rows[MONDAY]["null_reason"] == "no_values"
    assert rows[TUE]["value"] == pytest.approx(40.0)  # linear interpolation between the two
    assert compute_metric("agent_task_duration_p90_s", lake).value_of(period=TUE) == pytest.approx(
        48.0
    )
    empty = compute_metric("task_duration_with_ai_mean_s", lake, filters={"org": ["nobody"]})
    assert empty.status == "empty" and empty.rows.num_rows == 0
    assert "match the filters org=nobody" in (empty.reason or "")


# -- gaps ---------------------------------------------------------------------------------------
def test_missing_days_are_gaps_not_interpolated(lake: Lake) -> None:
    write(
        lake,
        "suggestions",
        [*shown("dev-a", MONDAY, 4, 1), *shown("dev-a", TUE, 4, 3), *shown("dev-a", THU, 2, 2)],
    )
    r = compute_metric(
        "acceptance_rate_by_count", lake, since=MONDAY - timedelta(days=1), until=THU
    )
    assert r.gaps == (MONDAY - timedelta(days=1), WED)
    rows = by_period(r)
    assert rows[WED]["value"] is None and rows[WED]["null_reason"] == "missing_day"
    assert rows[THU]["value"] == 1.0
    rolling = by_period(compute_metric("acceptance_rate_rolling_7d", lake))
    assert rolling[THU]["value"] is None  # the window starts before Monday, the first day
    assert rolling[THU]["null_reason"] == "partial_window"
    assert rolling[WED]["null_reason"] == "missing_day"
    week = compute_metric("acceptance_rate_by_count", lake, grain="week")
    assert week.gaps == (WED,) and week.rows.num_rows == 1  # a partial week is reported, not padded
    assert week.to_dict()["gaps"] == ["2025-03-05"]


# -- UTC days and ISO weeks ---------------------------------------------------------------------
def test_iso_weeks_and_months_cut_on_utc_days(lake: Lake) -> None:
    days = [
        date(2024, 12, 29),
        date(2024, 12, 30),
        date(2025, 1, 1),
        date(2025, 1, 5),
        date(2025, 1, 6),
    ]
    write(lake, "suggestions", [row for d in days for row in shown("dev-a", d, 1, 1)])
    weeks = compute_metric("suggestions_shown", lake, grain="week")
    assert {r["period"]: r["value"] for r in weeks.rows.to_pylist() if r["value"] is not None} == {
        date(2024, 12, 23): 1,
        date(2024, 12, 30): 3,
        date(2025, 1, 6): 1,
    }
    months = compute_metric("suggestions_shown", lake, grain="month")
    assert {r["period"]: r["value"] for r in months.rows.to_pylist()} == {
        date(2024, 12, 1): 2,
        date(2025, 1, 1): 3,
    }


# -- joined dimensions --------------------------------------------------------------------------
def test_team_persona_and_arm_slices(lake: Lake) -> None:
    write(lake, "suggestions", [*shown("dev-a", MONDAY, 4, 2), *shown("dev-b", MONDAY, 4, 1)])
    write(
        lake,
        "team_members",
        [
            {"developer_id": "dev-a", "team": "red", "day": MONDAY},
            {"developer_id": "dev-a", "team": "blue", "day": MONDAY},
            {"developer_id": "dev-b", "team": "blue", "day": MONDAY},
        ],
    )
    write(
        lake,
        "developers",
        [
            {"developer_id": "dev-a", "persona": "power"},
            {"developer_id": "dev-b", "persona": "sceptic"},
        ],
    )
    write(
        lake,
        "assignments",
        [
            {"developer_id": "dev-a", "arm": "A"},
            {"developer_id": "dev-b", "arm": "B"},
            {"developer_id": "dev-b", "arm": "A", "experiment_id": "exp-2"},
        ],
    )
    teams = compute_metric("acceptance_rate_by_count", lake, by=["team"])
    assert {r["team"]: r["value"] for r in teams.rows.to_pylist()} == {"blue": 3 / 8, "red": 0.5}
    personas = compute_metric("acceptance_rate_by_count", lake, by=["persona"])
    assert {r["persona"]: r["value"] for r in personas.rows.to_pylist()} == {
        "power": 0.5,
        "sceptic": 0.25,
    }
    arms = compute_metric(
        "acceptance_rate_by_count", lake, by=["arm"], filters={"experiment": ["exp-1"]}
    )
    assert {r["arm"]: r["value"] for r in arms.rows.to_pylist()} == {"A": 0.5, "B": 0.25}


def test_bad_requests_raise_metric_errors(lake: Lake) -> None:
    with pytest.raises(MetricError, match="did you mean acceptance_rate_by_count"):
        compute_metric("acceptance_rate_by_cnt", lake)
    with pytest.raises(MetricError, match="cannot be sliced by 'suite'"):
        compute_metric("acceptance_rate_by_count", lake, by=["suite"])
    with pytest.raises(MetricError, match="grain 'year'"):
        compute_metric("acceptance_rate_by_count", lake, grain="year")


def test_community_metrics_without_collected_data_say_which_command_fills_them(
    lake: Lake,
) -> None:
    r = compute_metric("stars_total", lake)
    assert r.status == "empty" and "codex-metrics collect github" in (r.reason or "")
    doc = json.loads(r.to_json())
    assert doc["rows"] == [] and doc["status"] == "empty"
    assert doc["metric"]["family"] == "community"
