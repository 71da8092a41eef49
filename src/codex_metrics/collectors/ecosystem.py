"""``collect ecosystem``: daily GitHub search totals of assistant adoption.

One ``per_page=1`` search per query (configured in ``[[collect.ecosystem_queries]]``, else
:data:`DEFAULT_QUERIES`), of which only ``total_count`` and ``incomplete_results`` are kept:

* repository search (``in:readme``, ``topic:``) and commit search (``Co-authored-by:``
  trailers) are GitHub's own **estimates** (``label = github_search_estimate``;
  ``incomplete_results`` true means GitHub timed out and the total is a lower bound);
* file presence (``AGENTS.md``, ``.github/copilot-instructions.md``) exists only in code
  search, which needs a token, allows 10 requests a minute and looks at no more than 4,000
  repositories per query: those rows are a **capped sample** (``label = capped_sample``,
  ``sample_cap = 4000``), and without a token they are left out.

Search has its own rate-limit buckets (``search``: 30 a minute, ``code_search``: 10 a minute),
tracked apart from ``core``; an empty bucket is waited out (it resets within a minute).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from codex_metrics.collectors._cache import HttpCache
from codex_metrics.collectors._http import ApiSession
from codex_metrics.collectors._rows import write_rows
from codex_metrics.collectors._run import TargetResult, target_run
from codex_metrics.config import EcosystemQuery
from codex_metrics.lake import Lake

__all__ = ["CODE_SEARCH_CAP", "DEFAULT_QUERIES", "ECOSYSTEM_SCOPE", "collect_ecosystem"]

ECOSYSTEM_SCOPE = "github-search"
#: Repositories code search looks at per query, at most.
CODE_SEARCH_CAP = 4000
DEFAULT_QUERIES: tuple[EcosystemQuery, ...] = (
    EcosystemQuery("repos_readme_github_copilot", "repositories", '"github copilot" in:readme'),
    EcosystemQuery("repos_topic_github_copilot", "repositories", "topic:github-copilot"),
    EcosystemQuery("repos_topic_openai_codex", "repositories", "topic:openai-codex"),
    EcosystemQuery("repos_readme_agents_md", "repositories", '"AGENTS.md" in:readme'),
    EcosystemQuery("commits_coauthored_copilot", "commits", '"Co-authored-by: Copilot"'),
    EcosystemQuery("commits_coauthored_codex", "commits", '"Co-authored-by: Codex"'),
    EcosystemQuery("code_agents_md", "code", "filename:AGENTS.md"),
    EcosystemQuery(
        "code_copilot_instructions", "code", "path:.github filename:copilot-instructions.md"
    ),
)


def _keep(body: Any) -> dict[str, Any]:
    body = body if isinstance(body, dict) else {}
    return {"total_count": body.get("total_count"), "incomplete": body.get("incomplete_results")}


def collect_ecosystem(
    lake: Lake,
    session: ApiSession,
    queries: Sequence[EcosystemQuery] = (),
    *,
    invocation_id: str | None = None,
) -> TargetResult:
    """Run every search once and store today's totals (see the module docstring)."""
    queries = tuple(queries) or DEFAULT_QUERIES
    cache = HttpCache.for_scope(lake.hidden_dir, "github", ECOSYSTEM_SCOPE, clock=session.clock)
    authenticated = session.token is not None
    with target_run(
        lake,
        session.stats,
        source="github",
        scope=ECOSYSTEM_SCOPE,
        command="collect ecosystem",
        parameters={"queries": [q.name for q in queries]},
        invocation_id=invocation_id,
        bucket=lambda resource: resource in ("search", "code_search"),
    ) as run:
        now = session.clock()
        rows: list[dict[str, Any]] = []
        entries = []
        skipped = [q.name for q in queries if q.kind == "code" and not authenticated]
        try:
            for q in queries:
                if q.name in skipped:
                    continue
                run.read(f"search/{q.kind}")
                answer = session.get(
                    f"search/{q.kind}", params={"q": q.q, "per_page": 1}, cache=cache, keep=_keep
                )
                kept = answer.body if answer.not_modified else _keep(answer.body)
                entries.append(answer.entry)
                capped = q.kind == "code"
                rows.append(
                    {
                        "query_name": q.name,
                        "query_text": q.q,
                        "search_kind": q.kind,
                        "total_count": int(kept.get("total_count") or 0),
                        "incomplete_results": bool(kept.get("incomplete")),
                        "label": "capped_sample" if capped else "github_search_estimate",
                        "sample_cap": CODE_SEARCH_CAP if capped else None,
                        "observed_at": now,
                        "day": now.date(),
                    }
                )
        finally:
            report = write_rows(
                lake, "ecosystem_counts", rows, source="github", scope=ECOSYSTEM_SCOPE
            )
            run.wrote("ecosystem_counts", report)
            cache.save(entries)
        if skipped:
            run.result.message = (
                f"left out {', '.join(skipped)}: code search needs a token (set GITHUB_TOKEN)"
            )
    return run.result
