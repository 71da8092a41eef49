"""Primary and secondary limits in their 403 and 429 forms, and errors that say what to fix."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from codex_metrics.errors import (
    AuthError,
    RateLimitedError,
    RemoteNotFoundError,
    RequestRejectedError,
)

from . import recordings
from .conftest import NOW, FakeClock, SessionFactory

REPO = recordings.github("repo_get.json")[0]
LIMITS = recordings.synthetic("synthetic-rate-limits.json")
FORBIDDEN = recordings.synthetic("synthetic-forbidden.json")
RESET = int(datetime(2026, 11, 26, 6, 20, tzinfo=UTC).timestamp())  # 20 minutes after NOW


def answer(request: httpx.Request, doc: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.Response(
        doc["status"], headers={**doc["headers"], **headers}, json=doc["body"], request=request
    )


def sequence(*steps: Any) -> Any:
    """A handler answering each request with the next step (a dict answer or 'ok')."""
    it: Iterator[Any] = iter(steps)

    def handler(request: httpx.Request) -> httpx.Response:
        step = next(it)
        if step == "ok":
            return REPO.response(request)
        doc, headers = step if isinstance(step, tuple) else (step, {})
        return answer(request, doc, **headers)

    return handler


@pytest.mark.parametrize("form", ["primary_403", "primary_429"])
def test_a_primary_limit_waits_until_the_reset(
    form: str, make_session: SessionFactory, clock: FakeClock
) -> None:
    handler = sequence((LIMITS[form], {"X-RateLimit-Reset": str(RESET)}), "ok")
    assert make_session(handler, max_wait=3600).get("repos/PyGithub/PyGithub").status == 200
    assert clock.sleeps == [20 * 60 + 1]


def test_the_recorded_2013_primary_403_without_a_reset_header_waits_a_minute(
    make_session: SessionFactory, clock: FakeClock
) -> None:
    primary, _ = recordings.github("rate_limit_403_examples.json")
    calls = iter([primary, None])

    def handler(request: httpx.Request) -> httpx.Response:
        recorded = next(calls)
        return recorded.response(request) if recorded else REPO.response(request)

    make_session(handler, token=None).get("users/jacquev6")
    assert clock.sleeps == [61]


def test_a_primary_limit_past_the_waiting_allowance_stops_with_the_reset_time(
    make_session: SessionFactory, clock: FakeClock
) -> None:
    handler = sequence((LIMITS["primary_429"], {"X-RateLimit-Reset": str(RESET)}))
    with pytest.raises(RateLimitedError, match="resets at 2026-11-26 06:20 UTC") as info:
        make_session(handler, max_wait=60).get("repos/PyGithub/PyGithub")
    assert info.value.reset_at == datetime(2026, 11, 26, 6, 20, tzinfo=UTC)
    assert not info.value.secondary and info.value.resource == "core" and clock.sleeps == []


def test_the_recorded_secondary_403_with_retry_after_waits_that_long(
    make_session: SessionFactory, clock: FakeClock
) -> None:
    _, secondary = recordings.github("rate_limit_403_examples.json")
    calls = iter([secondary, None])

    def handler(request: httpx.Request) -> httpx.Response:
        recorded = next(calls)
        return recorded.response(request) if recorded else REPO.response(request)

    make_session(handler).get("search/code", params={"q": "jacquev6"})
    assert clock.sleeps == [60.0]


@pytest.mark.parametrize(
    ("form", "sleeps"),
    [
        ("secondary_403_retry_after", [30.0]),
        ("secondary_429_retry_after", [45.0]),
        ("secondary_429_no_retry_after", [60.0, 120.0]),
        ("secondary_403_no_retry_after", [60.0, 120.0]),  # remaining 14: only the body tells
    ],
)
def test_secondary_limits_wait_retry_after_else_back_off_from_a_minute(
    form: str, sleeps: list[float], make_session: SessionFactory, clock: FakeClock
) -> None:
    steps = [LIMITS[form]] * len(sleeps)
    make_session(sequence(*steps, "ok")).get("search/issues", params={"q": "x"})
    assert clock.sleeps == sleeps


def test_repeated_secondary_limits_give_up_with_a_time_to_come_back(
    make_session: SessionFactory, clock: FakeClock
) -> None:
    handler = sequence(*[LIMITS["secondary_429_no_retry_after"]] * 6)
    with pytest.raises(RateLimitedError, match="secondary rate limit.*run again after") as info:
        make_session(handler, max_wait=10**6).get("repos/a/b")
    assert info.value.secondary and len(clock.sleeps) == 5


def test_an_exhausted_bucket_is_waited_out_before_the_request_not_after_a_403(
    make_session: SessionFactory, clock: FakeClock
) -> None:
    sent = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(clock.now)
        return REPO.response(
            request, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(RESET)}
        )

    session = make_session(handler, max_wait=3600)
    session.get("repos/PyGithub/PyGithub")
    session.get("repos/PyGithub/PyGithub")
    assert clock.sleeps == [20 * 60 + 1] and sent == [NOW, clock.now]


def test_a_401_says_the_token_is_rejected(make_session: SessionFactory) -> None:
    (recorded,) = recordings.pygithub("SpecificExceptions.testBadCredentials.txt")
    with pytest.raises(AuthError, match="rejected the credentials.*set GITHUB_TOKEN") as info:
        make_session(lambda r: recorded.response(r)).get("user")
    assert info.value.status == 401
    with pytest.raises(AuthError, match="needs credentials.*set GITHUB_TOKEN"):
        make_session(lambda r: recorded.response(r), token=None).get("user")


@pytest.mark.parametrize(
    ("case", "fix"),
    [
        ("sso", "authorise the token at https://github.com/orgs/acme/sso"),
        ("scope", "lacks the scope manage_billing:copilot or read:org \\(it has public_repo"),
        ("fine_grained", "fine-grained token lacks a permission"),
        ("integration", "GitHub App lacks a permission"),
        ("policy", "'Copilot usage metrics' policy set to Enabled everywhere"),
    ],
)
def test_a_403_says_which_permission_to_fix(
    case: str, fix: str, make_session: SessionFactory
) -> None:
    handler = sequence(FORBIDDEN[case])
    with pytest.raises(AuthError, match=fix) as info:
        make_session(handler).get("orgs/acme/copilot/metrics/reports/users-28-day/latest")
    assert info.value.status == 403


def test_a_404_says_to_check_the_name_and_the_token(make_session: SessionFactory) -> None:
    _, missing = recordings.pygithub("Organization.testRemoveCustomProperty.txt")
    with pytest.raises(RemoteNotFoundError, match="check the name.*read:org") as info:
        make_session(lambda r: missing.response(r)).get("orgs/BeaverSoftware/properties/schema/x")
    assert info.value.status == 404


def test_a_422_names_the_refused_field(make_session: SessionFactory) -> None:
    refused = next(e for e in recordings.octokit("errors.raw-fixture.json") if e.status == 422)
    with pytest.raises(RequestRejectedError, match="Validation Failed.*field=color.*check the"):
        make_session(lambda r: refused.response(r)).get("repos/a/b/labels")
    (bare,) = recordings.pygithub("Repository.testTransferOwnershipInvalidOwner.txt")
    with pytest.raises(RequestRejectedError, match="422 Invalid new_owner"):  # no errors[] array
        make_session(lambda r: bare.response(r)).get("repos/a/b/transfer")
