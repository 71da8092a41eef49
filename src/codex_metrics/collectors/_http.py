"""The one HTTP layer every collector uses: conditional GETs, pagination, limits, retries.

An :class:`ApiSession` wraps an injected :class:`httpx.Client` (tests pass one with
``httpx.MockTransport``) and adds, for one API host:

* credentials from a :class:`~codex_metrics.collectors._auth.TokenSource`, sent **only** to that
  host (a redirect elsewhere, and every :meth:`ApiSession.download`, go without them);
* conditional requests from an :class:`~codex_metrics.collectors._cache.HttpCache`: a ``304``
  comes back as the cached entry and costs no rate limit;
* ``Link``-header pagination (:meth:`ApiSession.pages`);
* rate limits judged by the API's :class:`ResponsePolicy` (GitHub's primary and secondary
  limits, Stack Exchange's backoff and throttle): wait until the reset while the run's waiting
  allowance lasts, else stop with :class:`~codex_metrics.errors.RateLimitedError` naming it;
* jittered exponential retries on 5xx, timeouts, dropped connections and truncated bodies;
* a request budget per run, and a clock and a sleeper that tests replace (no test sleeps).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from codex_metrics.collectors._cache import CacheEntry, HttpCache, cache_key, public_url
from codex_metrics.collectors._limits import RequestBudget, ResponsePolicy, RunStats, Wait
from codex_metrics.errors import CollectorError, ResponseFormatError

__all__ = ["ApiResponse", "ApiSession", "Clock", "Sleeper", "system_clock"]

Clock = Callable[[], datetime]
Sleeper = Callable[[float], None]
_MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def system_clock() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)


@dataclass
class ApiResponse:
    """A usable answer: a fresh 2xx, or a 304 served from the cache entry.

    Attributes:
        url: the URL asked (after redirects), with secret query parameters removed.
        status: the HTTP status (304 for a cached answer).
        body: the parsed JSON (for a 304: the entry's kept ``data``).
        entry: the cache entry to save once the rows it produced are committed.
        not_modified: the answer is a 304.
        next_url: the ``Link`` ``rel="next"`` URL (a 304 uses the one saved with the entry).
        last_url: the ``Link`` ``rel="last"`` URL.
        headers: the response headers.
    """

    url: str
    status: int
    body: Any
    entry: CacheEntry | None = None
    not_modified: bool = False
    next_url: str | None = None
    last_url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


class ApiSession:
    """HTTP for one API host during one run.

    Args:
        client: the :class:`httpx.Client` to send with (injected; tests use ``MockTransport``).
        base_url: the API root, e.g. ``https://api.github.com`` or a GHES ``https://HOST/api/v3``.
        policy: how this API signals limits and errors.
        token: where credentials come from (``None``: anonymous).
        headers: headers sent with every API request (``Accept``, API version, ...).
        budget: the run's request budget, shared across sessions.
        stats: the run's counters, shared across sessions.
        clock: returns the current UTC time.
        sleep: waits (tests pass one that only advances their clock).
        max_wait: seconds of rate-limit waiting the whole run may spend before stopping.
        retries: further attempts after a 5xx, a timeout or a truncated body.
        rng: jitter source (seeded in tests).
    """

    def __init__(
        self,
        client: httpx.Client,
        *,
        base_url: str,
        policy: ResponsePolicy,
        token: Any = None,
        headers: Mapping[str, str] | None = None,
        budget: RequestBudget | None = None,
        stats: RunStats | None = None,
        clock: Clock = system_clock,
        sleep: Sleeper = time.sleep,
        max_wait: float = 900.0,
        retries: int = 4,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.base_url = httpx.URL(base_url.rstrip("/") + "/")
        self.policy = policy
        self.token = token
        self.headers = dict(headers or {})
        self.budget = budget or RequestBudget()
        self.stats = stats or RunStats()
        self.clock = clock
        self.sleep = sleep
        self.max_wait = max_wait
        self.retries = retries
        self.rng = rng or random.Random()

    # -- urls and waiting ------------------------------------------------------------------
    def url(self, path_or_url: str, params: Mapping[str, Any] | None = None) -> httpx.URL:
        """An absolute URL: paths are joined to the API root; ``params`` are added."""
        if "://" in path_or_url:
            u = httpx.URL(path_or_url)
        else:
            u = self.base_url.join(path_or_url.lstrip("/"))
        if params:
            merged = [*u.params.multi_items(), *((k, str(v)) for k, v in params.items())]
            u = u.copy_with(params=merged)
        return u

    def same_origin(self, url: httpx.URL) -> bool:
        """Whether ``url`` is on the API host (the only host credentials are sent to)."""
        return (url.scheme, url.host, url.port) == (
            self.base_url.scheme,
            self.base_url.host,
            self.base_url.port,
        )

    def wait(self, pause: Wait) -> None:
        """Sleep ``pause.seconds`` if the run's waiting allowance covers it, else raise."""
        if self.stats.total.waited_seconds + pause.seconds > self.max_wait:
            raise pause.error
        self.sleep(pause.seconds)
        self.stats.waited(pause.seconds)

    def _backoff(self, attempt: int, retry_after: str | None = None) -> float:
        if retry_after and retry_after.isdigit():
            return float(retry_after)
        return self.rng.uniform(0.5, 1.0) * min(2.0**attempt, 30.0)  # jittered exponential

    # -- requests ---------------------------------------------------------------------------
    def _headers(self, url: httpx.URL, extra: Mapping[str, str]) -> dict[str, str]:
        headers = {**self.headers, **extra}
        if not self.same_origin(url):  # a redirect elsewhere: no credential of ours goes along
            return {k: v for k, v in headers.items() if k.lower() != "authorization"}
        if self.token is not None and "Authorization" not in headers:
            value = self.token.authorization(self)
            if value:
                headers["Authorization"] = value
        return headers

    def _send(
        self, method: str, url: httpx.URL, headers: Mapping[str, str], **kw: Any
    ) -> httpx.Response:
        """One request with redirects followed by hand (credentials never leave the API host)."""
        for _ in range(_MAX_REDIRECTS + 1):
            self.budget.spend()
            response = self.client.request(method, url, headers=self._headers(url, headers), **kw)
            if response.status_code not in _REDIRECTS or "location" not in response.headers:
                return response
            self.stats.count(point=self.same_origin(url))
            url = url.join(response.headers["location"])
            if response.status_code == 303:
                method, kw = "GET", {}
        raise CollectorError("too many redirects", url=public_url(url, drop_query=True))

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        cache: HttpCache | None = None,
        keep: Callable[[Any], Any] | None = None,
        json_body: Any = None,
    ) -> ApiResponse:
        """Send one API request with retries, limits and (for GETs with ``cache``) validators.

        Args:
            method: ``GET`` or ``POST``.
            path_or_url: a path below the API root, or an absolute URL (a ``Link`` URL).
            params: query parameters to add.
            headers: extra headers (``Accept`` for a media type, an API version).
            cache: ask conditionally with this scope's saved validators.
            keep: what of the body to keep for later 304s (default: nothing).
            json_body: a JSON request body (POST).

        Raises:
            RateLimitedError: a limit that would take longer than the waiting allowance.
            BudgetExhaustedError: the run's request budget is spent.
            CollectorError: any other failure, with a message saying what to fix.
        """
        url = self.url(path_or_url, params)
        extra = dict(headers or {})
        key = cache_key(url, extra.get("Accept")) if cache is not None and method == "GET" else None
        saved = cache.get(key) if cache is not None and key is not None else None
        if saved is not None and keep is not None and saved.data is None:
            saved = None  # a 304 would not carry what the caller needs: ask unconditionally
        if saved is not None:
            extra.update(saved.validators)
        failures = 0
        while True:
            pause = self.policy.pause_before(url, self.clock(), self.stats)
            if pause is not None:
                self.wait(pause)
            try:
                response = self._send(method, url, extra, json=json_body)
                content = response.read()
            except httpx.TimeoutException as exc:
                failures += 1
                self.stats.count()
                if failures > self.retries:
                    raise CollectorError(
                        f"timed out {failures} times ({type(exc).__name__}); the server is slow "
                        "or unreachable: try again later",
                        url=public_url(url, drop_query=True),
                    ) from None
                self.sleep(self._backoff(failures))
                continue
            except httpx.TransportError as exc:  # refused, reset, or a body cut short
                failures += 1
                self.stats.count()
                if failures > self.retries:
                    raise CollectorError(
                        f"connection failed {failures} times ({exc}); check the network and "
                        "--api-url",
                        url=public_url(url, drop_query=True),
                    ) from None
                self.sleep(self._backoff(failures))
                continue
            status = response.status_code
            if status == 304 and saved is not None:
                self.stats.count(not_modified=True)
                self.policy.judge(response, None, self.clock(), self.stats)
                fresh = replace(saved, stored_at=self.clock().isoformat())  # seen again today
                return ApiResponse(
                    public_url(url), 304, saved.data, fresh, True, saved.next_url,
                    saved.last_url, response.headers,
                )  # fmt: skip
            try:
                body, bad_json = (json.loads(content) if content.strip() else None), None
            except ValueError as exc:
                body, bad_json = None, exc
            if status >= 500:
                self.stats.count(point=True)
                # Some APIs throttle with a 5xx and a body saying how long to wait.
                verdict = self.policy.judge(response, body, self.clock(), self.stats)
                if isinstance(verdict, Wait):
                    self.wait(verdict)
                    continue
                failures += 1
                if failures > self.retries:
                    raise CollectorError(
                        f"the server answered {status} {failures} times; it may be down "
                        "(see its status page); try again later",
                        url=public_url(url, drop_query=True),
                        status=status,
                    )
                self.sleep(self._backoff(failures, response.headers.get("retry-after")))
                continue
            if bad_json is not None:
                failures += 1
                self.stats.count(point=True)
                if failures > self.retries or status >= 400:
                    raise ResponseFormatError(
                        f"the answer ({status}, {len(content)} bytes) is not complete JSON "
                        f"({bad_json}); a proxy may have cut it short: try again",
                        url=public_url(url, drop_query=True),
                        status=status,
                    ) from None
                self.sleep(self._backoff(failures))
                continue
            self.stats.count(point=True)
            verdict = self.policy.judge(response, body, self.clock(), self.stats)
            if isinstance(verdict, Wait):
                self.wait(verdict)
                continue
            if verdict is not None:
                raise verdict
            entry = None
            if cache is not None and key is not None:
                entry = cache.entry_for(key, response, data=keep(body) if keep else None)
            links = response.links
            return ApiResponse(
                public_url(url),
                status,
                body,
                entry,
                False,
                links.get("next", {}).get("url"),
                links.get("last", {}).get("url"),
                response.headers,
            )

    def get(self, path_or_url: str, **kw: Any) -> ApiResponse:
        """:meth:`request` with ``GET``."""
        return self.request("GET", path_or_url, **kw)

    def pages(
        self,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        cache: HttpCache | None = None,
        keep: Callable[[Any], Any] | None = None,
        max_pages: int | None = None,
    ) -> Iterator[ApiResponse]:
        """The pages of a listing, following ``Link: rel="next"`` (never building page URLs)."""
        response = self.get(path_or_url, params=params, headers=headers, cache=cache, keep=keep)
        yield response
        seen = 1
        while response.next_url and (max_pages is None or seen < max_pages):
            response = self.get(response.next_url, headers=headers, cache=cache, keep=keep)
            seen += 1
            yield response

    # -- downloads --------------------------------------------------------------------------
    def download(self, url: str, dest: Path) -> int:
        """Stream ``url`` into ``dest`` without credentials (signed links carry their own).

        Retries 5xx, timeouts and bodies shorter than their ``Content-Length``.

        Returns:
            Bytes written.

        Raises:
            CollectorError: the download kept failing or the link was refused (expired).
        """
        target = httpx.URL(url) if "://" in url else self.base_url.join(url)
        shown = public_url(target, drop_query=True)
        failures = 0
        while True:
            self.budget.spend()
            self.stats.count()
            tmp = dest.with_name(f".{dest.name}.part")
            try:
                with self.client.stream("GET", target, follow_redirects=True) as response:
                    if response.status_code >= 400:
                        response.read()
                        if response.status_code < 500:
                            raise CollectorError(
                                f"download refused ({response.status_code}); signed links expire "
                                "within minutes: run the command again to get fresh links",
                                url=shown,
                                status=response.status_code,
                            )
                        raise httpx.HTTPStatusError(
                            "server error", request=response.request, response=response
                        )
                    written = 0
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with tmp.open("wb") as fh:
                        for chunk in response.iter_bytes():
                            fh.write(chunk)
                            written += len(chunk)
                    expected = response.headers.get("content-length")
                    plain = "content-encoding" not in response.headers
                    if plain and expected and expected.isdigit() and int(expected) != written:
                        raise httpx.RemoteProtocolError(f"{written} of {expected} bytes")
                tmp.replace(dest)
                return written
            except (httpx.TransportError, httpx.HTTPStatusError) as exc:
                tmp.unlink(missing_ok=True)
                failures += 1
                if failures > self.retries:
                    raise CollectorError(
                        f"download failed {failures} times ({exc}); run the command again",
                        url=shown,
                    ) from None
                self.sleep(self._backoff(failures))
