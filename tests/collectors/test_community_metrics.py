"""The community metrics on collected data: numbers worked out by hand for a small world."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from codex_metrics.collectors import (
    collect_repository,
    collect_stackoverflow,
    stackexchange_session,
)
from codex_metrics.lake import Lake
from codex_metrics.metrics import compute_metric, developer_sums

from .conftest import FakeClock, pseudonym
from .fake_github import FakeGitHub, recorded_issues
from .fake_stackexchange import FakeStackExchange, synthetic_questions

JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)
MODEL_ISSUE, MODEL_PR = recorded_issues()[2], recorded_issues()[0]  # #3042 and PR #3045


def user(login: str, kind: str = "User") -> dict[str, Any]:
    return {"login": login, "id": abs(hash(login)) % 10**6, "type": kind}


def item(number: int, who: str, created: str, *, closed: str | None = None, merged: str | None = None,
         pr: bool = False, kind: str = "User", **extra: Any) -> dict[str, Any]:  # fmt: skip
    out = copy.deepcopy(MODEL_PR if pr else MODEL_ISSUE)
    out.update(number=number, user=user(who, kind), created_at=created, updated_at=closed or created,
               closed_at=closed, state="closed" if closed else "open", labels=[])  # fmt: skip
    out.update(extra)
    if pr:
        out["pull_request"] = {**out["pull_request"], "merged_at": merged}
    return out


def comment(cid: int, number: int, who: str, at: str, *, kind: str = "User") -> dict[str, Any]:
    base = "https://api.github.com/repos/PyGithub/PyGithub"
    return {"id": cid, "issue_url": f"{base}/issues/{number}", "pull_request_url":
            f"{base}/pulls/{number}", "user": user(who, kind), "created_at": at, "updated_at": at,
            "author_association": "NONE"}  # fmt: skip


ISSUES = [
    item(1, "alice", "2026-01-05T00:00:00Z", closed="2026-01-06T00:00:00Z"),
    item(2, "bob", "2026-01-10T00:00:00Z", closed="2026-02-10T00:00:00Z"),
    item(3, "carol", "2026-02-01T00:00:00Z", type={"name": "Feature"},
         reactions={"total_count": 7, "+1": 7}),
    item(4, "dave", "2026-02-02T00:00:00Z", labels=[{"name": "Enhancement"}],
         reactions={"total_count": 3, "+1": 1}),
    item(5, "alice", "2026-01-03T00:00:00Z", closed="2026-01-03T10:00:00Z",
         merged="2026-01-03T10:00:00Z", pr=True),
    item(6, "alice", "2026-02-01T00:00:00Z", closed="2026-02-02T00:00:00Z",
         merged="2026-02-02T00:00:00Z", pr=True),
    item(7, "dependabot[bot]", "2026-01-20T00:00:00Z", closed="2026-01-20T01:00:00Z",
         merged="2026-01-20T01:00:00Z", pr=True, kind="Bot"),
    item(8, "bob", "2026-02-05T00:00:00Z", closed="2026-02-05T04:00:00Z",
         merged="2026-02-05T04:00:00Z", pr=True),
]  # fmt: skip
COMMENTS = [
    comment(101, 1, "alice", "2026-01-05T01:00:00Z"),  # the author: not a response
    comment(102, 1, "github-actions[bot]", "2026-01-05T02:00:00Z", kind="Bot"),  # a bot: neither
    comment(103, 1, "eve", "2026-01-05T05:00:00Z"),  # 5 h
    comment(104, 2, "eve", "2026-01-10T10:00:00Z"),  # 10 h
    comment(105, 6, "alice", "2026-02-01T01:00:00Z"),
    comment(106, 6, "bob", "2026-02-01T02:00:00Z"),  # PR #6: 2 h
]
REVIEW_COMMENTS = [comment(201, 5, "bob", "2026-01-03T03:00:00Z")]  # PR #5: 3 h


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    lake = Lake.open(tmp_path_factory.mktemp("community") / "lake")
    fake = FakeGitHub(issues=ISSUES, comments=COMMENTS, review_comments=REVIEW_COMMENTS, history=[])
    clock = FakeClock(datetime(2026, 2, 27, 6, tzinfo=UTC))
    for stars in (100, 104):
        fake.repo["stargazers_count"] = stars
        session = _session(fake.handle, clock)
        assert (
            collect_repository(lake, session, "PyGithub/PyGithub", pseudonym=pseudonym).status
            == "ok"
        )
        clock.advance(days=1)
    stack = FakeStackExchange(synthetic_questions({"2026-01": 4, "2026-02": 2}))
    se = stackexchange_session(httpx.Client(transport=httpx.MockTransport(stack.handle)),
                               clock=clock, sleep=clock.sleep)  # fmt: skip
    collect_stackoverflow(lake, se, ["github-copilot"])
    return lake


def _session(handler: Any, clock: FakeClock) -> Any:
    from codex_metrics.collectors import StaticToken, github_session

    return github_session(httpx.Client(transport=httpx.MockTransport(handler)),
                          token=StaticToken("t"), clock=clock, sleep=clock.sleep)  # fmt: skip


def values(lake: Lake, name: str, **kw: Any) -> dict[Any, Any]:
    result = compute_metric(name, lake, grain=kw.pop("grain", "month"), **kw)
    assert result.status == "ok", result.reason
    return {r["period"]: r["value"] for r in result.rows.to_pylist()}


def test_issues_opened_and_closed_per_month(collected: Lake) -> None:
    assert values(collected, "issues_opened") == {JAN: 2, FEB: 2}
    assert values(collected, "issues_closed") == {JAN: 1, FEB: 1}
    assert values(collected, "open_issues") == {JAN: 1, FEB: 2}


def test_resolution_and_first_response_times(collected: Lake) -> None:
    assert values(collected, "issue_resolution_median_hours") == {JAN: 24.0, FEB: 744.0}
    first = compute_metric("issue_first_response_median_hours", collected, grain="month")
    rows = {r["period"]: (r["value"], r["n"]) for r in first.rows.to_pylist()}
    assert rows == {JAN: (7.5, 2), FEB: (None, 0)}  # the author and the bot do not count
    assert values(collected, "pr_first_review_median_hours") == {JAN: 3.0, FEB: 2.0}


def test_pr_cycle_time_leaves_bots_out_and_is_a_per_author_outcome(collected: Lake) -> None:
    assert values(collected, "pr_cycle_time_median_hours") == {JAN: 10.0, FEB: 14.0}
    per_author = developer_sums(collected.connect(), "pr_cycle_time_mean_hours",
                                start=JAN, end=date(2026, 3, 1)).fetchall()  # fmt: skip
    assert sorted(per_author) == sorted(
        [(pseudonym("alice"), 34.0, 2.0), (pseudonym("bob"), 4.0, 1.0)]
    )


def test_top_feature_requests_rank_by_reactions(collected: Lake) -> None:
    result = compute_metric("top_feature_requests", collected, grain="all")
    assert [(r["rank"], r["number"], r["value"]) for r in result.rows.to_pylist()] == [
        (1, 3, 7),
        (2, 4, 3),  # a label "Enhancement" counts as a feature request
    ]


def test_stars_and_questions(collected: Lake) -> None:
    assert values(collected, "stars_total", grain="day") == {
        date(2026, 2, 27): 100, date(2026, 2, 28): 104}  # fmt: skip
    assert values(collected, "stars_gained", grain="day") == {date(2026, 2, 28): 4}
    # the clock has reached March: the running month counts 0 so far
    assert values(collected, "stackoverflow_questions", by=["tag"]) == {
        JAN: 4,
        FEB: 2,
        date(2026, 3, 1): 0,
    }
