"""Recorded Copilot reports in: every counter once, hand totals equal `metrics show`, re-ingest."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from codex_metrics.lake import Lake
from codex_metrics.lake.schema import USAGE_COUNTERS

from .conftest import (
    ORG_28,
    TEAMS,
    USERS_28,
    cli,
    ingest,
    requires_shared,
    show,
    user_rows,
    values,
    write_ndjson,
)

pytestmark = requires_shared
ARRAYS = {
    "ide": "totals_by_ide",
    "feature": "totals_by_feature",
    "language_feature": "totals_by_language_feature",
    "language_model": "totals_by_language_model",
    "model_feature": "totals_by_model_feature",
}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("copilot") / "lake"
    ingest(root, "copilot-report", USERS_28, ORG_28, TEAMS)
    return root


def _sql(root: Path, sql: str) -> list[tuple]:
    return Lake.open(root).connect(sources="all").sql(sql).fetchall()


def test_every_counter_lands_exactly_once(lake: Path) -> None:
    rows = user_rows()
    expected_total = {c: sum(r.get(c) or 0 for r in rows) for c in USAGE_COUNTERS}
    got = _sql(lake, "SELECT " + ", ".join(f"sum({c})" for c in USAGE_COUNTERS)
               + " FROM copilot_user_daily")[0]  # fmt: skip
    assert dict(zip(USAGE_COUNTERS, got, strict=True)) == expected_total
    for breakdown, array in {"total": None, **ARRAYS}.items():
        items = rows if array is None else [i for r in rows for i in r.get(array) or []]
        want = [sum(i.get(c) or 0 for i in items) for c in USAGE_COUNTERS]
        have = _sql(lake, "SELECT count(*), " + ", ".join(f"sum({c})" for c in USAGE_COUNTERS)
                    + f" FROM usage_daily WHERE breakdown = '{breakdown}'")[0]  # fmt: skip
        assert have[0] == len(items), breakdown
        assert list(have[1:]) == want, breakdown
    entity = json.loads(ORG_28.read_text())["day_totals"]
    per_day = _sql(lake, "SELECT day, daily_active_users, weekly_active_users, "
                   "monthly_active_users, code_generation_activity_count, pr_total_created "
                   "FROM copilot_entity_daily WHERE breakdown = 'total' ORDER BY day")  # fmt: skip
    assert [(d.isoformat(), *rest) for d, *rest in per_day] == [
        (e["day"], e["daily_active_users"], e["weekly_active_users"], e["monthly_active_users"],
         e["code_generation_activity_count"], e["pull_requests"]["total_created"])
        for e in sorted(entity, key=lambda e: e["day"])
    ]  # fmt: skip
    breakdowns = Counter(b for (b,) in _sql(lake, "SELECT breakdown FROM copilot_entity_daily"))
    for breakdown, array in ARRAYS.items():
        assert breakdowns[breakdown] == sum(len(e.get(array) or []) for e in entity)
    members = _sql(lake, "SELECT team, count(*) FROM team_members GROUP BY team ORDER BY team")
    assert members == [("dev-team", 8), ("the-a-team", 5)]


def test_hand_totals_equal_metrics_show(lake: Path) -> None:
    rows = user_rows()
    gen = sum(r["code_generation_activity_count"] for r in rows)
    acc = sum(r["code_acceptance_activity_count"] for r in rows)
    assert values(show(lake, "usage_acceptance_rate_by_count", "--grain", "all")) == [acc / gen]
    completions = [f for r in rows for f in r["totals_by_feature"]
                   if f["feature"] == "code_completion"]  # fmt: skip
    c_acc = sum(f["code_acceptance_activity_count"] for f in completions)
    c_gen = sum(f["code_generation_activity_count"] for f in completions)
    doc = show(lake, "usage_completion_acceptance_rate_by_count", "--grain", "all")
    assert values(doc) == [pytest.approx(c_acc / c_gen)]
    active = {r["user_login"] for r in rows if r["code_generation_activity_count"]
              or r["user_initiated_interaction_count"] or r["code_acceptance_activity_count"]
              or r.get("loc_added_sum")}  # fmt: skip
    assert values(show(lake, "active_users", "--grain", "all")) == [len(active)]
    interactions = sum(r["user_initiated_interaction_count"] for r in rows)
    assert values(show(lake, "interactions", "--grain", "all")) == [interactions]
    chat = sum(f["user_initiated_interaction_count"] for r in rows for f in r["totals_by_feature"]
               if f["feature"].startswith("chat"))  # fmt: skip
    assert values(show(lake, "chat_interactions", "--grain", "all")) == [chat]
    credits = sum(r.get("ai_credits_used") or 0 for r in rows)
    assert values(show(lake, "ai_credits_used", "--grain", "all")) == [pytest.approx(credits)]
    entity = {
        e["day"]: e["daily_active_users"] for e in json.loads(ORG_28.read_text())["day_totals"]
    }
    vendor = show(lake, "vendor_daily_active_users")
    assert {r["period"]: r["value"] for r in vendor["rows"]} == entity
    assert {r["org"] for r in vendor["rows"]} == {"100000001"}


def test_min_group_size_withholds_small_slices_of_real_data(lake: Path) -> None:
    doc = show(lake, "usage_acceptance_rate_by_count", "--grain", "week", "--min-group-size", "5")
    small = [r for r in doc["rows"] if r["null_reason"] == "too_few_users"]
    assert small and all(r["value"] is None and r["numerator"] is None for r in small)
    code, out, _ = cli("metrics", "show", "usage_acceptance_rate_by_count", "--lake", str(lake),
                       "--grain", "week", "--format", "csv")  # fmt: skip
    assert code == 0 and out.count("too_few_users") == len(small)  # real data: 5 by default
    everything = show(lake, "usage_acceptance_rate_by_count", "--grain", "week")
    assert "too_few_users" not in [r["null_reason"] for r in everything["rows"]]


def test_reingest_and_overlapping_one_day_reports_change_nothing(tmp_path: Path) -> None:
    alone = tmp_path / "alone"
    ingest(alone, "copilot-report", USERS_28, extra=("--fetched-at", "2026-04-26T04:00:00Z"))
    metrics = ("usage_acceptance_rate_by_count", "interactions", "active_users", "ai_lines_added")
    want = {m: show(alone, m, "--grain", "week")["rows"] for m in metrics}
    # one-day reports of the same days, with different (older) numbers, before and after
    mixed = tmp_path / "mixed"
    by_day: dict[str, list[dict]] = {}
    for row in user_rows():
        day = dict(row, report_start_day=row["day"], report_end_day=row["day"])
        day["code_acceptance_activity_count"] = row["code_acceptance_activity_count"] + 7
        day["user_initiated_interaction_count"] = 1000
        by_day.setdefault(row["day"], []).append(day)
    days = sorted(by_day)
    early = [write_ndjson(tmp_path / f"users-1-day-{d}.ndjson", by_day[d]) for d in days[:3]]
    late = [write_ndjson(tmp_path / f"users-1-day-{d}.ndjson", by_day[d]) for d in days[-3:]]
    ingest(mixed, "copilot-report", *early, extra=("--fetched-at", "2026-04-01T04:00:00Z"))
    ingest(mixed, "copilot-report", USERS_28, extra=("--fetched-at", "2026-04-26T04:00:00Z"))
    ingest(mixed, "copilot-report", *late, extra=("--fetched-at", "2026-04-02T04:00:00Z"))
    ingest(mixed, "copilot-report", USERS_28)  # again: the archive's fetch time is reused
    for m in metrics:
        assert show(mixed, m, "--grain", "week")["rows"] == want[m], m
    counts = _sql(mixed, "SELECT count(*) FROM copilot_user_daily")[0][0]
    assert counts == len(user_rows())


def test_layouts_ndjson_array_wrapper_and_documents_on_lines(tmp_path: Path) -> None:
    rows = user_rows()
    ndjson = write_ndjson(tmp_path / "users.ndjson", rows)
    array = tmp_path / "users-array.json"
    array.write_text("[\n" + ",\n".join(json.dumps(r) for r in rows) + "\n]\n")
    entity = json.loads(ORG_28.read_text())
    first, second = (
        dict(entity, day_totals=entity["day_totals"][:10]),
        dict(entity, day_totals=entity["day_totals"][10:]),
    )
    two_docs = tmp_path / "entity-two-documents.json"
    two_docs.write_text(json.dumps(first) + "\n" + json.dumps(second) + "\n")
    reports = {}
    for name, path in (("ndjson", ndjson), ("array", array), ("wrapper", USERS_28)):
        reports[name] = ingest(tmp_path / name, "copilot-report", path)[0]["rows"]
    assert reports["ndjson"] == reports["array"] == reports["wrapper"]
    docs = ingest(tmp_path / "docs", "copilot-report", two_docs)[0]
    whole = ingest(tmp_path / "whole", "copilot-report", ORG_28)[0]
    assert docs["rows"] == whole["rows"]


def test_older_field_names_null_counters_and_unknown_fields(tmp_path: Path) -> None:
    row = dict(
        user_rows()[0], brand_new_field={"nested": [1, 2]}, code_acceptance_activity_count=None
    )
    row["generated_loc_sum"] = row.pop("loc_suggested_to_add_sum", None) or 11
    row["accepted_loc_sum"] = row.pop("loc_added_sum", None) or 7
    row["totals_by_ide"] = [dict(i, shiny=True) for i in row["totals_by_ide"]]
    path = write_ndjson(tmp_path / "drift.ndjson", [row])
    ingest(tmp_path / "lake", "copilot-report", path)
    got = _sql(tmp_path / "lake", "SELECT loc_suggested_to_add_sum, loc_added_sum, "
               "code_acceptance_activity_count FROM copilot_user_daily")  # fmt: skip
    assert got == [(row["generated_loc_sum"], row["accepted_loc_sum"], None)]
    total = _sql(tmp_path / "lake", "SELECT code_acceptance_activity_count FROM usage_daily "
                 "WHERE breakdown = 'total'")[0][0]  # fmt: skip
    features = sum(f["code_acceptance_activity_count"] for f in row["totals_by_feature"])
    assert total == features  # a missing top-level counter is the sum of its features
