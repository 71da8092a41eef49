"""Requests a collection costs, against a naive collector, in the same run (no seconds).

Claims (issue 14), for a repository with 12,000 issues and PRs and C comments:

* the first collection costs at most ceil(12,000 / 100) + ceil(C / 100) + 5 requests
  (C = issue comments + PR review comments; star history is counted apart);
* a daily re-run with nothing changed costs at most 5 requests and no rate limit;
* star history through ``stargazers/history`` costs at most ceil(weeks / 30) requests.

Both collectors run against one in-memory fake GitHub (``httpx.MockTransport``, GitHub's
listing rules: ``Link`` pagination, ``since``, weak ETags answered 304 without a rate-limit
point, 100 items per page). The naive collector is what most scripts do: list every issue page,
then each issue's and PR's comments (``/issues/{n}/comments``, ``/pulls/{n}/comments``) and the
stargazers (``starred_at``, stopped at GitHub's 400-page cap), never conditionally. Before
counting, both must find the same issues and comments (checked). The Stack Exchange lines
compare one ``filter=total`` call per month against paging through every question.

    python benchmarks/bench_collectors.py [--items 12000 --comments 30000 --weeks 60]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from codex_metrics.collectors import (
    GitHubOptions,
    RequestBudget,
    StaticToken,
    collect_repository,
    collect_stackoverflow,
    github_session,
    stackexchange_session,
)
from codex_metrics.lake import Lake
from codex_metrics.privacy import pseudonymise

START = datetime(2025, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 26, 6, tzinfo=UTC)
REPO = "bench/repo"


def ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class World:
    """A synthetic repository: issues, PRs, comments, review comments, stars; and counters."""

    def __init__(self, items: int, comments: int, reviews: int, weeks: int) -> None:
        self.issues = []
        for i in range(items):
            created = START + timedelta(minutes=45 * i)
            pr = i % 3 == 0
            self.issues.append({
                "number": i + 1, "state": "closed" if i % 4 else "open", "title": f"item {i}",
                "user": {"login": f"dev{i % 97}", "type": "User"}, "created_at": ts(created),
                "updated_at": ts(created + timedelta(hours=i % 50)), "labels": [],
                "closed_at": ts(created + timedelta(hours=60)) if i % 4 else None,
                "comments": 0, "reactions": {"total_count": i % 5, "+1": i % 3},
                **({"pull_request": {"merged_at": None}} if pr else {}),
            })  # fmt: skip
        self.comments = self._comments(comments, "issue_url", "issues", prs=False)
        self.reviews = self._comments(reviews, "pull_request_url", "pulls", prs=True)
        week0 = int(datetime(2026, 11, 22, tzinfo=UTC).timestamp())
        self.history = [
            {"week": week0 - k * 604800, "total": 7 * 30 * (k % 9), "days": [30 * (k % 9)] * 7}
            for k in range(weeks)
        ]
        self.stars = sum(w["total"] for w in self.history)
        self.repo = {"id": 42, "full_name": REPO, "stargazers_count": self.stars,
                     "forks_count": 10, "subscribers_count": 5, "open_issues_count": items // 4,
                     "size": 1, "default_branch": "main", "archived": False,
                     "pushed_at": ts(NOW), "permissions": {"admin": True}}  # fmt: skip
        self.requests: Counter[str] = Counter()
        self.points: Counter[str] = Counter()
        self.by_item: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for link, pool in (("issue_url", self.comments), ("pull_request_url", self.reviews)):
            for c in pool:
                number = int(c[link].rsplit("/", 1)[1])
                self.by_item.setdefault((link, number), []).append(c)

    def _comments(self, n: int, link: str, kind: str, *, prs: bool) -> list[dict[str, Any]]:
        targets = [i for i in self.issues if ("pull_request" in i) == prs] if prs else self.issues
        out = []
        for k in range(n):
            item = targets[(k * 7919) % len(targets)]
            created = datetime.fromisoformat(item["created_at"].replace("Z", "+00:00"))
            when = ts(created + timedelta(minutes=10 + k % 600))
            if not prs:
                item["comments"] += 1
            url = f"https://api.github.com/repos/{REPO}/{kind}/{item['number']}"
            out.append({"id": 10**6 * (2 if prs else 1) + k, link: url, "created_at": when,
                        "updated_at": when, "user": {"login": f"dev{k % 31}", "type": "User"},
                        "author_association": "MEMBER"})  # fmt: skip
        return out

    def handle(self, who: str, request: httpx.Request) -> httpx.Response:
        path, p = request.url.path.removeprefix(f"/repos/{REPO}"), request.url.params
        kind = "stars" if path.startswith("/stargazers") else "listings"
        self.requests[f"{who} {kind}"] += 1
        if path == "":
            return self._json(who, request, self.repo)
        if path in ("/issues", "/issues/comments", "/pulls/comments"):
            items = {"/issues": self.issues, "/issues/comments": self.comments,
                     "/pulls/comments": self.reviews}[path]  # fmt: skip
            key = "updated_at" if p.get("sort") == "updated" else "created_at"
            since = p.get("since")
            found = [i for i in items if since is None or i["updated_at"] >= since]
            found.sort(key=lambda i: i[key], reverse=p.get("direction") == "desc")
            return self._page(who, request, found)
        if path == "/stargazers/history":
            return self._page(who, request, self.history, per_page_max=30)
        if path == "/stargazers":  # the naive listing, capped at page 400 as GitHub does
            if int(p.get("page", "1")) > 400:
                return httpx.Response(
                    422, json={"message": "pagination is limited"}, request=request
                )
            return self._page(who, request, [{"starred_at": ts(START)}] * self.stars)
        number = int(path.split("/")[2])
        kind = "issue_url" if path.startswith("/issues/") else "pull_request_url"
        return self._page(who, request, self.by_item.get((kind, number), []))

    def _page(
        self, who: str, request: httpx.Request, items: list[Any], per_page_max: int = 100
    ) -> httpx.Response:
        per_page = min(int(request.url.params.get("per_page", "30")), per_page_max)
        page = int(request.url.params.get("page", "1"))
        last = max(math.ceil(len(items) / per_page), 1)
        link = None
        if page < last:
            nxt = request.url.copy_merge_params({"page": str(page + 1)})
            link = f'<{nxt}>; rel="next", <{request.url.copy_merge_params({"page": str(last)})}>; rel="last"'
        return self._json(who, request, items[(page - 1) * per_page : page * per_page], link)

    def _json(
        self, who: str, request: httpx.Request, body: Any, link: str | None = None
    ) -> httpx.Response:
        content = json.dumps(body).encode()
        etag = f'W/"{hashlib.sha256(content).hexdigest()}"'
        headers = {"ETag": etag, "X-RateLimit-Remaining": "4000", "X-RateLimit-Resource": "core"}
        if request.headers.get("if-none-match") == etag:
            return httpx.Response(304, headers=headers, request=request)
        self.points[who] += 1  # a 200 costs a rate-limit point, a 304 none
        if link:
            headers["Link"] = link
        return httpx.Response(200, headers=headers, content=content, request=request)


def ours(world: World, lake: Lake, now: datetime) -> Any:
    session = github_session(
        httpx.Client(transport=httpx.MockTransport(lambda r: world.handle("ours", r))),
        token=StaticToken("bench"), budget=RequestBudget(None), clock=lambda: now,
        sleep=lambda s: None,
    )  # fmt: skip
    return collect_repository(lake, session, REPO, pseudonym=lambda s: pseudonymise(s, key="b"),
                              options=GitHubOptions(star_listing="never"))  # fmt: skip


def naive(world: World) -> tuple[int, int]:
    """Every issue page, every item's comments, the stargazer listing; no ETags."""
    client = httpx.Client(transport=httpx.MockTransport(lambda r: world.handle("naive", r)))
    base = f"https://api.github.com/repos/{REPO}"

    def pages(url: str) -> list[Any]:
        out: list[Any] = []
        next_url: str | None = url
        while next_url:
            r = client.get(next_url)
            if r.status_code != 200:
                break
            out += r.json()
            next_url = r.links.get("next", {}).get("url")
        return out

    client.get(base)
    issues = pages(f"{base}/issues?state=all&per_page=100")
    comments = 0
    for item in issues:
        comments += len(pages(f"{base}/issues/{item['number']}/comments?per_page=100"))
        if "pull_request" in item:
            comments += len(pages(f"{base}/pulls/{item['number']}/comments?per_page=100"))
    pages(f"{base}/stargazers?per_page=100")
    return len(issues), comments


