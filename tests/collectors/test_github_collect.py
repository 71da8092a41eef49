"""collect github over the fake GitHub: what lands in the lake, what each run costs."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from codex_metrics.collectors import GitHubOptions, collect_repository
from codex_metrics.collectors import github_stars as stars_module
from codex_metrics.lake import Lake
from codex_metrics.privacy import pseudonymise

from . import recordings
from .conftest import FakeClock, SessionFactory, pseudonym
from .fake_github import FakeGitHub, recorded_issues

SCOPE = "pygithub/pygithub"


def collect(lake: Lake, fake: FakeGitHub, make_session: SessionFactory, **kw: Any) -> Any:
    budget = kw.pop("budget", None)
    session = make_session(fake.handle, budget=budget)
    return collect_repository(lake, session, "PyGithub/PyGithub", pseudonym=pseudonym, **kw)


def rows(lake: Lake, sql: str) -> list[tuple[Any, ...]]:
    con = lake.connect(sources="all")
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def files(lake: Lake, table: str) -> set[str]:
    held = lake.snapshot(sources="all").tables[table]
    return {f.path for f in held.files}


def cloned_issues(n: int, start: datetime) -> list[dict[str, Any]]:
    """``n`` issues cloned from a recorded one (numbers and times made up)."""
    model = recorded_issues()[2]  # #3042, a plain issue
    out = []
    for i in range(n):
        item = copy.deepcopy(model)
        when = (start + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        item.update(number=10_000 + i, created_at=when, updated_at=when, title=f"clone {i}")
        out.append(item)
    return out


def test_a_first_collection_fills_every_table_from_the_recordings(
    lake: Lake, make_session: SessionFactory
) -> None:
    fake = FakeGitHub()  # 40 weeks of star history
    result = collect(lake, fake, make_session)
    assert result.status == "ok"
    # repo, issues, comments, review comments, and 40 weeks of star history in ceil(40/30) pages
    assert result.usage.requests == 6 == result.usage.points
    assert rows(lake, "SELECT count(*), sum(is_pull_request::int) FROM issues") == [(38, 9)]
    typed = rows(lake, "SELECT number, issue_type, labels, reactions_total FROM issues "
                       "WHERE number IN (28, 3335, 3364) ORDER BY number")  # fmt: skip
    assert typed == [(28, "Bug", ["bug", "question"], 2), (3335, "Feature", [], 0),
                     (3364, "Bug", ["bug"], 4)]  # fmt: skip
    (author,) = rows(lake, "SELECT author FROM issues WHERE number = 3045")[0]
    assert author == pseudonymise("bmwiedemann", key="test-key")
    kinds = rows(
        lake, "SELECT kind, count(*), sum(is_bot::int) FROM issue_comments GROUP BY 1 ORDER BY 1"
    )
    assert kinds == [("comment", 5, 1), ("review_comment", 1, 0)]
    snap = rows(lake, "SELECT stars, forks, watchers, open_issues_and_prs, open_prs, open_issues "
                      "FROM repo_snapshots")  # fmt: skip
    repo = fake.repo
    assert snap == [(repo["stargazers_count"], repo["forks_count"], repo["subscribers_count"],
                     repo["open_issues_count"], 9, repo["open_issues_count"] - 9)]  # fmt: skip
    given = sum(sum(w["days"]) for w in fake.history or [])
    assert rows(lake, "SELECT count(*) > 0, sum(stars_gained), bool_and(stars_still_held) "
                      "FROM star_history WHERE method = 'history_endpoint'") == [(True, given, True)]  # fmt: skip


def test_no_login_reaches_the_lake(
    lake: Lake, fake: FakeGitHub, make_session: SessionFactory
) -> None:
    collect(lake, fake, make_session)
    logins = {i["user"]["login"] for i in fake.issues} | {"EnricoMi", "github-actions[bot]"}
    stored = b"".join(p.read_bytes() for p in lake.root.rglob("*.parquet"))
    assert not [login for login in logins if login.encode() in stored]


def test_a_day_without_change_costs_five_304s_and_no_rate_limit(
    lake: Lake, fake: FakeGitHub, make_session: SessionFactory, clock: FakeClock
) -> None:
    collect(lake, fake, make_session)
    before = fake.remaining
    clock.advance(days=1)
    result = collect(lake, fake, make_session)
    assert (result.usage.requests, result.usage.not_modified, result.usage.points) == (5, 5, 0)
    assert fake.remaining == before and fake.statuses[-5:] == [304] * 5
    assert rows(lake, "SELECT count(*) FROM repo_snapshots") == [(2,)]  # today's, from the cache
    assert rows(lake, "SELECT stars_gained, span_days, stars_cumulative FROM star_history "
                      "WHERE method = 'snapshot_diff'") == [(0, 1, fake.repo["stargazers_count"])]  # fmt: skip
    runs = rows(lake, "SELECT requests_used, requests_not_modified FROM source_runs "
                      "WHERE status = 'ok' ORDER BY started_at")  # fmt: skip
    assert runs[-1] == (0, 5)


def test_an_update_costs_one_page_and_rewrites_only_its_day(
    lake: Lake, fake: FakeGitHub, make_session: SessionFactory, clock: FakeClock
) -> None:
    collect(lake, fake, make_session, options=GitHubOptions(stars=False))
    kept = files(lake, "issues")
    fake.touch_issue(3042, "2026-11-26T09:00:00Z", state="closed", closed_at="2026-11-26T09:00:00Z")
    clock.advance(days=1)
    result = collect(lake, fake, make_session, options=GitHubOptions(stars=False))
    assert result.usage.points == 1  # the issues page that changed; the rest are 304s
    assert rows(lake, "SELECT count(*) FROM issues") == [(38,)]
    assert rows(lake, "SELECT state, closed_at FROM issues WHERE number = 3042") == [
        ("closed", datetime(2026, 11, 26, 9, tzinfo=UTC))
    ]
    changed = files(lake, "issues") ^ kept
    assert {p.split("/")[0] for p in changed} == {"day=2024-09-10"}  # #3042's creation day only


def test_more_than_a_page_of_changes_is_read_through_since(
    lake: Lake, make_session: SessionFactory
) -> None:
    fake = FakeGitHub(issues=cloned_issues(150, datetime(2026, 1, 1, tzinfo=UTC)), history=[])
    options = GitHubOptions(stars=False, comments=False)
    collect(lake, fake, make_session, options=options)
    for item in fake.issues[:120]:
        item["updated_at"], item["state"] = "2026-11-25T10:00:00Z", "closed"
    fake.log.clear()
    collect(lake, fake, make_session, options=options)
    urls = [str(r.url) for r in fake.log if "/issues" in r.url.path]
    assert "since=2026-01-07T05%3A00%3A00Z" in urls[1]  # the newest updated_at of the first run
    assert rows(lake, "SELECT state, count(*) FROM issues GROUP BY 1 ORDER BY 1") == [
        ("closed", 120),
        ("open", 30),
    ]


def test_a_walk_stopped_by_the_budget_resumes_to_the_same_rows(
    tmp_path: Path, make_session: SessionFactory
) -> None:
    issues = cloned_issues(250, datetime(2026, 2, 1, tzinfo=UTC))
    options = GitHubOptions(stars=False, comments=False)
    whole = Lake.open(tmp_path / "whole")
    collect(
        whole, FakeGitHub(issues=copy.deepcopy(issues), history=[]), make_session, options=options
    )
    parts = Lake.open(tmp_path / "parts")
    fake = FakeGitHub(issues=copy.deepcopy(issues), history=[])
    first = collect(parts, fake, make_session, options=options, budget=3)
    assert first.status == "partial" and "request budget of 3 spent" in (first.message or "")
    assert rows(parts, "SELECT count(*) FROM issues") == [(200,)]  # two pages committed
    assert rows(parts, "SELECT open_prs FROM repo_snapshots") == [(None,)]  # not complete yet
    second = collect(parts, fake, make_session, options=options)
    assert second.status == "ok"
    query = "SELECT * EXCLUDE (ingested_at) FROM issues ORDER BY number"
    assert rows(parts, query) == rows(whole, query)
    assert rows(parts, "SELECT open_prs FROM repo_snapshots") == [(0,)]


def test_an_unstar_in_an_old_week_is_picked_up_when_the_count_drops(
    lake: Lake, make_session: SessionFactory, clock: FakeClock
) -> None:
    fake = FakeGitHub()
    fake.history = (fake.history or [])[:36]  # 36 weeks: two pages
    collect(lake, fake, make_session)
    old = (fake.history or [])[35]  # on the second page
    day = datetime.fromtimestamp(old["week"], UTC).date()
    before = old["days"][0]
    old["days"][0] -= 1
    fake.repo["stargazers_count"] -= 1
    clock.advance(days=1)
    result = collect(lake, fake, make_session)
    assert result.usage.points == 2  # the repository and the changed second history page
    assert rows(lake, f"SELECT stars_gained FROM star_history WHERE method = 'history_endpoint' "
                      f"AND day = DATE '{day}'") == [(before - 1,)]  # fmt: skip


def _listing(fake: FakeGitHub, pages: list[list[dict[str, Any]]]) -> None:
    def serve(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        links = ""
        if page < len(pages):
            base = "https://api.github.com/repositories/3544490/stargazers?per_page=100"
            links = f'<{base}&page={page + 1}>; rel="next", <{base}&page={len(pages)}>; rel="last"'
        headers = {"Link": links} if links else {}
        return httpx.Response(200, json=pages[page - 1], headers=headers, request=request)

    fake.extra["/repos/PyGithub/PyGithub/stargazers"] = serve
    fake.extra["/repositories/3544490/stargazers"] = serve


def test_without_the_history_endpoint_collaborators_get_the_starred_at_listing(
    lake: Lake, make_session: SessionFactory
) -> None:
    fake = FakeGitHub(history=None)
    fake.history = []
    recorded = recordings.github("stargazers_with_starred_at_small.json")[0].body
    _listing(fake, [recorded])
    fake.repo["permissions"] = {"admin": False, "push": True, "pull": True}
    fake.extra["/repos/PyGithub/PyGithub/stargazers/history"] = lambda r: httpx.Response(
        404, json={"message": "Not Found"}, request=r
    )
    collect(lake, fake, make_session)
    days = rows(lake, "SELECT day, stars_gained, truncated FROM star_history "
                      "WHERE method = 'starred_at_listing' ORDER BY day")  # fmt: skip
    expected: dict[Any, int] = {}
    for item in recorded:
        d = datetime.fromisoformat(item["starred_at"].replace("Z", "+00:00")).date()
        expected[d] = expected.get(d, 0) + 1
    assert [(d, n) for d, n, _ in days] == sorted(expected.items())
    assert not any(t for *_, t in days)


def test_the_listing_stops_at_githubs_page_cap_and_says_so(
    lake: Lake, make_session: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stars_module, "LISTING_PAGE_CAP", 2)
    fake = FakeGitHub(history=[])
    recorded = recordings.github("stargazers_with_starred_at_page1.json")[0].body
    _listing(fake, [recorded[:10], recorded[10:20], recorded[20:]])
    fake.repo["permissions"] = {"admin": True}
    collect(lake, fake, make_session)
    flagged = rows(lake, "SELECT sum(stars_gained), bool_and(truncated) FROM star_history "
                         "WHERE method = 'starred_at_listing'")  # fmt: skip
    assert flagged == [(20, True)]


def test_an_empty_history_is_unavailable_not_zero_and_readers_get_no_listing(
    lake: Lake, make_session: SessionFactory
) -> None:
    fake = FakeGitHub(history=[])
    fake.repo["permissions"] = {"admin": False, "push": False, "pull": True}
    result = collect(lake, fake, make_session)
    assert result.status == "ok"
    assert rows(lake, "SELECT count(*) FROM star_history") == [(0,)]
    assert not [r for r in fake.log if r.url.path.endswith("/stargazers")]


def test_without_issues_open_prs_cost_one_per_page_1_request(
    lake: Lake, make_session: SessionFactory
) -> None:
    counted = recordings.github("issues_per_page_1.json")[0]  # rel="last" is page 341
    fake = FakeGitHub(history=[])
    fake.extra["/repos/PyGithub/PyGithub/pulls"] = lambda r: counted.response(r)
    collect(lake, fake, make_session, options=GitHubOptions(issues=False, comments=False))
    assert rows(lake, "SELECT open_prs, open_issues FROM repo_snapshots") == [
        (341, fake.repo["open_issues_count"] - 341)
    ]


def test_an_unknown_new_field_is_ignored_and_a_missing_one_is_null(
    lake: Lake, make_session: SessionFactory
) -> None:
    fake = FakeGitHub(history=[])
    for item in fake.issues:
        item["brand_new_field"] = {"nested": [1, 2]}
        item.pop("reactions", None)
    collect(lake, fake, make_session, options=GitHubOptions(comments=False))
    assert rows(lake, "SELECT count(*), count(reactions_total) FROM issues") == [(38, 0)]
