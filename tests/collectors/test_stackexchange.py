"""collect stackoverflow: filter=total per month, backoff, quota and error_id 502 throttles."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from codex_metrics.collectors import RequestBudget, collect_stackoverflow, stackexchange_session
from codex_metrics.errors import RequestRejectedError
from codex_metrics.lake import Lake

from . import recordings
from .conftest import FakeClock
from .fake_stackexchange import DOC, FakeStackExchange, synthetic_questions

MONTHS = {"2026-09": 3, "2026-10": 5, "2026-11": 2}


def run(lake: Lake, fake: FakeStackExchange, clock: FakeClock, **kw: Any) -> Any:
    session = stackexchange_session(
        httpx.Client(transport=httpx.MockTransport(fake.handle)),
        clock=clock,
        sleep=clock.sleep,
        max_wait=kw.pop("max_wait", 900.0),
        budget=RequestBudget(kw.pop("budget", None)),
    )
    (result,) = collect_stackoverflow(lake, session, ["github-copilot"], **kw)
    return result


def counts(lake: Lake) -> list[tuple[Any, ...]]:
    con = lake.connect(sources="all")
    return con.execute(
        "SELECT day, question_count, period_complete, answered_share, "
        "median_minutes_to_first_answer, sampled_questions FROM so_question_counts ORDER BY day"
    ).fetchall()


def throttle(doc: str, status: int = 400, times: int = 1) -> Any:
    left = {"n": times}

    def fault(request: httpx.Request) -> httpx.Response | None:
        if left["n"] <= 0:
            return None
        left["n"] -= 1
        return httpx.Response(status, json=DOC[doc], request=request)

    return fault


def test_questions_per_month_cost_one_filter_total_call_each(lake: Lake, clock: FakeClock) -> None:
    fake = FakeStackExchange(synthetic_questions(MONTHS))
    result = run(lake, fake, clock, key="app-key")
    assert result.status == "ok"
    assert counts(lake) == [
        (date(2026, 9, 1), 3, True, None, None, None),
        (date(2026, 10, 1), 5, True, 0.6, 30.0, 5),  # 3 of 5 answered, each after 30 minutes
        (date(2026, 11, 1), 2, False, 0.5, 30.0, 2),
    ]
    totals = [r for r in fake.log if r.url.params.get("filter") == "total"]
    assert len(totals) == 3 and all(r.url.params["key"] == "app-key" for r in fake.log)
    # the next run recounts the running month only
    fake.log.clear()
    run(lake, fake, clock)
    assert [r.url.params.get("fromdate") for r in fake.log if r.url.params.get("filter")] == [
        str(int(datetime(2026, 11, 1, tzinfo=UTC).timestamp()))
    ]


def test_backoff_is_honoured_per_method(lake: Lake, clock: FakeClock) -> None:
    fake = FakeStackExchange(synthetic_questions(MONTHS), backoff=10)
    run(lake, fake, clock, answer_months=0)
    # the first answer carries backoff: every later call of /questions waits 10 s first
    assert clock.sleeps and set(clock.sleeps) == {10.0}


@pytest.mark.parametrize(
    ("doc", "status", "wait"),
    [
        ("throttle_seconds", 400, 17.0),  # "more requests available in 17 seconds"
        ("throttle_backoff", 400, 60.0),  # "Violation of backoff parameter": no number
        ("throttle_seconds", 502, 17.0),  # some clients see HTTP 502: error_id decides
    ],
)
def test_a_throttle_waits_what_the_message_says(
    doc: str, status: int, wait: float, lake: Lake, clock: FakeClock
) -> None:
    fake = FakeStackExchange(synthetic_questions(MONTHS))
    fake.faults.append(throttle(doc, status))
    assert run(lake, fake, clock, answer_months=0).status == "ok"
    assert clock.sleeps == [wait]


def test_a_long_throttle_stops_with_the_time_to_come_back_keeping_the_counts(
    lake: Lake, clock: FakeClock
) -> None:
    fake = FakeStackExchange(synthetic_questions(MONTHS))
    calls = {"n": 0}

    def late(request: httpx.Request) -> httpx.Response | None:
        calls["n"] += 1
        return (
            httpx.Response(400, json=DOC["throttle_long"], request=request)
            if calls["n"] == 4
            else None
        )

    fake.faults.append(late)
    result = run(lake, fake, clock, answer_months=0)
    assert result.status == "partial" and "run again after 2026-11-26 10:52 UTC" in result.message
    assert [c[:2] for c in counts(lake)] == [(date(2026, 9, 1), 3), (date(2026, 10, 1), 5)]
    assert result.rate_limit_reset_at == datetime(2026, 11, 26, 10, 52, 4, tzinfo=UTC)


def test_an_empty_quota_stops_until_midnight(lake: Lake, clock: FakeClock) -> None:
    fake = FakeStackExchange(synthetic_questions(MONTHS), quota=1)  # 0 left after the first
    result = run(lake, fake, clock, answer_months=0)
    assert result.status == "partial" and "daily quota is used up" in result.message
    assert result.rate_limit_reset_at == datetime(2026, 11, 27, tzinfo=UTC)


def test_a_bad_parameter_says_what_to_check(lake: Lake, clock: FakeClock) -> None:
    fake = FakeStackExchange([])
    fake.faults.append(throttle("bad_parameter"))
    result = run(lake, fake, clock)
    assert result.status == "error" and "check the tag and site names" in result.message
    session = stackexchange_session(httpx.Client(transport=httpx.MockTransport(
        lambda r: httpx.Response(400, json=DOC["bad_parameter"], request=r))))  # fmt: skip
    with pytest.raises(RequestRejectedError, match="bad_parameter \\(400\\): tagged"):
        session.get("questions")


def test_the_recorded_wrapper_reports_the_quota(clock: FakeClock) -> None:
    body = recordings.stackexchange("stackapi.test_users_associated.json")
    session = stackexchange_session(
        httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, json=body, request=r))),
        clock=clock,
    )  # fmt: skip
    assert len(session.get("users/1/associated").body["items"]) == 30
    quota = session.stats.buckets["quota"]
    assert (quota.limit, quota.remaining) == (10000, 9823)


@pytest.mark.parametrize("doc", ["total_only", "total_with_quota"])
def test_filter_total_answers_with_and_without_quota_fields(
    doc: str, lake: Lake, clock: FakeClock
) -> None:
    fake = FakeStackExchange(synthetic_questions({"2026-11": 1}))

    def total(request: httpx.Request) -> httpx.Response | None:
        if request.url.params.get("filter") == "total":
            return httpx.Response(200, json=DOC[doc], request=request)
        return None

    fake.faults.append(total)
    run(lake, fake, clock, answer_months=0)
    assert counts(lake)[0][1] == DOC[doc]["total"]