def bench_github(args: argparse.Namespace) -> None:
    world = World(args.items, args.comments, args.reviews, args.weeks)
    lake = Lake.open(Path(tempfile.mkdtemp()) / "lake")
    first = ours(world, lake, NOW)
    con = lake.connect(sources="all")
    (issues,) = con.execute("SELECT count(*) FROM issues").fetchone() or (0,)
    (comments,) = con.execute("SELECT count(*) FROM issue_comments").fetchone() or (0,)
    n_issues, n_comments = naive(world)
    assert (
        (issues, comments) == (n_issues, n_comments) == (args.items, args.comments + args.reviews)
    )
    history = world.requests["ours stars"]
    listings = world.requests["ours listings"]
    bound = math.ceil(args.items / 100) + math.ceil((args.comments + args.reviews) / 100) + 5
    first_naive = dict(world.requests)
    world.requests.clear()
    world.points.clear()
    daily = ours(world, lake, NOW + timedelta(days=1))
    naive(world)
    rows = [
        ("first collection, issues + comments", listings, listings, bound,
         first_naive["naive listings"]),
        ("first collection, star history", history, history, math.ceil(args.weeks / 30),
         first_naive["naive stars"]),
        ("daily re-run, nothing changed", daily.usage.requests, daily.usage.points, 5,
         world.requests["naive listings"] + world.requests["naive stars"]),
    ]  # fmt: skip
    print(f"GitHub: {args.items:,} issues and PRs, {args.comments:,} comments + {args.reviews:,} "
          f"review comments, {args.weeks} weeks of stars ({world.stars:,} stars; the naive "
          "listing stops at GitHub's 400-page cap)")  # fmt: skip
    print(f"{'run':40} {'requests':>9} {'points':>7} {'bound':>7} {'naive':>8} {'naive/ours':>10}")
    for name, req, pts, limit, base in rows:
        ok = "ok" if req <= limit else "OVER"
        print(
            f"{name:40} {req:>9,} {pts:>7,} {limit:>7,} {base:>8,} {base / max(req, 1):>9.0f}x {ok}"
        )
    assert listings <= bound and history <= math.ceil(args.weeks / 30)
    assert first.usage.requests == listings + history
    assert daily.usage.requests <= 5 and daily.usage.points == 0


