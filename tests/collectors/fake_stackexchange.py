"""A fake Stack Exchange 2.3 API: questions of one tag, filter=total, answers, quota, backoff.

Question and answer objects are shaped like the synthetic fixture's (itself built from the
documented shapes, fixtures/stackexchange/DOCUMENTED_SHAPES.md): the questions of its page plus
made-up ones spread over months; the common wrapper carries ``quota_max`` and a decreasing
``quota_remaining`` unless the filter is ``total``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from . import recordings

Fault = Callable[[httpx.Request], httpx.Response | None]
DOC = recordings.synthetic("synthetic-stackexchange.json")


def synthetic_questions(per_month: dict[str, int]) -> list[dict[str, Any]]:
    """Questions cloned from the fixture's first one, ``n`` per ``YYYY-MM`` month."""
    model = DOC["questions_page_backoff"]["items"][0]
    out, qid = [], 50_000
    for month, n in sorted(per_month.items()):
        year, mon = map(int, month.split("-"))
        start = int(datetime(year, mon, 1, tzinfo=UTC).timestamp())
        for i in range(n):
            q = copy.deepcopy(model)
            qid += 1
            q.update(question_id=qid, creation_date=start + 3600 * (i + 1),
                     is_answered=i % 2 == 0, answer_count=1 if i % 2 == 0 else 0)  # fmt: skip
            out.append(q)
    return out


@dataclass
class FakeStackExchange:
    questions: list[dict[str, Any]]
    quota: int = 10_000
    backoff: int | None = None
    faults: list[Fault] = field(default_factory=list)
    log: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.log.append(request)
        for fault in list(self.faults):
            answer = fault(request)
            if answer is not None:
                return answer
        self.quota -= 1
        p = request.url.params
        path = request.url.path
        if path.endswith("/answers"):
            ids = {int(x) for x in path.split("/")[-2].split(";")}
            items = [
                {"question_id": q["question_id"], "answer_id": q["question_id"] + 7,
                 "creation_date": q["creation_date"] + 1800, "is_accepted": False, "score": 1,
                 "owner": {"user_id": 99}}
                for q in self.questions if q["question_id"] in ids and q["answer_count"]
            ]  # fmt: skip
            return self._wrap(request, items, has_more=False)
        if not path.endswith("/questions"):
            return httpx.Response(400, json=DOC["bad_parameter"], request=request)
        lo, hi = int(p.get("fromdate", 0)), int(p.get("todate", 2**40))
        found = [q for q in self.questions if lo <= q["creation_date"] <= hi]
        found.sort(key=lambda q: q["creation_date"], reverse=p.get("order") == "desc")
        if p.get("filter") == "total":
            return httpx.Response(200, json={"total": len(found)}, request=request)
        size, page = int(p.get("pagesize", 30)), int(p.get("page", 1))
        chunk = found[(page - 1) * size : page * size]
        return self._wrap(request, chunk, has_more=page * size < len(found))

    def _wrap(self, request: httpx.Request, items: list[Any], *, has_more: bool) -> httpx.Response:
        body: dict[str, Any] = {
            "items": items, "has_more": has_more, "quota_max": 10_000, "quota_remaining": self.quota,
        }  # fmt: skip
        if self.backoff:
            body["backoff"] = self.backoff
        return httpx.Response(200, json=body, request=request)
