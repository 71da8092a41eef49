"""GitHub items as rows of ``repo_snapshots``, ``issues`` and ``issue_comments``.

Field by field as the table docs in ``lake/tables_sources.py`` say: logins become pseudonyms,
bodies are never read, ``watchers`` is ``subscribers_count`` (``watchers_count`` equals stars),
a PR is an issue with a ``pull_request`` object, and each comment row carries the issue or PR
number parsed from its URL. Fields a server does not send (older GitHub Enterprise Server:
no ``type``, no ``reactions``) become nulls; fields it adds are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from codex_metrics.collectors._cache import HttpCache
from codex_metrics.collectors._http import ApiSession
from codex_metrics.collectors._rows import Pseudonym, day_of, is_bot, parse_time, require
from codex_metrics.collectors._run import TargetRun
from codex_metrics.lake import Lake

__all__ = [
    "REPO_FIELDS",
    "RepoContext",
    "comment_row",
    "issue_row",
    "keep_repo",
    "review_row",
    "snapshot_row",
]

#: The repository fields kept in the cache, so a 304 still yields the day's snapshot.
REPO_FIELDS = (
    "id full_name stargazers_count forks_count subscribers_count open_issues_count size "
    "default_branch archived pushed_at permissions"
).split()


@dataclass
class RepoContext:
    """Everything collecting one repository needs.

    Attributes:
        repo: GitHub's ``full_name`` (the ``repo`` column).
        scope: the lake scope, ``owner/name`` lower-cased (names are case-insensitive, so
            ``Owner/Repo`` and ``owner/repo`` never make two copies).
        path: the API path of the repository (``repos/owner/name``).
    """

    lake: Lake
    session: ApiSession
    cache: HttpCache
    run: TargetRun
    repo: str
    scope: str
    path: str
    pseudonym: Pseudonym
    now: datetime
    source: str = "github"


def _author(user: Any, pseudonym: Pseudonym) -> tuple[str | None, bool]:
    if not isinstance(user, dict) or not user.get("login"):
        return None, False  # a deleted account ("ghost") or no user object
    return pseudonym(str(user["login"])), is_bot(user)


def _association(value: Any) -> str | None:
    return str(value).lower() if value else None


def _number_from(url: Any) -> int | None:
    tail = str(url or "").rstrip("/").rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None


def issue_row(item: dict[str, Any], repo: str, pseudonym: Pseudonym, url: str) -> dict[str, Any]:
    """One ``issues`` row from an item of ``/repos/{o}/{r}/issues``."""
    created = parse_time(require(item, "created_at", url))
    assert created is not None
    pr = item.get("pull_request")
    author, bot = _author(item.get("user"), pseudonym)
    reactions: dict[str, Any] = item.get("reactions") or {}
    if not isinstance(reactions, dict):
        reactions = {}
    kind = item.get("type")
    labels = [
        str(label.get("name")) if isinstance(label, dict) else str(label)
        for label in item.get("labels") or []
    ]
    return {
        "repo": repo,
        "number": int(require(item, "number", url)),
        "is_pull_request": isinstance(pr, dict),
        "state": str(require(item, "state", url)),
        "state_reason": item.get("state_reason"),
        "title": str(item.get("title") or ""),
        "author": author,
        "author_is_bot": bot,
        "author_association": _association(item.get("author_association")),
        "created_at": created,
        "updated_at": parse_time(require(item, "updated_at", url)),
        "closed_at": parse_time(item.get("closed_at")),
        "merged_at": parse_time(pr.get("merged_at")) if isinstance(pr, dict) else None,
        "is_draft": item.get("draft") if isinstance(pr, dict) else None,
        "labels": labels,
        "issue_type": kind.get("name") if isinstance(kind, dict) else None,
        "reactions_total": reactions.get("total_count"),
        "reactions_plus_one": reactions.get("+1"),
        "comments": int(item.get("comments") or 0),
        "day": day_of(created),
    }


def comment_row(
    item: dict[str, Any], repo: str, pseudonym: Pseudonym, url: str, *, kind: str
) -> dict[str, Any] | None:
    """One ``issue_comments`` row from an issue comment or a PR review comment.

    Returns ``None`` for a comment whose issue number cannot be read from its URL.
    """
    link = item.get("issue_url") if kind == "comment" else item.get("pull_request_url")
    number = _number_from(link)
    if number is None:
        return None
    created = parse_time(require(item, "created_at", url))
    assert created is not None
    author, bot = _author(item.get("user"), pseudonym)
    return {
        "repo": repo,
        "issue_number": number,
        "comment_id": int(require(item, "id", url)),
        "kind": kind,
        "author": author,
        "is_bot": bot,
        "author_association": _association(item.get("author_association")),
        "review_state": None,
        "created_at": created,
        "updated_at": parse_time(item.get("updated_at")),
        "day": day_of(created),
    }


def review_row(
    item: dict[str, Any], repo: str, number: int, pseudonym: Pseudonym, url: str
) -> dict[str, Any] | None:
    """One ``issue_comments`` row (kind ``review``) from ``/pulls/{n}/reviews``; pending: None."""
    submitted = parse_time(item.get("submitted_at"))
    if submitted is None:
        return None  # a pending review has not been given yet
    author, bot = _author(item.get("user"), pseudonym)
    state = item.get("state")
    return {
        "repo": repo,
        "issue_number": number,
        "comment_id": int(require(item, "id", url)),
        "kind": "review",
        "author": author,
        "is_bot": bot,
        "author_association": _association(item.get("author_association")),
        "review_state": str(state).lower() if state else None,
        "created_at": submitted,
        "updated_at": None,
        "day": day_of(submitted),
    }


def snapshot_row(
    repo: dict[str, Any],
    observed_at: datetime,
    *,
    url: str,
    open_prs: int | None,
) -> dict[str, Any]:
    """The day's ``repo_snapshots`` row from a repository object (fresh or from the cache)."""
    open_all = int(require(repo, "open_issues_count", url))
    return {
        "repo": str(require(repo, "full_name", url)),
        "repo_id": int(require(repo, "id", url)),
        "observed_at": observed_at,
        "stars": int(require(repo, "stargazers_count", url)),
        "forks": int(require(repo, "forks_count", url)),
        "watchers": repo.get("subscribers_count"),
        "open_issues_and_prs": open_all,
        "open_issues": open_all - open_prs if open_prs is not None else None,
        "open_prs": open_prs,
        "size_kb": int(repo.get("size") or 0),
        "default_branch": str(repo.get("default_branch") or ""),
        "archived": bool(repo.get("archived")),
        "pushed_at": parse_time(repo.get("pushed_at")),
        "day": day_of(observed_at),
    }


def keep_repo(body: Any) -> dict[str, Any]:
    """The repository fields worth keeping for a 304."""
    return {k: body.get(k) for k in REPO_FIELDS} if isinstance(body, dict) else {}