def bench_stackoverflow(args: argparse.Namespace) -> None:
    per_month, months = args.questions_per_month, args.months
    stamps = [int((NOW - timedelta(days=30.4 * months)).timestamp()) + 7200 * k
              for k in range(per_month * months)]  # fmt: skip
    counts: Counter[str] = Counter()

    def handle(request: httpx.Request) -> httpx.Response:
        counts["calls"] += 1
        p = request.url.params
        if request.url.path.endswith("/answers"):
            return httpx.Response(200, json={"items": [], "has_more": False}, request=request)
        lo, hi = int(p.get("fromdate", 0)), int(p.get("todate", 2**40))
        found = [s for s in stamps if lo <= s <= hi]
        if p.get("filter") == "total":
            return httpx.Response(200, json={"total": len(found)}, request=request)
        size, page = int(p.get("pagesize", 30)), int(p.get("page", 1))
        chunk = [{"question_id": s, "creation_date": s, "is_answered": False, "answer_count": 0}
                 for s in found[(page - 1) * size : page * size]]  # fmt: skip
        body = {"items": chunk, "has_more": page * size < len(found), "quota_max": 10000,
                "quota_remaining": 9000}  # fmt: skip
        return httpx.Response(200, json=body, request=request)

    lake = Lake.open(Path(tempfile.mkdtemp()) / "lake")
    results = []
    for day in (0, 1):
        counts.clear()
        session = stackexchange_session(httpx.Client(transport=httpx.MockTransport(handle)),
                                        clock=lambda d=day: NOW + timedelta(days=d))  # fmt: skip
        collect_stackoverflow(lake, session, ["github-copilot"], answer_months=1)
        results.append(counts["calls"])
    naive_calls = math.ceil(len(stamps) / 100)
    print(f"\nStack Overflow: {len(stamps):,} questions over {months} months")
    print(
        f"{'first collection (filter=total)':40} {results[0]:>9,} {'':>7} {'':>7} {naive_calls:>8,}"
    )
    print(f"{'daily re-run':40} {results[1]:>9,} {'':>7} {'':>7} {naive_calls:>8,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=12_000)
    parser.add_argument("--comments", type=int, default=30_000)
    parser.add_argument("--reviews", type=int, default=4_000)
    parser.add_argument("--weeks", type=int, default=60)
    parser.add_argument("--months", type=int, default=40)
    parser.add_argument("--questions-per-month", type=int, default=300)
    args = parser.parse_args()
    bench_github(args)
    bench_stackoverflow(args)


if __name__ == "__main__":
    main()
