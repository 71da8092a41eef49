"""What GitHub's answers mean: which limit was hit, and what to fix when access is refused.

Primary and secondary limits both answer **403 or 429**, so the status alone says nothing
(docs: "rate limits for the REST API"; shared/notes/data-sources.md section 2.4):

* ``x-ratelimit-remaining: 0`` and no secondary-limit message: the **primary** (hourly) limit;
  wait until ``x-ratelimit-reset``.
* a message about a *secondary rate limit* (older: *abuse detection*), or a 429 without
  ``remaining: 0``: a **secondary** limit, even with requests remaining; wait ``retry-after``
  seconds when given, else until the reset when remaining is 0, else 60 s doubling per repeat,
  and give up after a few (hammering on can get an integration banned).
* any other 403 is a permission problem: SSO (``x-github-sso``), a missing scope
  (``x-accepted-oauth-scopes`` vs ``x-oauth-scopes``), a fine-grained token or App permission,
  a policy; each gets a message saying what to change.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from codex_metrics.collectors._cache import public_url
from codex_metrics.collectors._limits import RunStats, Wait, bucket_from_headers
from codex_metrics.errors import (
    AuthError,
    CollectorError,
    RateLimitedError,
    RemoteNotFoundError,
    RequestRejectedError,
)

__all__ = ["GitHubPolicy", "github_error"]

#: Secondary limits in a row before giving up.
MAX_SECONDARY_WAITS = 5
_PERMISSIONS_DOC = "docs/collectors.md lists the permission each source needs"


def _message(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("message") or "").strip()
    return ""


def _scopes(value: str | None) -> set[str]:
    return {s.strip() for s in (value or "").split(",") if s.strip()}


def _at(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC")


def github_error(response: httpx.Response, body: Any) -> CollectorError:
    """The error for a GitHub 4xx that is not a rate limit, saying what to fix."""
    status = response.status_code
    url = public_url(response.request.url, drop_query=True)
    message = _message(body)
    said = f"{status} {message}".strip()
    sent_token = "authorization" in response.request.headers
    lower = message.lower()
    if status == 401:
        if sent_token:
            return AuthError(
                f"GitHub rejected the credentials ({said}): the token is wrong, expired or "
                "revoked; create a new one and set GITHUB_TOKEN, or check the GitHub App's id "
                "and private key",
                url=url,
                status=status,
            )
        return AuthError(
            f"GitHub needs credentials here ({said}); set GITHUB_TOKEN or configure a GitHub "
            "App ([github] app_id and GITHUB_APP_PRIVATE_KEY)",
            url=url,
            status=status,
        )
    if status == 403:
        sso = response.headers.get("x-github-sso", "")
        if sso:
            link = sso.partition("url=")[2].strip()
            where = f" at {link}" if link else " (Settings > Developer settings > Tokens > SSO)"
            return AuthError(
                f"the organisation enforces SAML single sign-on and this token is not "
                f"authorised for it ({said}); authorise the token{where}, then run again",
                url=url,
                status=status,
            )
        needed = _scopes(response.headers.get("x-accepted-oauth-scopes"))
        granted = response.headers.get("x-oauth-scopes")
        if needed and granted is not None and not needed & _scopes(granted):
            return AuthError(
                f"the token lacks the scope {' or '.join(sorted(needed))} (it has "
                f"{granted.strip() or 'none'}; {said}); add the scope to the token or use one "
                "that has it",
                url=url,
                status=status,
            )
        if "personal access token" in lower:
            return AuthError(
                f"the fine-grained token lacks a permission for this endpoint ({said}); grant "
                f"it read access ({_PERMISSIONS_DOC})",
                url=url,
                status=status,
            )
        if "integration" in lower:
            return AuthError(
                f"the GitHub App lacks a permission for this endpoint ({said}); add it to the "
                f"App and accept it on the installation ({_PERMISSIONS_DOC})",
                url=url,
                status=status,
            )
        if "polic" in lower or "disabled" in lower:
            return AuthError(
                f"a policy blocks this endpoint ({said}); an enterprise or organisation owner "
                "must enable it (for Copilot metrics: the 'Copilot usage metrics' policy set "
                "to Enabled everywhere)",
                url=url,
                status=status,
            )
        return AuthError(
            f"GitHub refused access ({said}); the account behind the token needs a role or "
            f"permission it lacks ({_PERMISSIONS_DOC})",
            url=url,
            status=status,
        )
    if status == 404:
        hint = (
            "check the name; private repositories and organisation data also answer 404 when "
            "the token may not see them (a classic token needs repo or read:org, a "
            "fine-grained one access to that resource)"
        )
        if not sent_token:
            hint += "; no token was sent: set GITHUB_TOKEN"
        return RemoteNotFoundError(f"not found ({said}); {hint}", url=url, status=status)
    if status in (400, 422):
        details = ""
        if isinstance(body, dict) and isinstance(body.get("errors"), list):
            parts = [
                ", ".join(f"{k}={v}" for k, v in e.items()) if isinstance(e, dict) else str(e)
                for e in body["errors"]
            ]
            details = f" [{'; '.join(parts)}]"
        return RequestRejectedError(
            f"GitHub refused the request as sent ({said}{details}); check the arguments "
            "(names, dates, query syntax)",
            url=url,
            status=status,
        )
    return CollectorError(f"unexpected answer from GitHub ({said})", url=url, status=status)


class GitHubPolicy:
    """GitHub REST limits and errors (one instance per run: it counts secondary limits)."""

    def __init__(self) -> None:
        self.secondary_in_a_row = 0

    def bucket_for(self, url: httpx.URL) -> str:
        """``code_search``, ``search``, ``graphql`` or ``core`` by the URL's path."""
        path = url.path
        if "/search/code" in path:
            return "code_search"
        if "/search/" in path:
            return "search"
        return "graphql" if path.endswith("/graphql") else "core"

    def pause_before(self, url: httpx.URL, now: datetime, stats: RunStats) -> Wait | None:
        """Wait for the reset before sending to a bucket known to be empty (saves a 403)."""
        bucket = stats.buckets.get(self.bucket_for(url))
        if bucket is None or not bucket.exhausted(now) or bucket.reset_at is None:
            return None
        return Wait(
            (bucket.reset_at - now).total_seconds() + 1,
            RateLimitedError(
                f"GitHub {bucket.resource} rate limit used up ({bucket.limit} per window); it "
                f"resets at {_at(bucket.reset_at)}: run again after that (rows so far are kept)",
                url=public_url(url, drop_query=True),
                reset_at=bucket.reset_at,
                resource=bucket.resource,
            ),
        )

    def judge(
        self, response: httpx.Response, body: Any, now: datetime, stats: RunStats
    ) -> Wait | CollectorError | None:
        """Record the bucket; a wait for a rate limit, an error for other 4xx, else ``None``."""
        url = response.request.url
        bucket = bucket_from_headers(response.headers, self.bucket_for(url))
        if bucket is not None:
            stats.observe(bucket)
        status = response.status_code
        if status < 400:
            self.secondary_in_a_row = 0
            return None
        if status in (403, 429):
            limit = self._rate_limit(response, body, now, bucket)
            if limit is not None:
                return limit
        return github_error(response, body)

    def _rate_limit(
        self, response: httpx.Response, body: Any, now: datetime, bucket: Any
    ) -> Wait | CollectorError | None:
        lower = _message(body).lower()
        secondary = "secondary rate limit" in lower or "abuse" in lower
        remaining = bucket.remaining if bucket is not None else None
        reset = bucket.reset_at if bucket is not None else None
        resource = bucket.resource if bucket is not None else self.bucket_for(response.request.url)
        url = public_url(response.request.url, drop_query=True)
        retry_after = response.headers.get("retry-after", "").strip()
        if not secondary and remaining == 0:
            reset = reset or now + timedelta(seconds=60)
            return Wait(
                max((reset - now).total_seconds(), 0) + 1,
                RateLimitedError(
                    f"GitHub {resource} rate limit used up ({bucket.limit} per window); it "
                    f"resets at {_at(reset)}: run again after that, or allow a longer wait "
                    "(max_wait_seconds); rows so far are kept",
                    url=url,
                    reset_at=reset,
                    resource=resource,
                    status=response.status_code,
                ),
            )
        if not secondary and response.status_code == 403:
            return None  # a permission problem, not a limit
        self.secondary_in_a_row += 1
        if retry_after.isdigit():
            seconds = float(retry_after)
        elif remaining == 0 and reset is not None:
            seconds = max((reset - now).total_seconds(), 0) + 1
        else:
            seconds = 60.0 * 2 ** (self.secondary_in_a_row - 1)
        resume = now + timedelta(seconds=seconds)
        error = RateLimitedError(
            f"GitHub secondary rate limit ({response.status_code}"
            f"{', retry-after ' + retry_after + ' s' if retry_after else ''}): too many "
            f"requests in a short time; run again after {_at(resume)} (rows so far are kept)",
            url=url,
            reset_at=resume,
            resource=resource,
            secondary=True,
            status=response.status_code,
        )
        if self.secondary_in_a_row > MAX_SECONDARY_WAITS:
            return error
        return Wait(seconds, error)
