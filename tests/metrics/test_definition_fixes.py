"""Definitions a new user could not trust (issue 11, item 5), each fixed and held by numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest

from codex_metrics.lake import Lake
from codex_metrics.lake.schema import BOOKKEEPING_COLUMNS
from codex_metrics.lake.tables import TABLES
from codex_metrics.metrics import compute_metric
from codex_metrics.telemetry import load_truth

from .conftest import MONDAY, write

TUE, WED, THU = (MONDAY + timedelta(days=i) for i in (1, 2, 3))


def shown(dev: str, day: date, n: int, accepted: int, **kw: object) -> list[dict]:
    return [{"developer_id": dev, "day": day, "accepted": i < accepted, **kw} for i in range(n)]


def usage(dev: str, day: date, gen: int = 1, **kw: object) -> dict:
    return {"developer_id": dev, "day": day, "breakdown": "total",
            "code_generation_activity_count": gen, **kw}  # fmt: skip


def test_repeating_filter_team_counts_a_developer_in_two_teams_once(lake: Lake) -> None:
    write(lake, "suggestions", [*shown("dev-a", MONDAY, 4, 2), *shown("dev-b", MONDAY, 4, 1)])
    write(lake, "team_members", [
        {"developer_id": "dev-a", "team": "red", "day": MONDAY},
        {"developer_id": "dev-a", "team": "blue", "day": MONDAY},
        {"developer_id": "dev-b", "team": "blue", "day": MONDAY},
    ])  # fmt: skip
    both = compute_metric("acceptance_rate_by_count", lake, filters={"team": ["red", "blue"]})
    assert both.rows.column("denominator").to_pylist() == [8.0]  # not 12: dev-a once
    assert both.value_of(period=MONDAY) == pytest.approx(3 / 8)
    shown_both = compute_metric("suggestions_shown", lake, filters={"team": ["red", "blue"]})
    assert shown_both.value_of(period=MONDAY) == 8
    by_team = compute_metric("suggestions_shown", lake, by=["team"])
    assert {r["team"]: r["value"] for r in by_team.rows.to_pylist()} == {"blue": 8, "red": 4}


def test_roster_teams_slice_when_no_membership_report_covers_the_day(lake: Lake) -> None:
    write(lake, "suggestions", [*shown("dev-a", MONDAY, 2, 2), *shown("dev-c", MONDAY, 2, 0)])
    write(lake, "developers", [{"developer_id": "dev-c", "team": "green"}])
    write(lake, "team_members", [{"developer_id": "dev-a", "team": "red", "day": MONDAY}])
    by_team = compute_metric("acceptance_rate_by_count", lake, by=["team"])
    assert {r["team"]: r["value"] for r in by_team.rows.to_pylist()} == {"green": 0.0, "red": 1.0}
    green = compute_metric("suggestions_shown", lake, filters={"team": ["green"]})
    assert green.value_of(period=MONDAY) == 2


def test_wau_and_mau_at_week_and_month_grain_are_the_actives_of_the_period(lake: Lake) -> None:
    days = [MONDAY + timedelta(days=i) for i in range(7)]
    write(lake, "usage_daily", [usage(f"dev-{i}", d) for i, d in enumerate(days)])
    wau = compute_metric("weekly_active_users", lake, grain="week")
    assert wau.value_of(period=MONDAY) == 7  # the mean of daily trailing values would be 4
    mau = compute_metric("monthly_active_users", lake, grain="month")
    assert mau.value_of(period=date(2025, 3, 1)) == 7
    dau = compute_metric("daily_active_users", lake, grain="week")
    assert dau.value_of(period=MONDAY) == pytest.approx(1.0)  # average DAU stays a mean


def test_trailing_windows_before_the_first_day_of_data_are_not_a_ramp(lake: Lake) -> None:
    days = [MONDAY + timedelta(days=i) for i in range(10)]
    write(lake, "usage_daily", [usage("dev-a", d) for d in days] + [usage("dev-b", days[0])])
    rows = {r["period"]: r for r in compute_metric("weekly_active_users", lake).records()}
    for d in days[:6]:
        assert rows[d.isoformat()]["value"] is None
        assert rows[d.isoformat()]["null_reason"] == "partial_window"
    assert rows[days[6].isoformat()]["value"] == 2 and rows[days[7].isoformat()]["value"] == 1


def test_a_missing_first_or_last_day_is_a_gap_without_since_or_until(lake: Lake) -> None:
    write(lake, "usage_daily", [usage("dev-a", d) for d in (TUE, WED)])
    assert compute_metric("active_users", lake).gaps == ()  # nothing says more days exist
    spec = TABLES["source_runs"]
    run = {c.name: None for c in spec.columns if c.name not in BOOKKEEPING_COLUMNS}
    run.update(source_run_id="r1", run_kind="ingest", command="ingest copilot-report",
               started_at=datetime(2025, 3, 8, tzinfo=UTC), status="ok", rows_written=2,
               tables=["usage_daily"], data_first_day=MONDAY, data_last_day=THU,
               day=date(2025, 3, 8))  # fmt: skip
    schema = pa.schema([pa.field(c.name, c.type) for c in spec.columns
                        if c.name not in BOOKKEEPING_COLUMNS]).append(pa.field("day", pa.date32()))  # fmt: skip
    lake.write_table("source_runs", pa.Table.from_pylist([run], schema=schema),
                     source="test", scope="test")  # fmt: skip
    result = compute_metric("active_users", lake)
    assert result.gaps == (MONDAY, THU)  # the report said Monday to Thursday
    assert [r["null_reason"] for r in result.records()] == [
        "missing_day", None, None, "missing_day"
    ]  # fmt: skip


def test_partial_weeks_and_months_are_flagged(lake: Lake) -> None:
    write(lake, "usage_daily", [usage("dev-a", MONDAY + timedelta(days=i)) for i in range(2, 12)])
    weeks = compute_metric("active_users", lake, grain="week")
    assert weeks.partial_periods == (MONDAY, MONDAY + timedelta(days=7))
    assert weeks.to_dict()["partial_periods"] == ["2025-03-03", "2025-03-10"]
    full = compute_metric("active_users", lake, grain="week", since=MONDAY + timedelta(days=7),
                          until=MONDAY + timedelta(days=13))  # fmt: skip
    assert full.partial_periods == ()
    assert compute_metric("active_users", lake, grain="month").partial_periods == (
        date(2025, 3, 1),
    )


def test_cohort_retention_shows_zero_when_nobody_of_a_cohort_came_back(lake: Lake) -> None:
    weeks = [MONDAY + timedelta(days=7 * i) for i in range(3)]
    write(lake, "usage_daily", [usage("dev-a", weeks[0]), usage("dev-b", weeks[1]),
                                usage("dev-b", weeks[2])])  # fmt: skip
    rows = compute_metric("cohort_retention", lake, grain="week").records()
    got = {(r["cohort"], r["period"]): r["value"] for r in rows}
    assert got[(weeks[0].isoformat(), weeks[1].isoformat())] == 0.0
    assert got[(weeks[0].isoformat(), weeks[2].isoformat())] == 0.0
    assert got[(weeks[1].isoformat(), weeks[2].isoformat())] == 1.0


def test_too_few_users_withholds_small_slices(lake: Lake) -> None:
    write(lake, "suggestions", [row for i in range(6) for row in shown(f"d{i}", MONDAY, 2, 1,
                                language="python" if i < 5 else "go")])  # fmt: skip
    rows = compute_metric("acceptance_rate_by_count", lake, by=["language"], min_group_size=5)
    got = {r["language"]: (r["value"], r["denominator"], r["null_reason"]) for r in rows.records()}
    assert got == {"go": (None, None, "too_few_users"), "python": (0.5, 10.0, None)}
    engaged = compute_metric("suggestions_shown", lake, min_group_size=7)
    assert engaged.records()[0]["null_reason"] == "too_few_users"
    assert compute_metric("suggestions_shown", lake).value_of(period=MONDAY) == 12


def test_completion_acceptance_rates_and_the_simulators_truth(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from codex_metrics.telemetry import build_config, simulate

    lake = Lake.open(tmp_path / "lake")
    simulate(lake, build_config("baseline", developers=150, days=5, seed=4))
    truth = load_truth(lake)["estimands"]
    event = compute_metric("completion_acceptance_rate_by_count", lake, grain="all")
    daily = compute_metric("usage_completion_acceptance_rate_by_count", lake, grain="all")
    every = compute_metric("acceptance_rate_by_count", lake, grain="all")
    rate = event.rows.column("value")[0].as_py()
    assert rate == pytest.approx(daily.rows.column("value")[0].as_py())
    assert rate == pytest.approx(truth["completion_acceptance_rate_expected"], abs=0.01)
    assert every.rows.column("value")[0].as_py() == pytest.approx(
        truth["acceptance_rate_expected"], abs=0.01
    )
    # the two definitions estimate different things
    assert truth["completion_acceptance_rate_expected"] != pytest.approx(
        truth["acceptance_rate_expected"], abs=0.005
    )
