"""Star history three ways, side by side in ``star_history`` (never summed across methods).

* ``history_endpoint``: ``GET /repos/{o}/{r}/stargazers/history`` (GitHub, 2026-09): weeks newest
  first, 30 per page, each with 7 daily counts, so a full history costs ceil(weeks / 30)
  requests. It counts stars **still held**, by the day they were given: its running sum is
  "retained stars by acquisition date", not the star count on that day. Day boundaries are
  GitHub's (not promised UTC midnights). An empty first page means unavailable, not zero.
* ``starred_at_listing``: ``/stargazers`` with the ``star+json`` media type, oldest first.
  Since 2026-06 only admins and collaborators may list stargazers, and pagination stops at 400
  pages (40,000 stars): beyond it the rows are flagged ``truncated``. Used when the history
  endpoint is unavailable (older GitHub Enterprise Server) and the token may read it.
* ``snapshot_diff``: the change of our own daily ``stargazers_count`` snapshots, the observed
  net change, which keeps working past 40,000 stars and costs nothing extra.

Only days whose count changed are written (merged by key), so a daily run touches today's
partition, not the repository's whole history.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from codex_metrics.collectors._rows import day_of, parse_time, scope_rows, write_rows
from codex_metrics.collectors.github_rows import RepoContext
from codex_metrics.errors import (
    AuthError,
    BudgetExhaustedError,
    RateLimitedError,
    RemoteNotFoundError,
    RequestRejectedError,
)

__all__ = ["HISTORY_API_VERSION", "LISTING_PAGE_CAP", "collect_stars", "snapshot_diff_row"]

HISTORY_API_VERSION = "2026-03-10"
#: GitHub stops stargazer pagination at page 400 (40,000 stars at 100 per page).
LISTING_PAGE_CAP = 400
#: How long to skip the history endpoint after it answered 404 (older servers).
_RETRY_UNAVAILABLE = timedelta(days=7)


def _weeks(body: Any) -> list[dict[str, Any]]:
    """The compact weeks kept for a 304: ``{week, total, days}``."""
    if not isinstance(body, list):
        return []
    return [
        {"week": w.get("week"), "total": w.get("total"), "days": w.get("days")}
        for w in body
        if isinstance(w, dict) and isinstance(w.get("week"), int | float)
    ]


def _daily(weeks: list[dict[str, Any]]) -> tuple[dict[date, int], set[date]]:
    """Stars per day, and every day the weeks cover (a day in it with no stars is a 0)."""
    counts: dict[date, int] = {}
    covered: set[date] = set()
    for w in weeks:
        start = datetime.fromtimestamp(float(w["week"]), UTC)
        days = w.get("days")
        if not isinstance(days, list) or len(days) != 7:
            days = [int(w.get("total") or 0), 0, 0, 0, 0, 0, 0]
        for i, n in enumerate(days):
            d = (start + timedelta(days=i)).date()
            covered.add(d)
            if n:
                counts[d] = counts.get(d, 0) + int(n)
    return counts, covered


def _existing(ctx: RepoContext, method: str) -> dict[date, int]:
    rows = scope_rows(
        ctx.lake,
        "star_history",
        source=ctx.source,
        scope=ctx.scope,
        sql="SELECT day, stars_gained FROM t WHERE method = ?",
        params=[method],
    )
    return {d: int(n) for d, n in rows}


def _write_changes(
    ctx: RepoContext,
    method: str,
    counts: dict[date, int],
    covered: set[date],
    *,
    truncated: bool = False,
) -> None:
    """Write the days whose count differs from the lake's (days that went to 0 get a 0)."""
    old = _existing(ctx, method)
    days = {d for d, n in counts.items() if old.get(d) != n}
    days |= {d for d, n in old.items() if n and d in covered and not counts.get(d)}
    rows = [
        {
            "repo": ctx.repo,
            "method": method,
            "stars_gained": counts.get(d, 0),
            "stars_cumulative": None,
            "stars_still_held": True,
            "span_days": 1,
            "truncated": truncated,
            "observed_at": ctx.now,
            "day": d,
        }
        for d in sorted(days)
    ]
    ctx.run.wrote(
        "star_history",
        write_rows(ctx.lake, "star_history", rows, source=ctx.source, scope=ctx.scope),
    )


