"""Issues, PRs, comments and reviews of one repository, incrementally.

Three repository-wide listings, each walked newest first (:mod:`._walk`): a day with no
change costs three 304s and no rate limit.

* ``/issues?state=all&sort=updated&direction=desc`` (issues and PRs; ``since`` bounds a long
  gap): rows merged by (repo, number) into the day the item was created, so an update
  rewrites only that day;
* ``/issues/comments?sort=created&direction=desc``: every comment of every issue and PR in
  100 per request, instead of one request per issue;
* ``/pulls/comments?sort=created&direction=desc``: PR review comments (kind
  ``review_comment``).

PR reviews without a comment (an approval) exist only per PR (``/pulls/{n}/reviews``), one
request per PR, so they are opt-in (``--reviews``) and fetched for the PRs that changed.
"""

from __future__ import annotations

from typing import Any

from codex_metrics.collectors._rows import scope_rows, write_rows
from codex_metrics.collectors._walk import Listing, walk_listing
from codex_metrics.collectors.github_rows import RepoContext, comment_row, issue_row, review_row
from codex_metrics.errors import BudgetExhaustedError, RateLimitedError

__all__ = ["collect_comments", "collect_issues", "collect_reviews", "open_prs_in_lake"]

_PAGE = {"direction": "desc", "per_page": 100}


def _commit(ctx: RepoContext, table: str, rows: list[dict[str, Any]]) -> None:
    report = write_rows(ctx.lake, table, rows, source=ctx.source, scope=ctx.scope)
    ctx.run.wrote(table, report)


def collect_issues(ctx: RepoContext) -> list[dict[str, Any]]:
    """Walk the issues listing; commit changed items; return their rows.

    Raises:
        BudgetExhaustedError, RateLimitedError: after committing what was read.
    """
    listing = Listing(
        "issues",
        f"{ctx.path}/issues",
        {"state": "all", "sort": "updated", **_PAGE},
        "updated_at",
        key_field="number",
    )
    ctx.run.read(listing.path)
    result = walk_listing(ctx.session, ctx.cache, listing)
    url = str(ctx.session.url(listing.path))
    rows = [issue_row(i, ctx.repo, ctx.pseudonym, url) for i in result.items]
    _commit(ctx, "issues", rows)  # the rows first, then what says they are there
    ctx.cache.save(result.entries, state={listing.name: result.state})
    if result.stopped is not None:
        raise result.stopped
    return rows


def collect_comments(ctx: RepoContext) -> None:
    """Walk the repository-wide issue-comment and review-comment listings; commit new ones.

    Raises:
        BudgetExhaustedError, RateLimitedError: after committing what was read.
    """
    for name, path, kind in (
        ("comments", f"{ctx.path}/issues/comments", "comment"),
        ("review_comments", f"{ctx.path}/pulls/comments", "review_comment"),
    ):
        listing = Listing(name, path, {"sort": "created", **_PAGE}, "created_at")
        ctx.run.read(path)
        result = walk_listing(ctx.session, ctx.cache, listing)
        url = str(ctx.session.url(path))
        built = (comment_row(i, ctx.repo, ctx.pseudonym, url, kind=kind) for i in result.items)
        rows = [r for r in built if r is not None]
        _commit(ctx, "issue_comments", rows)
        ctx.cache.save(result.entries, state={name: result.state})
        if result.stopped is not None:
            raise result.stopped


def collect_reviews(ctx: RepoContext, changed: list[dict[str, Any]]) -> None:
    """PR reviews of the PRs that changed (and of those a stopped run left), one PR at a time.

    Raises:
        BudgetExhaustedError, RateLimitedError: after committing the PRs done.
    """
    state = ctx.cache.state("reviews")
    todo = list(dict.fromkeys([*state.get("pending", []), *(
        r["number"] for r in changed if r["is_pull_request"]
    )]))  # fmt: skip
    rows: list[dict[str, Any]] = []
    entries = []
    done = 0
    stopped: BudgetExhaustedError | RateLimitedError | None = None
    try:
        for number in todo:
            path = f"{ctx.path}/pulls/{number}/reviews"
            first = True
            for page in ctx.session.pages(
                path, params={"per_page": 100}, cache=ctx.cache, max_pages=None
            ):
                if page.not_modified and first:
                    entries.append(page.entry)
                    break
                first = False
                entries.append(page.entry)
                for item in page.body or []:
                    row = review_row(item, ctx.repo, int(number), ctx.pseudonym, page.url)
                    if row is not None:
                        rows.append(row)
            done += 1
    except (BudgetExhaustedError, RateLimitedError) as exc:
        stopped = exc
    _commit(ctx, "issue_comments", rows)
    ctx.cache.save(entries, state={"reviews": {"pending": todo[done:]}})
    if todo:
        ctx.run.read(f"{ctx.path}/pulls/{{number}}/reviews")
    if stopped is not None:
        raise stopped


def open_prs_in_lake(ctx: RepoContext) -> int | None:
    """Open PRs of the repository per the ``issues`` table (``None``: not fully collected)."""
    state = ctx.cache.state("issues")
    if not state.get("cursor") or state.get("resume"):
        return None
    rows = scope_rows(
        ctx.lake,
        "issues",
        source=ctx.source,
        scope=ctx.scope,
        sql="SELECT count(*) FROM t WHERE is_pull_request AND state = 'open'",
    )
    return int(rows[0][0]) if rows else 0
