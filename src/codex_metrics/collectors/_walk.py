"""Incremental walks of newest-first listings: only what changed, safe to interrupt.

A listing sorted newest first (issues by ``updated``, comments by ``created``, ``direction=
desc``) puts every change at the top of page 1. So each run asks for page 1 conditionally: a
304 means nothing changed and costs no rate limit. Otherwise it reads pages while every item is
at least the *cursor* (the newest sort value already in the lake), and stops at the first older
one; if a whole page is new and the listing supports ``since``, it switches to the
``since=cursor`` listing, which the server bounds. The first run has no cursor and reads
everything.

Newest first is also what makes concurrent edits harmless: an item updated during the walk
jumps to page 1, shifting the rest down, so the walk sees some items twice (rows merge by key)
and misses none; the moved item is newer than the cursor and the next run picks it up.

A walk stopped by the request budget or a rate limit commits the rows it has, and saves where
it stopped (``resume``: the next page's URL, the cursor it walks down to, the newest value it
saw); the next run finishes that walk first. The state is saved with the cache, after the
commit, so a kill before the commit only repeats work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from codex_metrics.collectors._cache import CacheEntry, HttpCache
from codex_metrics.collectors._http import ApiResponse, ApiSession
from codex_metrics.errors import BudgetExhaustedError, RateLimitedError, ResponseFormatError

__all__ = ["Listing", "WalkResult", "walk_listing"]


@dataclass(frozen=True)
class Listing:
    """A newest-first listing.

    Attributes:
        name: the state's name in the cache file (``issues``, ``comments``, ...).
        path: the API path.
        params: its query parameters (sort, ``direction=desc``, ``per_page=100``).
        sort_field: the item field the listing is sorted by (ISO timestamps).
        key_field: the item field that identifies an item (``number``, ``id``).
        since: whether the endpoint takes ``since`` (filtering on ``updated_at``).
        headers: extra request headers.
    """

    name: str
    path: str
    params: Mapping[str, Any]
    sort_field: str
    key_field: str = "id"
    since: bool = True
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class WalkResult:
    """Items read by one walk, and what to save after they are committed."""

    items: list[dict[str, Any]] = field(default_factory=list)
    entries: list[CacheEntry | None] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    unchanged: bool = False
    stopped: BudgetExhaustedError | RateLimitedError | None = None


def _items(response: ApiResponse) -> list[dict[str, Any]]:
    body = response.body
    if response.not_modified:
        return []
    if not isinstance(body, list):
        raise ResponseFormatError(
            f"expected a JSON array of items, got {type(body).__name__}", url=response.url
        )
    return [i for i in body if isinstance(i, dict)]


class _Walker:
    """Reads pages, remembering where it is so a stop can be resumed."""

    def __init__(self, session: ApiSession, cache: HttpCache, listing: Listing) -> None:
        self.session, self.cache, self.listing = session, cache, listing
        self.result = WalkResult()
        self.high: str | None = None
        self.pending: str | None = None  # the URL being fetched (where a stop resumes)
        self.floor: str | None = None  # the chain being read stops below this
        self.known: set[Any] = set()  # items at the floor already in the lake, unchanged
        self.top: set[Any] = set()  # items seen at ``high``
        self.bounded = False  # the chain is a since= listing: read it to the end

    def get(
        self, url: str, params: Mapping[str, Any] | None = None, *, check: bool = False
    ) -> ApiResponse:
        """Fetch a page; only the check page (page 1) is asked conditionally.

        A 304 deeper in a listing would carry no items, and a resumed walk needs them.
        """
        self.pending = url if params is None else str(self.session.url(url, params))
        response = self.session.get(
            url,
            params=params,
            headers=self.listing.headers,
            cache=self.cache if check else None,
        )
        self.pending = None
        return response

    def take(self, response: ApiResponse) -> bool:
        """Keep the page's items at or above the floor; whether the next page is needed."""
        self.result.entries.append(response.entry)
        items = _items(response)
        key, ident = self.listing.sort_field, self.listing.key_field
        for item in items:
            value = item.get(key)
            if not isinstance(value, str):
                raise ResponseFormatError(f"an item lacks {key!r}", url=response.url)
            if self.high is None or value > self.high:
                self.high, self.top = value, set()
            if value == self.high:
                self.top.add(item.get(ident))
        floor = None if self.bounded else self.floor
        # An item exactly at the floor is new unless the last walk stored it with that value
        # (two updates within one second must not be lost; one seen twice must not be rewritten).
        new = [
            i
            for i in items
            if floor is None
            or i[key] > floor
            or (i[key] == floor and i.get(ident) not in self.known)
        ]
        self.result.items.extend(new)
        return bool(items) and len(new) == len(items)

    def chain(self, response: ApiResponse) -> None:
        """Take ``response`` and the pages after it while they are still needed."""
        while self.take(response) and response.next_url:
            response = self.get(response.next_url)


def walk_listing(session: ApiSession, cache: HttpCache, listing: Listing) -> WalkResult:
    """Walk ``listing`` incrementally; see the module docstring.

    Never raises for a budget or rate-limit stop: the result carries ``stopped`` and a state
    that resumes. Other errors propagate (and nothing is saved).
    """
    state = cache.state(listing.name)
    cursor: str | None = state.get("cursor")
    resume: dict[str, Any] | None = state.get("resume")
    at_cursor = set(state.get("at_cursor") or [])
    w = _Walker(session, cache, listing)
    try:
        if resume:  # finish the interrupted walk first, down to its own floor
            w.high, w.floor, w.bounded = (
                resume.get("high"),
                resume.get("floor"),
                bool(resume.get("bounded")),
            )
            w.known = at_cursor if w.floor == cursor else set()
            w.chain(w.get(resume["url"]))
            at_cursor = _at(cursor, at_cursor, w)
            cursor = _newest(cursor, w.high)
            resume = None
        w.floor, w.bounded, w.known = cursor, False, at_cursor
        first = w.get(listing.path, listing.params, check=True)
        if first.not_modified:
            w.result.unchanged = not w.result.items
            w.result.entries.append(first.entry)
        elif w.take(first) and first.next_url:
            if cursor is not None and listing.since:
                # more than a page changed: let the server bound the rest with since=cursor
                w.bounded = True
                w.chain(w.get(listing.path, {**listing.params, "since": cursor}))
            else:
                w.chain(w.get(first.next_url))
        w.result.state = {
            "cursor": _newest(cursor, w.high),
            "at_cursor": sorted(_at(cursor, at_cursor, w), key=str),
            "resume": None,
        }
    except (BudgetExhaustedError, RateLimitedError) as exc:
        w.result.stopped = exc
        if w.pending is not None and w.high is not None:
            w.result.state = {
                "cursor": cursor,
                "at_cursor": sorted(at_cursor, key=str),
                "resume": {
                    "url": w.pending,
                    "floor": w.floor,
                    "high": w.high,
                    "bounded": w.bounded,
                },
            }
        else:  # stopped before the walk read anything: keep the state as it was
            w.result.state = dict(state)
    return w.result


def _at(cursor: str | None, at_cursor: set[Any], w: _Walker) -> set[Any]:
    """The items stored at the new cursor: the walk's newest, plus the old ones if it held."""
    if w.high is None or (cursor is not None and w.high < cursor):
        return at_cursor
    if w.high == cursor:
        return at_cursor | w.top
    return set(w.top)


def _newest(a: str | None, b: str | None) -> str | None:
    return max((v for v in (a, b) if v is not None), default=None)
