"""Rate limits, the run's request budget, and what one run spent.

A :class:`ResponsePolicy` says what one API's answers mean (GitHub's primary and secondary
limits, Stack Exchange's backoff and throttles); it answers a limit with a :class:`Wait`.

GitHub counts requests in buckets (``core``, ``search``, ``code_search``, ``graphql``), each with
``x-ratelimit-limit``, ``-remaining``, ``-used``, ``-reset`` (epoch seconds) and ``-resource``
headers; Stack Exchange counts a daily ``quota`` in the body. A :class:`Bucket` keeps the last
figures of one bucket; :class:`RunStats` counts requests, 304s and rate-limit points per run;
:class:`RequestBudget` stops a run after a fixed number of requests (every attempt counts, a 304
too: the budget is about requests, the rate limit about points).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from codex_metrics.errors import BudgetExhaustedError, CollectorError, RateLimitedError

__all__ = [
    "Bucket",
    "RequestBudget",
    "ResponsePolicy",
    "RunStats",
    "Usage",
    "Wait",
    "bucket_from_headers",
]


@dataclass
class Bucket:
    """The last known state of one rate-limit bucket.

    Attributes:
        resource: ``core``, ``search``, ``code_search``, ``graphql`` (GitHub) or ``quota``
            (Stack Exchange).
        limit: requests allowed per window.
        remaining: requests left in the window.
        reset_at: when the window resets (UTC).
    """

    resource: str
    limit: int | None = None
    remaining: int | None = None
    reset_at: datetime | None = None

    def exhausted(self, now: datetime) -> bool:
        """No request left and the reset still ahead."""
        return self.remaining == 0 and self.reset_at is not None and self.reset_at > now


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def bucket_from_headers(headers: Mapping[str, str], default: str) -> Bucket | None:
    """The bucket a GitHub response reports in its ``x-ratelimit-*`` headers (``None``: none)."""
    remaining = _int(headers.get("x-ratelimit-remaining"))
    if remaining is None:
        return None
    reset = _int(headers.get("x-ratelimit-reset"))
    return Bucket(
        resource=headers.get("x-ratelimit-resource") or default,
        limit=_int(headers.get("x-ratelimit-limit")),
        remaining=remaining,
        reset_at=datetime.fromtimestamp(reset, UTC) if reset is not None else None,
    )


class RequestBudget:
    """At most ``limit`` requests per run (``None``: no limit), shared by every source of a run.

    Thread-safe: Copilot report downloads run in parallel.
    """

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def spend(self) -> None:
        """Take one request from the budget.

        Raises:
            BudgetExhaustedError: the budget is spent (the request must not be sent).
        """
        with self._lock:
            if self.limit is not None and self.used >= self.limit:
                raise BudgetExhaustedError(self.used, self.limit)
            self.used += 1

    @property
    def left(self) -> int | None:
        """Requests left (``None``: unlimited)."""
        return None if self.limit is None else max(self.limit - self.used, 0)


@dataclass
class Usage:
    """What part of a run (one target) spent: requests, 304s, rate-limit points, waits."""

    requests: int = 0
    not_modified: int = 0
    points: int = 0
    waited_seconds: float = 0.0

    def add(self, other: Usage) -> None:
        """Add ``other``'s counts to these."""
        self.requests += other.requests
        self.not_modified += other.not_modified
        self.points += other.points
        self.waited_seconds += other.waited_seconds


@dataclass
class RunStats:
    """Counts of a whole run plus the last state of every bucket seen."""

    total: Usage = field(default_factory=Usage)
    buckets: dict[str, Bucket] = field(default_factory=dict)
    _open: list[Usage] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, *, not_modified: bool = False, point: bool = False) -> None:
        """Count one request (and whether it was a free 304, and whether it cost a point)."""
        with self._lock:
            for usage in (self.total, *self._open):
                usage.requests += 1
                usage.not_modified += int(not_modified)
                usage.points += int(point)

    def waited(self, seconds: float) -> None:
        """Count time spent waiting for a rate limit."""
        with self._lock:
            for usage in (self.total, *self._open):
                usage.waited_seconds += seconds

    def observe(self, bucket: Bucket) -> None:
        """Remember the newest state of ``bucket``."""
        with self._lock:
            self.buckets[bucket.resource] = bucket

    @contextmanager
    def measure(self) -> Iterator[Usage]:
        """Count what the block spends (nested blocks all count)."""
        usage = Usage()
        with self._lock:
            self._open.append(usage)
        try:
            yield usage
        finally:
            with self._lock:
                self._open.remove(usage)

    def tightest(self, prefer: Callable[[str], bool] | None = None) -> Bucket | None:
        """The bucket with the fewest requests left (among those ``prefer`` accepts)."""
        known = [
            b
            for b in self.buckets.values()
            if b.remaining is not None and (prefer is None or prefer(b.resource))
        ]
        return min(known, key=lambda b: b.remaining or 0, default=None)


@dataclass(frozen=True)
class Wait:
    """A rate limit answer: wait ``seconds`` and ask again, or stop with ``error`` if too long."""

    seconds: float
    error: RateLimitedError


class ResponsePolicy(Protocol):
    """What one API's responses mean: limits, errors, and which bucket a URL counts in."""

    def bucket_for(self, url: httpx.URL) -> str:
        """The rate-limit bucket a request to ``url`` counts in."""
        ...

    def pause_before(self, url: httpx.URL, now: datetime, stats: RunStats) -> Wait | None:
        """A wait the API asked for before the next request to ``url`` (``None``: go)."""
        ...

    def judge(
        self, response: httpx.Response, body: Any, now: datetime, stats: RunStats
    ) -> Wait | CollectorError | None:
        """Record the response's limits; a wait, an error to raise, or ``None`` when usable."""
        ...
