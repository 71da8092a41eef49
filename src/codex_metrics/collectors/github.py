"""``collect github OWNER/REPO``: a repository's daily snapshot, star history, issues, comments.

For each repository, in order, each step committing its rows before the next starts:

1. ``GET /repos/{o}/{r}`` (conditional: a 304 still yields today's snapshot from the cache);
2. issues and PRs, then issue comments and review comments, then (``--reviews``) PR reviews,
   each walked incrementally (:mod:`.github_issues`);
3. the day's ``repo_snapshots`` row (open PRs counted from the ``issues`` table once it is
   complete, so telling issues from PRs costs no request) and its ``snapshot_diff`` star row;
4. star history (:mod:`.github_stars`).

A budget or rate-limit stop in step 2 still writes step 3 (it needs no request) and leaves the
walk resumable; the run is recorded ``partial`` with the reset time. A day with no change
costs five conditional requests, all 304s, and no rate limit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from codex_metrics.collectors._auth import TokenSource
from codex_metrics.collectors._cache import HttpCache
from codex_metrics.collectors._github_http import GitHubPolicy
from codex_metrics.collectors._http import ApiSession, Clock, Sleeper, system_clock
from codex_metrics.collectors._limits import RequestBudget, RunStats
from codex_metrics.collectors._rows import Pseudonym, write_rows
from codex_metrics.collectors._run import TargetResult, target_run
from codex_metrics.collectors.github_issues import (
    collect_comments,
    collect_issues,
    collect_reviews,
    open_prs_in_lake,
)
from codex_metrics.collectors.github_rows import RepoContext, keep_repo, snapshot_row
from codex_metrics.collectors.github_stars import collect_stars, snapshot_diff_row
from codex_metrics.config import DEFAULT_GITHUB_API_URL
from codex_metrics.errors import BudgetExhaustedError, ParameterError, RateLimitedError
from codex_metrics.lake import Lake

__all__ = ["GitHubOptions", "collect_github", "collect_repository", "github_session"]

REST_API_VERSION = "2022-11-28"
_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class GitHubOptions:
    """What ``collect github`` reads.

    Attributes:
        issues: issues and PRs (and open-PR counts from them).
        comments: issue comments and PR review comments (first responses).
        reviews: PR reviews, one request per changed PR (opt-in).
        stars: star history (history endpoint, listing).
        star_listing: when to use the ``starred_at`` listing: auto, always, never.
    """

    issues: bool = True
    comments: bool = True
    reviews: bool = False
    stars: bool = True
    star_listing: Literal["auto", "always", "never"] = "auto"


def github_session(
    client: httpx.Client,
    *,
    api_url: str = DEFAULT_GITHUB_API_URL,
    token: TokenSource | None = None,
    budget: RequestBudget | None = None,
    stats: RunStats | None = None,
    clock: Clock = system_clock,
    sleep: Sleeper | None = None,
    max_wait: float = 900.0,
    user_agent: str = "codex-metrics",
) -> ApiSession:
    """An :class:`ApiSession` for the GitHub REST API at ``api_url`` (github.com or GHES)."""
    kw: dict[str, Any] = {} if sleep is None else {"sleep": sleep}
    return ApiSession(
        client,
        base_url=api_url,
        policy=GitHubPolicy(),
        token=token,
        headers={
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": REST_API_VERSION,
            "User-Agent": user_agent,
        },
        budget=budget,
        stats=stats,
        clock=clock,
        max_wait=max_wait,
        **kw,
    )


def _parse_target(target: str) -> tuple[str, str]:
    name = target.strip().strip("/")
    if name.startswith(("https://", "http://")):
        name = "/".join(name.split("/")[3:5])
    if not _NAME.match(name):
        raise ParameterError(
            "OWNER/REPO", f"{target!r} is not a repository name; write it as owner/name"
        )
    return name, name.lower()


def _open_prs_by_listing(ctx: RepoContext) -> int:
    """Open PRs from one ``per_page=1`` request: the ``rel="last"`` page number is the count."""
    answer = ctx.session.get(
        f"{ctx.path}/pulls",
        params={"state": "open", "per_page": 1},
        cache=ctx.cache,
        keep=lambda body: len(body) if isinstance(body, list) else 0,
    )
    ctx.cache.save([answer.entry])
    if answer.last_url:
        page = httpx.URL(answer.last_url).params.get("page", "1")
        return int(page) if page.isdigit() else 1
    return int(answer.body or 0) if answer.not_modified else len(answer.body or [])


def _snapshot(ctx: RepoContext, repo: dict[str, Any], open_prs: int | None) -> None:
    row = snapshot_row(repo, ctx.now, url=str(ctx.session.url(ctx.path)), open_prs=open_prs)
    report = write_rows(ctx.lake, "repo_snapshots", [row], source=ctx.source, scope=ctx.scope)
    ctx.run.wrote("repo_snapshots", report)
    diff = snapshot_diff_row(ctx, int(row["stars"]))
    if diff is not None:
        star = write_rows(ctx.lake, "star_history", [diff], source=ctx.source, scope=ctx.scope)
        ctx.run.wrote("star_history", star)


def collect_repository(
    lake: Lake,
    session: ApiSession,
    target: str,
    *,
    pseudonym: Pseudonym,
    options: GitHubOptions | None = None,
    invocation_id: str | None = None,
) -> TargetResult:
    """Collect one repository (see the module docstring); never raises a collector error.

    Raises:
        ParameterError: ``target`` is not ``owner/name``.
    """
    options = options or GitHubOptions()
    name, scope = _parse_target(target)
    cache = HttpCache.for_scope(lake.hidden_dir, "github", scope, clock=session.clock)
    parameters = {
        "api_url": str(session.base_url),
        **{k: getattr(options, k) for k in ("issues", "comments", "reviews", "stars")},
    }
    with target_run(
        lake,
        session.stats,
        source="github",
        scope=scope,
        command="collect github",
        parameters=parameters,
        invocation_id=invocation_id,
        bucket=lambda resource: resource == "core",
    ) as run:
        path = f"repos/{name}"
        run.read(path)
        answer = session.get(path, cache=cache, keep=keep_repo)
        repo = answer.body if answer.not_modified else keep_repo(answer.body)
        ctx = RepoContext(
            lake, session, cache, run, str(repo.get("full_name") or name), scope, path,
            pseudonym, session.clock(),
        )  # fmt: skip
        stopped: BudgetExhaustedError | RateLimitedError | None = None
        changed: list[dict[str, Any]] = []
        try:
            if options.issues:
                changed = collect_issues(ctx)
            if options.comments:
                collect_comments(ctx)
            if options.reviews:
                collect_reviews(ctx, changed)
        except (BudgetExhaustedError, RateLimitedError) as exc:
            stopped = exc
        open_prs = open_prs_in_lake(ctx) if options.issues else None
        if open_prs is None and not options.issues and stopped is None:
            try:
                open_prs = _open_prs_by_listing(ctx)
            except (BudgetExhaustedError, RateLimitedError) as exc:
                stopped = exc
        _snapshot(ctx, repo, open_prs)
        cache.save([answer.entry])
        if stopped is not None:
            raise stopped
        if options.stars:
            collect_stars(ctx, repo, listing=options.star_listing)
    return run.result


def collect_github(
    lake: Lake,
    session: ApiSession,
    targets: Sequence[str],
    *,
    pseudonym: Pseudonym,
    options: GitHubOptions | None = None,
    invocation_id: str | None = None,
) -> list[TargetResult]:
    """Collect every repository in ``targets``; stop early once the budget or limit is spent."""
    for target in targets:
        _parse_target(target)  # every name checked before the first request
    results = []
    for target in targets:
        result = collect_repository(
            lake,
            session,
            target,
            pseudonym=pseudonym,
            options=options,
            invocation_id=invocation_id,
        )
        results.append(result)
        if result.stops_run:
            break
    return results
