"""The HTTP layer against recorded GitHub answers: pagination, 304s, retries, budget, secrets."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from codex_metrics.collectors import HttpCache
from codex_metrics.errors import BudgetExhaustedError, CollectorError, ResponseFormatError

from . import recordings
from .conftest import FakeClock, SessionFactory

TOKEN = "ghp_test_token"


def test_pagination_follows_the_link_headers_across_pages(make_session: SessionFactory) -> None:
    gets = [e for e in recordings.octokit("paginate-issues.raw-fixture.json") if e.method == "GET"]
    by_path = {e.path: e for e in gets}
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode()
        seen.append(path)
        return by_path[path].response(request)

    session = make_session(handler)
    first = gets[0].path
    pages = list(session.pages(first))
    assert [len(p.body) for p in pages] == [3, 3, 3, 3, 1]
    # every page after the first is the recorded Link URL, in its numeric /repositories form
    assert seen == [e.path for e in gets]
    assert pages[-1].next_url is None and pages[0].last_url.endswith("page=5")
    assert session.stats.total.requests == 5 and session.stats.total.points == 5


def test_a_304_costs_no_rate_limit_and_serves_the_kept_body(
    make_session: SessionFactory, tmp_path: Path
) -> None:
    first, _, not_modified = recordings.github("conditional_request_etag_200_then_304.json")
    repo = recordings.github("repo_get_authenticated_2024.json")[0].body
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.headers.get("if-none-match") == first.headers["ETag"]:
            return not_modified.response(request)
        return first.response(request, body=repo)

    cache = HttpCache(tmp_path / "cache.json")
    session = make_session(handler)
    one = session.get(first.path, cache=cache, keep=lambda b: {"stars": b["stargazers_count"]})
    assert one.status == 200 and one.entry is not None and one.entry.etag == first.headers["ETag"]
    cache.save([one.entry])  # what a collector does after committing the rows
    again = make_session(handler).get(first.path, cache=HttpCache(tmp_path / "cache.json"))
    # the weak ETag goes back verbatim, with If-Modified-Since
    assert (
        sent[1].headers["if-none-match"]
        == 'W/"68ec45d743bb1d53f805ddfd5ce767fe4c6f95f825f45853d143e7429d462251"'
    )
    assert sent[1].headers["if-modified-since"] == first.headers["Last-Modified"]
    assert again.not_modified and again.body == {"stars": repo["stargazers_count"]}
    bucket = again.headers["x-ratelimit-remaining"]
    assert bucket == not_modified.headers["X-RateLimit-Remaining"] == "4791"


def test_validators_are_saved_only_when_the_caller_says_the_rows_are_committed(
    make_session: SessionFactory, tmp_path: Path
) -> None:
    exchange = recordings.github("repo_get.json")[0]
    session = make_session(lambda r: exchange.response(r))
    cache = HttpCache(tmp_path / "c.json")
    answer = session.get("repos/PyGithub/PyGithub", cache=cache)
    assert answer.entry is not None and not (tmp_path / "c.json").exists()
    assert HttpCache(tmp_path / "c.json").get(answer.entry.key) is None


def test_a_5xx_then_success_is_retried_with_jittered_backoff(
    make_session: SessionFactory, clock: FakeClock
) -> None:
    exchange = recordings.github("repo_get.json")[0]
    answers = iter([502, 503, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        if status == 200:
            return exchange.response(request)
        return httpx.Response(status, text="<html>Unicorn!</html>", request=request)

    answer = make_session(handler).get("repos/PyGithub/PyGithub")
    assert answer.body["full_name"] == "PyGithub/PyGithub"
    assert len(clock.sleeps) == 2
    assert (
        1.0 <= clock.sleeps[0] <= 2.0 and 2.0 <= clock.sleeps[1] <= 4.0
    )  # jitter in [0.5, 1] x 2^n


def test_a_server_that_stays_down_fails_with_what_to_do(make_session: SessionFactory) -> None:
    session = make_session(lambda r: httpx.Response(503, request=r))
    with pytest.raises(CollectorError, match="answered 503 5 times.*try again later") as info:
        session.get("repos/a/b")
    assert info.value.status == 503


def test_a_timeout_is_retried_then_reported(make_session: SessionFactory, clock: FakeClock) -> None:
    exchange = recordings.github("repo_get.json")[0]
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            raise httpx.ReadTimeout("read timed out", request=request)
        return exchange.response(request)

    assert make_session(flaky).get("repos/PyGithub/PyGithub").status == 200
    assert len(clock.sleeps) == 1

    def always(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    with pytest.raises(CollectorError, match="timed out 5 times"):
        make_session(always).get("repos/a/b")


def test_a_truncated_body_is_asked_again_then_reported(
    make_session: SessionFactory, clock: FakeClock
) -> None:
    exchange = recordings.github("issues_page1.json")[0]
    whole = json.dumps(exchange.body).encode()
    answers = iter([whole[: len(whole) // 2], whole])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"ETag": 'W/"x"'}, content=next(answers), request=request
        )

    assert len(make_session(handler).get("repos/PyGithub/PyGithub/issues").body) == 30

    def cut(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=whole[:1000], request=request)

    with pytest.raises(ResponseFormatError, match="not complete JSON"):
        make_session(cut).get("repos/PyGithub/PyGithub/issues")

    def dropped(request: httpx.Request) -> httpx.Response:  # the connection closes mid-body
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message")

    with pytest.raises(CollectorError, match="connection failed 5 times"):
        make_session(dropped).get("repos/a/b")


def test_the_request_budget_stops_the_run_and_counts_every_attempt(
    make_session: SessionFactory,
) -> None:
    exchange = recordings.github("repo_get.json")[0]
    session = make_session(lambda r: exchange.response(r), budget=2)
    session.get("repos/PyGithub/PyGithub")
    session.get("repos/PyGithub/PyGithub")
    with pytest.raises(BudgetExhaustedError, match="request budget of 2 spent") as info:
        session.get("repos/PyGithub/PyGithub")
    assert (info.value.used, info.value.budget) == (2, 2)


def test_credentials_go_to_the_api_host_only(make_session: SessionFactory, tmp_path: Path) -> None:
    seen: dict[str, str | None] = {}
    repo = recordings.github("repo_get.json")[0]

    def handler(request: httpx.Request) -> httpx.Response:
        seen[request.url.host + request.url.path] = request.headers.get("authorization")
        if request.url.path == "/repos/old/name":  # a renamed repository: same-host redirect
            return httpx.Response(
                301, headers={"Location": "/repositories/3544490"}, request=request
            )
        if request.url.path == "/repos/moved/away":  # a redirect to another host
            return httpx.Response(
                302, headers={"Location": "https://evil.example/steal"}, request=request
            )
        if request.url.host == "objects.example":
            return httpx.Response(200, content=b'{"day_totals": []}', request=request)
        return repo.response(request)

    session = make_session(handler)
    session.get("repos/old/name")
    session.get("repos/moved/away")
    session.download(
        "https://objects.example/reports/r.json?sig=SECRET&se=2026-01-01", tmp_path / "r.json"
    )
    assert seen["api.github.com/repos/old/name"] == f"Bearer {TOKEN}"
    assert seen["api.github.com/repositories/3544490"] == f"Bearer {TOKEN}"
    assert seen["evil.example/steal"] is None
    assert seen["objects.example/reports/r.json"] is None
    assert (tmp_path / "r.json").read_bytes() == b'{"day_totals": []}'


def test_secrets_never_reach_the_cache_file_or_a_message(
    make_session: SessionFactory, tmp_path: Path
) -> None:
    repo = recordings.github("repo_get.json")[0]
    cache = HttpCache(tmp_path / "c.json")
    session = make_session(lambda r: repo.response(r))
    answer = session.get("search/repositories", params={"q": "x", "key": "SE_KEY_123"}, cache=cache)
    cache.save([answer.entry])
    stored = (tmp_path / "c.json").read_text()
    assert TOKEN not in stored and "SE_KEY_123" not in stored and "search/repositories" in stored

    def refused(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"message": "Bad credentials"}, request=request)

    with pytest.raises(CollectorError) as info:
        make_session(refused).get("search/repositories", params={"q": "x", "key": "SE_KEY_123"})
    assert TOKEN not in str(info.value) and "SE_KEY_123" not in str(info.value)


def test_an_entry_without_the_kept_part_is_not_asked_conditionally(
    make_session: SessionFactory, tmp_path: Path
) -> None:
    exchange = recordings.github("repo_get.json")[0]
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return exchange.response(request)

    cache = HttpCache(tmp_path / "c.json")
    cache.save([make_session(handler).get("repos/PyGithub/PyGithub", cache=cache).entry])
    answer = make_session(handler).get("repos/PyGithub/PyGithub", cache=cache, keep=dict)
    assert "if-none-match" not in sent[-1].headers and answer.body["id"] == 3544490