def _history(ctx: RepoContext, state: dict[str, Any], stars: int) -> bool:
    """The history endpoint; ``False`` when it is unavailable here."""
    path = f"{ctx.path}/stargazers/history"
    headers = {"X-GitHub-Api-Version": HISTORY_API_VERSION}
    ctx.run.read(path)
    try:
        first = ctx.session.get(
            path, params={"per_page": 30}, headers=headers, cache=ctx.cache, keep=_weeks
        )
    except (RemoteNotFoundError, AuthError) as exc:
        if isinstance(exc, AuthError) and exc.status != 403:
            raise
        until = (ctx.now + _RETRY_UNAVAILABLE).isoformat()
        ctx.cache.save(state={"stars": {**state, "history_unavailable_until": until}})
        return False
    if first.not_modified and state.get("history_stars") == stars:
        ctx.cache.save([first.entry])
        return True  # no new star, and the count says none was taken back either
    if not first.not_modified and not _weeks(first.body):
        return False  # an empty history is "unavailable", not "zero stars"
    pages = [first]
    stopped: BudgetExhaustedError | RateLimitedError | None = None
    try:
        while pages[-1].next_url:
            pages.append(
                ctx.session.get(pages[-1].next_url, headers=headers, cache=ctx.cache, keep=_weeks)
            )
    except (BudgetExhaustedError, RateLimitedError) as exc:
        stopped = exc
    weeks = [w for p in pages for w in (p.body if p.not_modified else _weeks(p.body)) or []]
    counts, covered = _daily(weeks)
    _write_changes(ctx, "history_endpoint", counts, covered)
    done = {"history_stars": stars if stopped is None else None, "history_unavailable_until": None}
    ctx.cache.save([p.entry for p in pages], state={"stars": {**state, **done}})
    if stopped is not None:
        raise stopped
    return True


def _listing(ctx: RepoContext, state: dict[str, Any], stars: int) -> None:
    """The ``starred_at`` listing (admins and collaborators), up to GitHub's 400-page cap."""
    if state.get("listing_stars") == stars:
        return  # same count as at the last full listing: nothing to re-read
    path = f"{ctx.path}/stargazers"
    ctx.run.read(path)
    headers = {"Accept": "application/vnd.github.star+json"}
    counts: dict[date, int] = {}
    truncated = False
    pages = 0
    try:
        for page in ctx.session.pages(path, params={"per_page": 100}, headers=headers):
            pages += 1
            for item in page.body or []:
                when = parse_time(item.get("starred_at")) if isinstance(item, dict) else None
                if when is not None:
                    counts[day_of(when)] = counts.get(day_of(when), 0) + 1
            if pages >= LISTING_PAGE_CAP and page.next_url:
                truncated = True
                break
    except RequestRejectedError:
        truncated = True  # "pagination is limited for this resource" (422) past the cap
    except (AuthError, RemoteNotFoundError) as exc:
        # Since 2026-06 only admins and collaborators may list stargazers: say so, keep going.
        ctx.run.result.message = f"no starred_at listing ({str(exc).split(';')[0]})"
        return
    covered = set(counts) | set(_existing(ctx, "starred_at_listing"))
    _write_changes(ctx, "starred_at_listing", counts, covered, truncated=truncated)
    ctx.cache.save(state={"stars": {**state, "listing_stars": stars}})


def collect_stars(ctx: RepoContext, repo: dict[str, Any], *, listing: str = "auto") -> None:
    """Star history from the history endpoint, else from the listing where the token may.

    Args:
        ctx: the repository being collected.
        repo: its repository object (``stargazers_count``, ``permissions``).
        listing: ``auto`` (when the history endpoint is unavailable and the token is an admin
            or collaborator), ``always`` or ``never``.

    Raises:
        BudgetExhaustedError, RateLimitedError: after committing the pages read.
    """
    state = ctx.cache.state("stars")
    stars = int(repo.get("stargazers_count") or 0)
    skip_until = parse_time(state.get("history_unavailable_until"))
    available = False
    if skip_until is None or ctx.now >= skip_until:
        available = _history(ctx, state, stars)
        state = ctx.cache.state("stars")
    permissions = repo.get("permissions") or {}
    may_list = any(permissions.get(k) for k in ("admin", "maintain", "push"))
    if listing == "always" or (listing == "auto" and not available and may_list):
        _listing(ctx, state, stars)


def snapshot_diff_row(ctx: RepoContext, stars: int) -> dict[str, Any] | None:
    """Today's observed net change against the previous snapshot (``None``: no earlier one)."""
    today = ctx.now.date()
    prev = scope_rows(
        ctx.lake,
        "repo_snapshots",
        source=ctx.source,
        scope=ctx.scope,
        sql="SELECT day, stars FROM t WHERE day < ? ORDER BY day DESC LIMIT 1",
        params=[today],
    )
    if not prev:
        return None
    day, before = prev[0]
    return {
        "repo": ctx.repo,
        "method": "snapshot_diff",
        "stars_gained": stars - int(before),
        "stars_cumulative": stars,
        "stars_still_held": False,
        "span_days": (today - day).days,
        "truncated": False,
        "observed_at": ctx.now,
        "day": today,
    }
