"""Org vs enterprise, legacy vs new reports, seats, the roster and surveys, one identity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codex_metrics.lake import Lake

from .conftest import (
    LEGACY,
    NEW_API,
    ROSTER,
    SEATS,
    SURVEY,
    SURVEY_MAP,
    USERS_28,
    ingest,
    requires_shared,
    show,
    user_rows,
    values,
    write_ndjson,
)

pytestmark = requires_shared
TOTALS = ("interactions", "usage_acceptance_rate_by_count", "active_users", "ai_lines_added")


def _all(lake: Path) -> dict[str, list]:
    return {m: values(show(lake, m, "--grain", "all")) for m in TOTALS}


def test_org_and_enterprise_reports_of_the_same_users_never_double_count(tmp_path: Path) -> None:
    org = tmp_path / "org"
    ingest(org, "copilot-report", USERS_28)
    both = tmp_path / "both"
    ingest(both, "copilot-report", USERS_28)
    extra = dict(user_rows()[0], user_login="enterprise-only", user_id=99)
    enterprise = [{k: v for k, v in r.items() if k != "organization_id"}
                  for r in [*user_rows(), extra]]  # fmt: skip
    path = write_ndjson(tmp_path / "enterprise-users-28-day.ndjson", enterprise)
    ingest(both, "copilot-report", path, extra=("--org", "octo-enterprise"))
    con = Lake.open(both).connect(sources="all")
    assert con.sql("SELECT entity_type, count(*) FROM copilot_user_daily GROUP BY 1 ORDER BY 1"
                   ).fetchall() == [("enterprise", len(enterprise)), ("org", len(user_rows()))]  # fmt: skip
    alone, combined = _all(org), _all(both)
    assert combined["active_users"] == [alone["active_users"][0] + 1]  # the enterprise-only user
    gen = sum(r["code_generation_activity_count"] for r in user_rows())
    acc = sum(r["code_acceptance_activity_count"] for r in user_rows())
    rate = (acc + extra["code_acceptance_activity_count"]) / (
        gen + extra["code_generation_activity_count"]
    )
    assert combined["usage_acceptance_rate_by_count"] == [pytest.approx(rate)]
    assert combined["interactions"] == [
        alone["interactions"][0] + extra["user_initiated_interaction_count"]
    ]


def test_legacy_and_new_rows_of_an_entity_day_never_add_up(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ingest(lake, "copilot-legacy", LEGACY, extra=("--org", "acme"))
    legacy = json.loads(LEGACY.read_text())
    first = legacy[0]
    dau = show(lake, "vendor_daily_active_users")
    assert dau["rows"][0]["value"] == first["total_active_users"]
    suggestions = sum(lang["total_code_suggestions"]
                      for e in first["copilot_ide_code_completions"]["editors"]
                      for m in e["models"] for lang in m["languages"])  # fmt: skip
    con = Lake.open(lake).connect(sources="all")
    got = con.sql("SELECT code_generation_activity_count, engaged_users FROM copilot_entity_daily "
                  f"WHERE breakdown = 'total' AND day = DATE '{first['date']}'").fetchall()  # fmt: skip
    assert got == [(suggestions, first["total_engaged_users"])]
    # a new report of the same entity-day wins over the legacy export
    report = json.loads((NEW_API / "organization-1-day-report.json").read_text())
    report["day_totals"][0]["day"] = first["date"]
    path = tmp_path / "organization-1-day-report.json"
    path.write_text(json.dumps(report))
    ingest(lake, "copilot-report", path, extra=("--org", "acme"))
    rows = {r["period"]: r["value"] for r in show(lake, "vendor_daily_active_users")["rows"]}
    assert rows[first["date"]] == report["day_totals"][0]["daily_active_users"]
    assert rows[legacy[1]["date"]] == legacy[1]["total_active_users"]


def test_seats_roster_and_surveys_join_on_one_pseudonym(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ingest(lake, "copilot-report", USERS_28)
    ingest(lake, "seats", SEATS, extra=("--org", "100000001", "--fetched-at",
                                         "2026-04-25T06:00:00Z"))  # fmt: skip
    seats = json.loads(SEATS.read_text())["seats"]
    never = sum(1 for s in seats if s["last_activity_at"] is None)
    idle = sum(1 for s in seats if s["last_activity_at"] is None
               or s["last_activity_at"][:10] <= "2026-04-18")  # fmt: skip
    assert values(show(lake, "seats_never_used", "--grain", "all")) == [never]
    assert values(show(lake, "seats_inactive_7d", "--grain", "all")) == [idle]
    plans = [s["plan_type"] for s in seats]
    cost = plans.count("business") * 19.0 + plans.count("enterprise") * 39.0
    assert values(show(lake, "seat_cost", "--grain", "all")) == [cost]
    con = Lake.open(lake).connect(sources="all")
    joined = con.sql("SELECT count(DISTINCT s.developer_id) FROM seats s JOIN copilot_user_daily u "
                     "USING (developer_id)").fetchall()[0][0]  # fmt: skip
    logins = {s["assignee"]["login"] for s in seats} & {r["user_login"] for r in user_rows()}
    assert joined == len(logins) > 0
    ingest(lake, "developers", ROSTER)
    ingest(lake, "survey", SURVEY, extra=tuple(x for k, v in SURVEY_MAP.items()
                                                for x in ("--map", f"{k}={v}")))  # fmt: skip
    assert values(show(lake, "satisfaction_mean", "--grain", "all")) == [pytest.approx(23 / 6)]
    assert values(show(lake, "nps", "--grain", "all")) == [pytest.approx(0.0)]
    teams = show(lake, "satisfaction_mean", "--grain", "all", "--by", "team")
    assert {r["team"]: r["value"] for r in teams["rows"]} == {
        "payments": pytest.approx((5 + 4 + 4) / 3),
        "search": pytest.approx((5 + 2 + 3) / 3),
    }
    con = Lake.open(lake).connect(sources="all")
    levels = con.sql("SELECT experience_level, count(*) FROM developers GROUP BY 1 ORDER BY 1")
    assert levels.fetchall() == [("junior", 2), ("mid", 2), ("senior", 2)]
