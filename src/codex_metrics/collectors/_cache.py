"""The conditional-request cache: ETag and Last-Modified per URL, kept across runs.

One JSON file per (source, scope) under ``<lake>/.codex-metrics/http-cache/``. An entry holds a
response's validators (``ETag``, ``Last-Modified``), its ``Link`` next/last URLs and, where a
collector needs the content again when the answer is ``304 Not Modified``, a compact payload
(a repository object, a page of star history). The file also holds the collector's small state
for that scope (listing cursors, where an interrupted walk resumes).

The rule that makes an interrupted run safe: entries are **saved only after the rows they
describe are committed** to the lake (:meth:`HttpCache.save` is called after the commit). A run
killed between the download and the commit leaves the old validators, so the next run asks
again and gets the full answer instead of a 304 for rows the lake never received.

Keys never contain credentials: a key is the method, the URL without secret query parameters
(Stack Exchange ``key``, signatures) and the ``Accept`` header.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

__all__ = ["CACHE_DIR", "CacheEntry", "HttpCache", "cache_key", "public_url"]

#: Folder of the cache files inside the lake's hidden folder.
CACHE_DIR = "http-cache"
#: Entries not saved again for this long are dropped when the file is rewritten.
MAX_AGE = timedelta(days=120)
_SECRET_PARAMS = frozenset(
    {"key", "access_token", "sig", "signature", "se", "sp", "sv", "sr", "token", "x-amz-signature",
     "x-amz-credential", "x-amz-security-token", "expires", "skoid", "sktid"}
)  # fmt: skip
_FORMAT_VERSION = 1


def public_url(url: str | httpx.URL, *, drop_query: bool = False) -> str:
    """``url`` without secret query parameters (or without any query): safe to show or store."""
    u = httpx.URL(str(url))
    if drop_query:
        return str(u.copy_with(query=None))
    kept = [(k, v) for k, v in u.params.multi_items() if k.lower() not in _SECRET_PARAMS]
    return str(u.copy_with(params=kept)) if kept else str(u.copy_with(query=None))


def cache_key(url: str | httpx.URL, accept: str | None = None) -> str:
    """The cache key of a GET: the public URL (query sorted) and the media type asked for."""
    u = httpx.URL(public_url(url))
    params = sorted(u.params.multi_items())
    normal = u.copy_with(params=params) if params else u
    return f"GET {normal} {accept or ''}".rstrip()


@dataclass(frozen=True)
class CacheEntry:
    """What a later run needs to ask for one URL conditionally (and to use a 304).

    Attributes:
        key: :func:`cache_key` of the request.
        etag: the ``ETag`` header, sent back verbatim as ``If-None-Match`` (weak ones too).
        last_modified: the ``Last-Modified`` header, sent back as ``If-Modified-Since``.
        next_url: the ``Link`` ``rel="next"`` URL of the page, if any.
        last_url: the ``Link`` ``rel="last"`` URL of the page, if any.
        data: a compact payload the collector asked to keep (``None``: nothing kept).
        stored_at: when the entry was built (ISO UTC), for pruning.
    """

    key: str
    etag: str | None = None
    last_modified: str | None = None
    next_url: str | None = None
    last_url: str | None = None
    data: Any = None
    stored_at: str = ""

    @property
    def validators(self) -> dict[str, str]:
        """The conditional request headers for this entry."""
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


def _safe_name(scope: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", scope.lower()).strip("_") or "_"


class HttpCache:
    """The cache and collector state of one (source, scope); in memory when ``path`` is None.

    Args:
        path: the JSON file (missing: starts empty).
        clock: the run's clock (for ``stored_at`` and pruning).
    """

    def __init__(self, path: Path | None, *, clock: Any = None) -> None:
        self.path = path
        self._clock = clock or (lambda: datetime.now(UTC))
        self._entries: dict[str, CacheEntry] = {}
        self._state: dict[str, Any] = {}
        if path is not None and path.is_file():
            self._load(path)

    @classmethod
    def for_scope(
        cls, hidden_dir: Path, source: str, scope: str, *, clock: Any = None
    ) -> HttpCache:
        """The cache file of (``source``, ``scope``) in a lake's hidden folder."""
        return cls(hidden_dir / CACHE_DIR / source / f"{_safe_name(scope)}.json", clock=clock)

    def _load(self, path: Path) -> None:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            if doc.get("version") != _FORMAT_VERSION:
                return  # an unknown layout: start over (costs one full read, loses nothing)
            self._entries = {k: CacheEntry(**v) for k, v in doc.get("entries", {}).items()}
            self._state = dict(doc.get("state", {}))
        except (OSError, ValueError, TypeError):
            # A damaged cache is only a lost optimisation: the next run asks unconditionally.
            self._entries, self._state = {}, {}

    def get(self, key: str) -> CacheEntry | None:
        """The saved entry for ``key`` (``None``: never saved)."""
        return self._entries.get(key)

    def state(self, name: str) -> dict[str, Any]:
        """A copy of the collector state ``name`` (empty when never saved)."""
        value = self._state.get(name)
        return dict(value) if isinstance(value, dict) else {}

    def entry_for(
        self, key: str, response: httpx.Response, *, data: Any = None
    ) -> CacheEntry | None:
        """The entry to save for a 200 ``response`` (``None`` when it has no validators)."""
        etag = response.headers.get("etag")
        modified = response.headers.get("last-modified")
        if not etag and not modified:
            return None
        links = response.links
        return CacheEntry(
            key=key,
            etag=etag,
            last_modified=modified,
            next_url=links.get("next", {}).get("url"),
            last_url=links.get("last", {}).get("url"),
            data=data,
            stored_at=self._clock().isoformat(),
        )

    def save(
        self,
        entries: Iterable[CacheEntry | None] = (),
        *,
        state: Mapping[str, Mapping[str, Any] | None] | None = None,
    ) -> None:
        """Record entries and state, then write the file atomically.

        Call this only after the rows these responses produced are committed. A state value of
        ``None`` deletes that state.
        """
        for entry in entries:
            if entry is not None:
                self._entries[entry.key] = entry
        for name, value in (state or {}).items():
            if value is None:
                self._state.pop(name, None)
            else:
                self._state[name] = dict(value)
        if self.path is None:
            return
        cutoff = (self._clock() - MAX_AGE).isoformat()
        self._entries = {k: e for k, e in self._entries.items() if e.stored_at >= cutoff}
        doc = {
            "version": _FORMAT_VERSION,
            "entries": {k: asdict(e) for k, e in sorted(self._entries.items())},
            "state": self._state,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(doc, separators=(",", ":"), default=str), encoding="utf-8")
        os.replace(tmp, self.path)
