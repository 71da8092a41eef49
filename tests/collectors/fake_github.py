"""A fake GitHub that replays recorded objects with GitHub's own listing rules.

It serves the recorded repository object, the recorded issues (PyGithub's 2024 page, with PRs,
and its 2025 page, with issue types and labels) and the synthetic comments and star history,
and behaves as api.github.com does: ``state``/``sort``/``direction``/``since`` filtering,
``per_page``/``page`` with ``Link`` headers in the numeric ``/repositories/{id}/...`` form,
weak ETags with ``If-None-Match`` answered 304 (which costs no rate limit), and the
``x-ratelimit-*`` headers of a 5,000-an-hour token. The same ``handle`` is a
``httpx.MockTransport`` handler and, through :func:`serve`, a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from . import recordings

Fault = Callable[[httpx.Request], httpx.Response | None]


def recorded_repo() -> dict[str, Any]:
    return copy.deepcopy(recordings.github("repo_get_authenticated_2024.json")[0].body)


def recorded_issues() -> list[dict[str, Any]]:
    items = {i["number"]: i for i in recordings.github("issues_page1.json")[0].body}
    for ex in recordings.pygithub("Repository.testGetIssuesWithTypeWildcard.txt"):
        for i in ex.body:
            items.setdefault(i["number"], i)
    return copy.deepcopy(list(items.values()))


@dataclass
class FakeGitHub:
    """One repository's world plus faults to inject; counts what it served."""

    repo: dict[str, Any] = field(default_factory=recorded_repo)
    issues: list[dict[str, Any]] = field(default_factory=recorded_issues)
    comments: list[dict[str, Any]] = field(default_factory=list)
    review_comments: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] | None = None
    faults: list[Fault] = field(default_factory=list)
    log: list[httpx.Request] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    remaining: int = 5000
    reset: int = 1795000000
    extra: dict[str, Callable[[httpx.Request], httpx.Response]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.comments and not self.review_comments:
            doc = recordings.synthetic("synthetic-comments.json")
            self.comments, self.review_comments = doc["comments"], doc["review_comments"]
        if self.history is None:
            self.history = recordings.synthetic("synthetic-stargazers-history.json")["weeks"]
        self.lock = threading.Lock()

    # -- serving -----------------------------------------------------------------------------
    def handle(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.log.append(request)
            for fault in list(self.faults):
                answer = fault(request)
                if answer is not None:
                    self.statuses.append(answer.status_code)
                    return answer
            answer = self._route(request)
            self.statuses.append(answer.status_code)
            return answer

    def _headers(self, resource: str = "core") -> dict[str, str]:
        return {
            "Content-Type": "application/json; charset=utf-8",
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
            "X-RateLimit-Used": str(5000 - self.remaining),
            "X-RateLimit-Resource": resource,
        }

    def _json(self, request: httpx.Request, body: Any, links: str | None = None) -> httpx.Response:
        content = json.dumps(body, sort_keys=True).encode()
        etag = f'W/"{hashlib.sha256(content + (links or "").encode()).hexdigest()}"'
        if request.headers.get("if-none-match") == etag:
            headers = self._headers()
            headers["ETag"] = etag
            return httpx.Response(304, headers=headers, request=request)
        self.remaining -= 1
        headers = self._headers()
        headers["ETag"] = etag
        if links:
            headers["Link"] = links
        return httpx.Response(200, headers=headers, content=content, request=request)

    def _page(self, request: httpx.Request, items: list[Any], numeric_path: str) -> httpx.Response:
        params = request.url.params
        per_page = min(int(params.get("per_page", "30")), 100)
        page = int(params.get("page", "1"))
        last = max((len(items) + per_page - 1) // per_page, 1)
        chunk = items[(page - 1) * per_page : page * per_page]
        base = request.url.copy_with(path=numeric_path, query=None)
        kept = [(k, v) for k, v in params.multi_items() if k != "page"]

        def link(n: int, rel: str) -> str:
            return f'<{base.copy_with(params=[*kept, ("page", str(n))])}>; rel="{rel}"'

        rels = []
        if page > 1:
            rels.append(link(page - 1, "prev"))
        if page < last:
            rels += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            rels.append(link(1, "first"))
        return self._json(request, chunk, ", ".join(rels) or None)

    def _route(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        for prefix, handler in self.extra.items():
            if path.startswith(prefix):
                return handler(request)
        rid = self.repo["id"]
        full = self.repo["full_name"].lower()
        for base in (f"/repos/{full}", f"/repositories/{rid}"):
            if path.lower().startswith(base):
                return self._repo_route(request, path[len(base) :], f"/repositories/{rid}")
        return httpx.Response(
            404,
            json={"message": "Not Found", "documentation_url": "https://docs.github.com/rest"},
            headers=self._headers(),
            request=request,
        )

    def _repo_route(self, request: httpx.Request, rest: str, numeric: str) -> httpx.Response:
        params = request.url.params
        if rest == "":
            return self._json(request, self.repo)
        if rest == "/issues":
            return self._page(request, self._issues(params), numeric + rest)
        if rest == "/issues/comments":
            return self._page(request, self._sorted(self.comments, params), numeric + rest)
        if rest == "/pulls/comments":
            return self._page(request, self._sorted(self.review_comments, params), numeric + rest)
        if rest == "/pulls":
            prs = [i for i in self.issues if "pull_request" in i and i["state"] == "open"]
            return self._page(request, prs, numeric + rest)
        if rest == "/stargazers/history":
            return self._page(request, list(self.history or []), numeric + rest)
        return httpx.Response(404, json={"message": "Not Found"}, request=request)

    def _sorted(self, items: list[dict[str, Any]], params: httpx.QueryParams) -> list[Any]:
        key = "updated_at" if params.get("sort") == "updated" else "created_at"
        since = params.get("since")
        out = [i for i in items if since is None or i["updated_at"] >= since]
        return sorted(out, key=lambda i: i[key], reverse=params.get("direction", "desc") == "desc")

    def _issues(self, params: httpx.QueryParams) -> list[Any]:
        state = params.get("state", "open")
        items = [i for i in self.issues if state == "all" or i["state"] == state]
        return self._sorted(items, params)

    # -- changing the world ------------------------------------------------------------------
    def touch_issue(self, number: int, when: str, **changes: Any) -> None:
        item = next(i for i in self.issues if i["number"] == number)
        item.update(changes, updated_at=when)

    def count(self, status: int) -> int:
        return sum(1 for s in self.statuses if s == status)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGitHub

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._answer("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._answer("POST")

    def _answer(self, method: str) -> None:
        host, port = self.server.server_address[:2]
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        request = httpx.Request(
            method, f"http://{host}:{port}{self.path}", headers=dict(self.headers), content=body
        )
        response = self.fake.handle(request)
        content = response.read()
        self.send_response(response.status_code)
        for name, value in response.headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Quiet(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client killed mid-request (the SIGKILL test) is expected here


class Server:
    """A threading HTTP server on 127.0.0.1 serving a fake's ``handle``."""

    def __init__(self, fake: Any) -> None:
        handler = type("Handler", (_Handler,), {"fake": fake})
        self.httpd = _Quiet(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
