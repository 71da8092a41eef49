"""collect ecosystem: search totals labelled as estimates or capped samples, buckets apart."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import httpx

from codex_metrics.collectors import collect_ecosystem
from codex_metrics.config import EcosystemQuery
from codex_metrics.lake import Lake

from . import recordings
from .conftest import FakeClock, SessionFactory

SEARCH = next(e for e in recordings.octokit("search-issues.raw-fixture.json") if e.method == "GET")
QUERIES = (
    EcosystemQuery("repos_agents_md", "repositories", '"AGENTS.md" in:readme'),
    EcosystemQuery("commits_copilot", "commits", '"Co-authored-by: Copilot"'),
    EcosystemQuery("code_agents_md", "code", "filename:AGENTS.md"),
)


class FakeSearch:
    """Search answers shaped like the recorded one, with the right bucket per endpoint."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.left = {"search": 30, "code_search": 10}
        self.log: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.log.append(request)
        resource = "code_search" if request.url.path.endswith("/code") else "search"
        body = {"total_count": len(request.url.params["q"]) * 1000, "incomplete_results":
                request.url.path.endswith("/commits"), "items": SEARCH.body["items"][:1]}  # fmt: skip
        etag = f'W/"{hashlib.sha256(json.dumps(body).encode()).hexdigest()}"'
        reset = int((self.clock.now + timedelta(seconds=40)).timestamp())
        headers = {**SEARCH.headers, "ETag": etag, "X-RateLimit-Resource": resource,
                   "X-RateLimit-Reset": str(reset)}  # fmt: skip
        if request.headers.get("if-none-match") == etag:
            return httpx.Response(304, headers=headers, request=request)
        self.left[resource] -= 1
        headers["X-RateLimit-Remaining"] = str(self.left[resource])
        headers["X-RateLimit-Limit"] = "10" if resource == "code_search" else "30"
        return httpx.Response(200, headers=headers, json=body, request=request)


def stored(lake: Lake) -> list[tuple[Any, ...]]:
    con = lake.connect(sources="all")
    return con.execute(
        "SELECT query_name, search_kind, total_count, label, sample_cap, incomplete_results "
        "FROM ecosystem_counts "
        "ORDER BY query_name"
    ).fetchall()


def test_totals_are_labelled_estimates_and_code_search_a_capped_sample(
    lake: Lake, make_session: SessionFactory, clock: FakeClock
) -> None:
    search = FakeSearch(clock)
    result = collect_ecosystem(lake, make_session(search.handle), QUERIES)
    assert result.status == "ok" and result.usage.requests == 3
    assert stored(lake) == [
        ("code_agents_md", "code", 18000, "capped_sample", 4000, False),
        (
            "commits_copilot",
            "commits",
            25000,
            "github_search_estimate",
            None,
            True,
        ),  # a lower bound
        ("repos_agents_md", "repositories", 21000, "github_search_estimate", None, False),
    ]
    assert result.rate_limit_resource in ("search", "code_search")
    assert {r.url.params["per_page"] for r in search.log} == {"1"}


def test_without_a_token_code_search_is_left_out_and_said(
    lake: Lake, make_session: SessionFactory, clock: FakeClock
) -> None:
    result = collect_ecosystem(lake, make_session(FakeSearch(clock).handle, token=None), QUERIES)
    assert [r[0] for r in stored(lake)] == ["commits_copilot", "repos_agents_md"]
    assert "code search needs a token" in (result.message or "")


def test_an_unchanged_search_tomorrow_is_a_free_304(
    lake: Lake, make_session: SessionFactory, clock: FakeClock
) -> None:
    search = FakeSearch(clock)
    collect_ecosystem(lake, make_session(search.handle), QUERIES)
    clock.advance(days=1)
    result = collect_ecosystem(lake, make_session(search.handle), QUERIES)
    assert (result.usage.not_modified, result.usage.points) == (3, 0)
    con = lake.connect(sources="all")
    assert con.execute("SELECT count(DISTINCT day), count(*) FROM ecosystem_counts").fetchall() == [
        (2, 6)
    ]


def test_an_empty_search_bucket_is_waited_out_apart_from_core(
    lake: Lake, make_session: SessionFactory, clock: FakeClock
) -> None:
    search = FakeSearch(clock)
    search.left["code_search"] = 1  # the first code search leaves 0 of 10
    queries = (
        *QUERIES,
        EcosystemQuery("code_instructions", "code", "filename:copilot-instructions.md"),
    )
    collect_ecosystem(lake, make_session(search.handle), queries)
    assert clock.sleeps == [41.0]  # until the code_search reset, not the core one
