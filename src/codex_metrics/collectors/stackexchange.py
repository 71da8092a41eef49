"""``collect stackoverflow --tag TAG``: questions per month per tag, answered share, first answers.

Counting is cheap: one ``/2.3/questions?tagged=TAG&fromdate&todate&filter=total`` call per
month answers ``{"total": N}``. The first run counts every month since the tag's first question
(one more call finds it); later runs count the running month and re-count a month once after it
ends, so a daily run costs one or two calls. Where the quota allows (more than
``quota_reserve`` left), the last ``answer_months`` months also get their answered share and
median time to a first answer, from the questions listing and
``/questions/{ids}/answers`` in batches of 100.

Stack Exchange's rules (shared/notes/data-sources.md section 3): a ``backoff`` field forbids
calling the *same method* again for that many seconds; the daily ``quota_remaining`` (300 per IP
without a key, 10,000 with one) is counted as the ``quota`` bucket; throttling comes back as
HTTP **400** (sometimes 502) with ``error_id`` 502 ``throttle_violation``, the wait only inside
the message ("more requests available in N seconds"), or none at all ("Violation of backoff
parameter"). Errors are told apart by ``error_id``, never by the HTTP status.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from codex_metrics.collectors._cache import HttpCache, public_url
from codex_metrics.collectors._http import ApiSession, Clock, Sleeper, system_clock
from codex_metrics.collectors._limits import Bucket, RequestBudget, RunStats, Wait
from codex_metrics.collectors._rows import write_rows
from codex_metrics.collectors._run import TargetResult, target_run
from codex_metrics.errors import (
    AuthError,
    CollectorError,
    RateLimitedError,
    RemoteNotFoundError,
    RequestRejectedError,
)
from codex_metrics.lake import Lake

__all__ = [
    "STACKEXCHANGE_API_URL",
    "StackExchangePolicy",
    "collect_stackoverflow",
    "stackexchange_session",
]

STACKEXCHANGE_API_URL = "https://api.stackexchange.com/2.3"
THROTTLE_ERROR_ID = 502
_WAIT_IN_MESSAGE = re.compile(r"available in (\d+) seconds")
_IDS = re.compile(r"/\d+(;\d+)*")
#: Throttles in a row before giving up.
_MAX_THROTTLES = 3


def _method(url: httpx.URL) -> str:
    """The API method of a URL, for ``backoff`` (ids collapsed: ``/questions/{ids}/answers``)."""
    return _IDS.sub("/{ids}", url.path)


def _next_midnight(now: datetime) -> datetime:
    return datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)


class StackExchangePolicy:
    """Backoff per method, the daily quota, throttles by ``error_id``."""

    def __init__(self) -> None:
        self.not_before: dict[str, datetime] = {}
        self.throttles_in_a_row = 0

    def bucket_for(self, url: httpx.URL) -> str:
        """Every call counts in the daily ``quota``."""
        return "quota"

    def pause_before(self, url: httpx.URL, now: datetime, stats: RunStats) -> Wait | None:
        """Honour ``backoff`` for this method, and stop before calling on an empty quota."""
        quota = stats.buckets.get("quota")
        if quota is not None and quota.exhausted(now) and quota.reset_at is not None:
            return Wait(
                (quota.reset_at - now).total_seconds(),
                RateLimitedError(
                    f"the Stack Exchange daily quota is used up ({quota.limit} a day); run "
                    f"again after {quota.reset_at:%Y-%m-%d %H:%M} UTC, or set a key "
                    "([stackexchange] key) for 10,000 a day",
                    reset_at=quota.reset_at,
                    resource="quota",
                ),
            )
        until = self.not_before.get(_method(url))
        if until is None or until <= now:
            return None
        return Wait(
            (until - now).total_seconds(),
            RateLimitedError(
                f"Stack Exchange asked for a backoff on {_method(url)} until {until:%H:%M:%S} UTC",
                url=public_url(url, drop_query=True),
                reset_at=until,
                resource="quota",
            ),
        )

    def judge(
        self, response: httpx.Response, body: Any, now: datetime, stats: RunStats
    ) -> Wait | CollectorError | None:
        """Record quota and backoff; a wait for a throttle, an error for other failures."""
        url = response.request.url
        shown = public_url(url, drop_query=True)
        if isinstance(body, dict):
            if isinstance(body.get("quota_remaining"), int):
                stats.observe(
                    Bucket(
                        "quota", body.get("quota_max"), body["quota_remaining"], _next_midnight(now)
                    )
                )
            if isinstance(body.get("backoff"), int | float) and body["backoff"] > 0:
                self.not_before[_method(url)] = now + timedelta(seconds=float(body["backoff"]))
            if "error_id" in body:
                return self._error(body, now, shown, response.status_code)
        if response.status_code >= 400:
            return CollectorError(
                f"Stack Exchange answered {response.status_code} without an error body",
                url=shown,
                status=response.status_code,
            )
        self.throttles_in_a_row = 0
        return None

    def _error(
        self, body: dict[str, Any], now: datetime, url: str, status: int
    ) -> Wait | CollectorError:
        error_id = body.get("error_id")
        name = body.get("error_name") or ""
        message = str(body.get("error_message") or "")
        said = f"{name} ({error_id}): {message}"
        if error_id == THROTTLE_ERROR_ID or name == "throttle_violation":
            self.throttles_in_a_row += 1
            found = _WAIT_IN_MESSAGE.search(message)
            seconds = float(found.group(1)) if found else 60.0 * self.throttles_in_a_row
            resume = now + timedelta(seconds=seconds)
            error = RateLimitedError(
                f"Stack Exchange throttled this IP ({said}); run again after "
                f"{resume:%Y-%m-%d %H:%M} UTC (rows so far are kept)",
                url=url,
                reset_at=resume,
                resource="quota",
                secondary=True,
                status=status,
            )
            return error if self.throttles_in_a_row > _MAX_THROTTLES else Wait(seconds, error)
        if error_id in (401, 402, 403, 405, 406):
            return AuthError(
                f"Stack Exchange refused the key or token ({said}); check [stackexchange] key "
                "or STACKEXCHANGE_KEY (a key from stackapps.com, no token needed)",
                url=url,
                status=status,
            )
        if error_id == 404:
            return RemoteNotFoundError(f"no such Stack Exchange method ({said})", url=url)
        if error_id == 400:
            return RequestRejectedError(
                f"Stack Exchange refused a parameter ({said}); check the tag and site names",
                url=url,
                status=status,
            )
        return CollectorError(f"Stack Exchange error {said}", url=url, status=status)


def stackexchange_session(
    client: httpx.Client,
    *,
    api_url: str = STACKEXCHANGE_API_URL,
    budget: RequestBudget | None = None,
    stats: RunStats | None = None,
    clock: Clock = system_clock,
    sleep: Sleeper | None = None,
    max_wait: float = 900.0,
) -> ApiSession:
    """An :class:`ApiSession` for the Stack Exchange API (no credentials: the key is a param)."""
    kw: dict[str, Any] = {} if sleep is None else {"sleep": sleep}
    return ApiSession(
        client,
        base_url=api_url,
        policy=StackExchangePolicy(),
        headers={"Accept": "application/json", "User-Agent": "codex-metrics"},
        budget=budget,
        stats=stats,
        clock=clock,
        max_wait=max_wait,
        **kw,
    )


def _months(first: date, today: date) -> list[date]:
    out, m = [], first.replace(day=1)
    while m <= today:
        out.append(m)
        m = (m + timedelta(days=32)).replace(day=1)
    return out


def _epoch(d: date) -> int:
    return int(datetime.combine(d, datetime.min.time(), UTC).timestamp())


class _Tag:
    """Counting one tag on one site."""

    def __init__(self, session: ApiSession, tag: str, site: str, key: str | None) -> None:
        self.session, self.tag, self.site = session, tag, site
        self.base = {"site": site, **({"key": key} if key else {})}

    def call(self, path: str, **params: Any) -> dict[str, Any]:
        body = self.session.get(path, params={**self.base, **params}).body
        return body if isinstance(body, dict) else {}

    def first_month(self) -> date | None:
        body = self.call("questions", tagged=self.tag, sort="creation", order="asc", pagesize=1)
        items = body.get("items") or []
        return datetime.fromtimestamp(items[0]["creation_date"], UTC).date() if items else None

    def total(self, start: date, end: date) -> int:
        body = self.call(
            "questions", tagged=self.tag, fromdate=_epoch(start), todate=_epoch(end) - 1,
            filter="total",
        )  # fmt: skip
        return int(body.get("total") or 0)

    def answers(self, start: date, end: date) -> tuple[float | None, float | None, int]:
        """Answered share, median minutes to a first answer, questions sampled."""
        questions: list[dict[str, Any]] = []
        page = 1
        while True:
            body = self.call(
                "questions", tagged=self.tag, fromdate=_epoch(start), todate=_epoch(end) - 1,
                sort="creation", order="asc", pagesize=100, page=page,
            )  # fmt: skip
            questions += [q for q in body.get("items") or [] if isinstance(q, dict)]
            if not body.get("has_more"):
                break
            page += 1
        if not questions:
            return None, None, 0
        share = sum(bool(q.get("is_answered")) for q in questions) / len(questions)
        asked = {q["question_id"]: q["creation_date"] for q in questions if q.get("answer_count")}
        first: dict[int, int] = {}
        ids = sorted(asked)
        for i in range(0, len(ids), 100):
            batch, page = ";".join(map(str, ids[i : i + 100])), 1
            while True:
                body = self.call(
                    f"questions/{batch}/answers", sort="creation", order="asc", pagesize=100,
                    page=page,
                )  # fmt: skip
                for a in body.get("items") or []:
                    q = a.get("question_id")
                    if q in asked:
                        first[q] = min(first.get(q, a["creation_date"]), a["creation_date"])
                if not body.get("has_more"):
                    break
                page += 1
        waits = [(first[q] - asked[q]) / 60 for q in first]
        return share, (statistics.median(waits) if waits else None), len(questions)


def collect_stackoverflow(
    lake: Lake,
    session: ApiSession,
    tags: Sequence[str],
    *,
    site: str = "stackoverflow",
    key: str | None = None,
    answer_months: int = 2,
    quota_reserve: int = 50,
    invocation_id: str | None = None,
) -> list[TargetResult]:
    """Count questions per month for each tag (see the module docstring)."""
    results = []
    for tag in tags:
        scope = tag if site == "stackoverflow" else f"{site}:{tag}"
        cache = HttpCache.for_scope(lake.hidden_dir, "stackexchange", scope, clock=session.clock)
        with target_run(
            lake, session.stats, source="stackexchange", scope=scope,
            command="collect stackoverflow", parameters={"site": site, "tag": tag},
            invocation_id=invocation_id,
        ) as run:  # fmt: skip
            _collect_tag(lake, session, cache, run, _Tag(session, tag, site, key), answer_months,
                         quota_reserve, scope)  # fmt: skip
        results.append(run.result)
        if run.result.stops_run:
            break
    return results


def _collect_tag(
    lake: Lake,
    session: ApiSession,
    cache: HttpCache,
    run: Any,
    counter: _Tag,
    answer_months: int,
    quota_reserve: int,
    scope: str,
) -> None:
    now = session.clock()
    state = cache.state("months")
    run.read("questions")
    first = date.fromisoformat(state["first"]) if state.get("first") else counter.first_month()
    if first is None:
        return  # no question carries the tag (yet)
    done = set(state.get("complete", []))
    months = _months(first, now.date())
    rows: list[dict[str, Any]] = []
    try:
        for i, month in enumerate(months):
            end = (
                months[i + 1]
                if i + 1 < len(months)
                else (month + timedelta(days=32)).replace(day=1)
            )
            complete = _epoch(end) <= now.timestamp()
            if complete and month.isoformat() in done:
                continue
            row: dict[str, Any] = {
                "site": counter.site, "tag": counter.tag, "period": "month",
                "period_complete": complete, "question_count": counter.total(month, end),
                "observed_at": now, "day": month,
            }  # fmt: skip
            quota = session.stats.buckets.get("quota")
            left = quota.remaining if quota is not None else None
            if i >= len(months) - answer_months and (left is None or left > quota_reserve):
                share, median, sampled = counter.answers(month, end)
                row |= {"answered_share": share, "median_minutes_to_first_answer": median,
                        "sampled_questions": sampled}  # fmt: skip
            rows.append(row)
    finally:
        quota = session.stats.buckets.get("quota")
        for row in rows:
            row["quota_remaining"] = quota.remaining if quota is not None else None
        run.wrote("so_question_counts", write_rows(lake, "so_question_counts", rows,
                  source="stackexchange", scope=scope))  # fmt: skip
        done |= {r["day"].isoformat() for r in rows if r["period_complete"]}
        cache.save(state={"months": {"first": first.isoformat(), "complete": sorted(done)}})
