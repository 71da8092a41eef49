"""Tables of real sources: Copilot reports, Codex CLI telemetry, GitHub and Stack Overflow signals.

Written by the ingest adapters and the collectors; column docs name the vendor field each column
comes from. On top of the lake's rules: vendor counters are nullable (vendors omit, add and rename
fields; null is "not reported"); people are stored pseudonymised with the lake's keyed hash
(``developer_id``, ``author``) and numeric vendor user ids not at all; no column holds prompt or
completion text, tool arguments or output, issue or comment bodies. ``org`` is the org or
enterprise a report was read for (slug, else vendor id), as in ``usage_daily``; ``repo`` is
GitHub's ``full_name`` (``owner/name``).
"""

from __future__ import annotations

import pyarrow as pa

from codex_metrics.lake.schema import (
    BREAKDOWN_DIMENSIONS,
    REQUEST_STATUSES,
    USAGE_COUNTERS,
    UTC_TS,
    Column,
    TableSpec,
    bookkeeping,
    col,
)

__all__ = [
    "CODEX_REQUESTS",
    "CODEX_TOOL_EVENTS",
    "COPILOT_ENTITY_DAILY",
    "COPILOT_USER_DAILY",
    "ECOSYSTEM_COUNTS",
    "ENTITY_BREAKDOWN_DIMENSIONS",
    "ISSUES",
    "ISSUE_COMMENTS",
    "REPO_SNAPSHOTS",
    "SOURCE_TABLES",
    "SO_QUESTION_COUNTS",
    "STAR_HISTORY",
]

_S, _I32, _I64, _F64, _B = pa.string(), pa.int32(), pa.int64(), pa.float64(), pa.bool_()

#: Breakdowns of copilot_entity_daily, named by the dimensions they set (as usage_daily's); the
#: legacy metrics JSON also fills the ide_* nodes of its editor -> model -> language nesting.
ENTITY_BREAKDOWN_DIMENSIONS: dict[str, tuple[str, ...]] = {
    **BREAKDOWN_DIMENSIONS,
    "ide_feature": ("ide", "feature"),
    "ide_model_feature": ("ide", "model", "feature"),
    "ide_language_model_feature": ("ide", "language", "model", "feature"),
}
_ENTITY_TYPES = ("enterprise", "org")
_DECISIONS = tuple(
    "approved approved_execpolicy_amendment approved_for_session denied abort".split()
)
_ASSOCIATIONS = tuple(
    "owner member collaborator contributor first_time_contributor first_timer mannequin none".split()
)
_COUNTER_DOCS = {
    "user_initiated_interaction_count": "Prompts explicitly sent (legacy: chats)",
    "code_generation_activity_count": "Output blocks generated (legacy: suggestions)",
    "code_acceptance_activity_count": "Accept actions (legacy: acceptances)",
    "loc_suggested_to_add_sum": (
        "Lines suggested to add (legacy: lines suggested; older files: `generated_loc_sum`)"
    ),
    "loc_suggested_to_delete_sum": "Lines suggested to delete",
    "loc_added_sum": "Lines added (legacy: lines accepted; older files: `accepted_loc_sum`)",
    "loc_deleted_sum": "Lines deleted",
}
_USED_FLAGS = """chat agent cli copilot_coding_agent copilot_cloud_agent copilot_code_review_active
    copilot_code_review_passive""".split()
_AGENT_KINDS = """active_copilot_code_review passive_copilot_code_review
    active_copilot_cloud_agent""".split()
_ACTIVE_USERS = """daily_active_users weekly_active_users monthly_active_users
    monthly_active_chat_users monthly_active_agent_users daily_active_cli_users""".split()
_ACTIVE_USERS += [f"{p}_{k}_users" for k in _AGENT_KINDS for p in ("daily", "weekly", "monthly")]
_PR_FIELDS = """total_created total_reviewed total_merged median_minutes_to_merge
    total_suggestions total_applied_suggestions total_created_by_copilot total_reviewed_by_copilot
    total_merged_created_by_copilot total_merged_reviewed_by_copilot
    median_minutes_to_merge_copilot_authored median_minutes_to_merge_copilot_reviewed
    total_copilot_suggestions total_copilot_applied_suggestions""".split()
_CLI_FIELDS = """session_count request_count prompt_count token_usage.prompt_tokens_sum
    token_usage.output_tokens_sum""".split()
_COMMENT_TYPE = [("comment_type", _S), ("total_copilot_suggestions", _I64)]
_COMMENT_TYPE.append(("total_copilot_applied_suggestions", _I64))
#: The `pull_requests` object of the entity report: field -> type.
_PULL_REQUESTS: dict[str, pa.DataType] = {f: _F64 if "median" in f else _I64 for f in _PR_FIELDS}
_PULL_REQUESTS["copilot_suggestions_by_comment_type"] = pa.list_(pa.struct(_COMMENT_TYPE))
_ENTITY = (
    col("org", _S, "Org or enterprise the report is for (slug, else the vendor's id)."),
    col("entity_type", _S, "enterprise or org: which kind of report the row is from."),
    col("organization_id", _S, "`organization_id` (org reports).", True),
    col("enterprise_id", _S, "`enterprise_id`.", True),
)
#: Which report a row came from and when it was fetched: what "newest wins" orders by.
_REPORT = (
    col("report_start_day", pa.date32(), "`report_start_day` (1-day files: the day)."),
    col("report_end_day", pa.date32(), "`report_end_day` (1-day files: the day)."),
    col("report_created_at", UTC_TS, "The report's `created_at`, when present.", True),
    col("fetched_at", UTC_TS, "When the file was downloaded (else archived or modified)."),
)
_IDE_VERSION = pa.struct(
    {"ide": _S, "ide_version": _S, "plugin": _S, "plugin_version": _S, "sampled_at": UTC_TS}
)


def _counter_columns(*, where: str) -> tuple[Column, ...]:
    """The seven usage counters and the CLI totals, nullable (vendors omit fields)."""
    return (
        *(col(n, _I64, f"{_COUNTER_DOCS[n]}: `{n}`.", True) for n in USAGE_COUNTERS),
        *(
            col(f"cli_{f.split('.')[-1]}", _I64, f"`totals_by_cli.{f}`{where}.", True)
            for f in _CLI_FIELDS
        ),
    )


COPILOT_USER_DAILY = TableSpec(
    name="copilot_user_daily",
    filled_by=(
        "codex-metrics ingest copilot-report FILE",
        "codex-metrics collect copilot --org ORG",
    ),
    doc=(
        "One row per user, report entity and day of GitHub's per-user Copilot usage-metrics "
        "report (`users-1-day`, `users-28-day`): totals, `used_*` flags, AI credits, adoption "
        "phase, CLI figures; its `totals_by_*` arrays go to usage_daily. Key: (developer_id, "
        "entity_type, org): a metric reads enterprise or org rows, never both. Partitioned by "
        "the row's `day`; overlapping reports resolve newest wins."
    ),
    key=("developer_id", "entity_type", "org"),
    newest_by=("report_end_day", "fetched_at", "ingested_at"),
    columns=(
        col("developer_id", _S, "Pseudonymised `user_login` (the hash seats and teams use)."),
        *_ENTITY,
        *_counter_columns(where=""),
        *(col(f"used_{f}", _B, f"`used_{f}` that day.", True) for f in _USED_FLAGS),
        col("ai_credits_used", _F64, "`ai_credits_used` that day.", True),
        col("ai_adoption_phase", _S, "`ai_adoption_phase.phase` (e.g. Phase 2).", True),
        col("ai_adoption_phase_number", _I32, "`ai_adoption_phase.phase_number`.", True),
        col("ai_adoption_phase_version", _S, "`ai_adoption_phase.version`.", True),
        col("cli_version", _S, "`totals_by_cli.last_known_cli_version.cli_version`.", True),
        col("ide_versions", pa.list_(_IDE_VERSION), "`totals_by_ide[].last_known_*`.", True),
        *_REPORT,
        *bookkeeping(),
    ),
    enums={"entity_type": _ENTITY_TYPES},
)

COPILOT_ENTITY_DAILY = TableSpec(
    name="copilot_entity_daily",
    filled_by=(
        "codex-metrics ingest copilot-report FILE",
        "codex-metrics collect copilot --org ORG",
    ),
    doc=(
        "GitHub's own figures per enterprise or org and day (a `day_totals` element of the "
        "entity report), split by `breakdown` as usage_daily is. The total row has the counters, "
        "distinct active users (never summed), `pull_requests` and `totals_by_cli`; other rows "
        "one `totals_by_*` element. The legacy metrics JSON maps onto the same columns (its "
        "nodes as ide_* breakdowns); a metric reads one source per entity-day. Key: entity and "
        "breakdown dimensions. Partitioned by `day`; newest wins."
    ),
    key=("entity_type", "org", "breakdown", "ide", "feature", "language", "model"),
    newest_by=("report_end_day", "fetched_at", "ingested_at"),
    columns=(
        *_ENTITY,
        col("breakdown", _S, "Which dimension columns are set (see enum)."),
        col("ide", _S, "`ide` (legacy: editor `name`).", True),
        col("feature", _S, "`feature` (legacy: code_completion, chat, dotcom_chat, ...).", True),
        col("language", _S, "`language`, as GitHub spells it.", True),
        col("model", _S, "`model` (legacy: model `name`).", True),
        *_counter_columns(where=" (total rows)"),
        *(col(n, _I64, f"`{n}` (total rows; distinct users).", True) for n in _ACTIVE_USERS),
        *(col(f"pr_{f}", t, f"`pull_requests.{f}`.", True) for f, t in _PULL_REQUESTS.items()),
        col("engaged_users", _I64, "Legacy `total_engaged_users` of the node.", True),
        col("chat_insertion_events", _I64, "Legacy `total_chat_insertion_events`.", True),
        col("chat_copy_events", _I64, "Legacy `total_chat_copy_events`.", True),
        col("pr_summaries_created", _I64, "Legacy `total_pr_summaries_created`.", True),
        *_REPORT,
        *bookkeeping(),
    ),
    enums={"entity_type": _ENTITY_TYPES, "breakdown": tuple(ENTITY_BREAKDOWN_DIMENSIONS)},
)

_CODEX_COMMON = (
    col("timestamp", UTC_TS, "`event.timestamp` (else `observedTimeUnixNano`)."),
    col("conversation_id", _I64, "64-bit hash of `conversation.id` (one Codex session)."),
    col("developer_id", _S, "Pseudonymised `user.email`, else `user.account_id`.", True),
    col("service_name", _S, "`service.name`: codex_cli_rs, codex-cli, codex_exec, ...", True),
    col("client_version", _S, "`app.version` (else resource `service.version`).", True),
)

CODEX_REQUESTS = TableSpec(
    name="codex_requests",
    filled_by=("codex-metrics ingest codex-otel FILE",),
    doc=(
        "Codex CLI OpenTelemetry logs, one row per model request attempt (a `codex.api_request` "
        "or `codex.websocket_request` record, by the `event.name` attribute) with the tokens of "
        "the `response.completed` `codex.sse_event` record following it and the turn's "
        "`codex.turn_ttft`. Key: a hash of the record, so re-ingesting changes nothing. "
        "Partitioned by the day of `timestamp`."
    ),
    key=("request_id",),
    columns=(
        col("request_id", _I64, "Hash of `conversation.id`, `event.timestamp`, name, attempt."),
        *_CODEX_COMMON,
        col("model_version", _S, "`model` (named as in suggestions and experiments)."),
        col("reasoning_effort", _S, "`reasoning_effort` (`codex.conversation_starts`).", True),
        col("auth_mode", _S, "`auth_mode`, lower-cased (apikey, chatgpt).", True),
        col("transport", _S, "http (`codex.api_request`) or websocket."),
        col("endpoint", _S, "`endpoint` (API path).", True),
        col("attempt", _I32, "`attempt` (each retry is a row).", True),
        col("status", _S, "From the status code and `error.message`."),
        col("http_status", _I32, "`http.response.status_code`.", True),
        col("error_message", _S, "`error.message`, at most 500 characters.", True),
        col("duration_ms", _F64, "`duration_ms` (a string in OTLP: cast)."),
        col("time_to_first_token_ms", _F64, "The turn's `codex.turn_ttft` (its first).", True),
        col("input_tokens", _I64, "`input_token_count` (`response.completed`).", True),
        col("cached_input_tokens", _I64, "`cached_token_count` (part of the input).", True),
        col("output_tokens", _I64, "`output_token_count`.", True),
        col("reasoning_tokens", _I64, "`reasoning_token_count` (part of the output).", True),
        col("tool_tokens", _I64, "`tool_token_count`.", True),
        *bookkeeping(),
    ),
    enums={"status": REQUEST_STATUSES, "transport": ("http", "websocket")},
)

CODEX_TOOL_EVENTS = TableSpec(
    name="codex_tool_events",
    filled_by=("codex-metrics ingest codex-otel FILE",),
    doc=(
        "Codex CLI tool calls, one row per `codex.tool_decision`, `codex.tool_result` or "
        "`codex.sandbox_outcome` record: tool, approval decision and who made it, success, "
        "duration. Arguments and output are never stored. Key: event_id within the day; "
        "`call_id` joins a decision to its result. Partitioned by the day of `timestamp`."
    ),
    key=("event_id",),
    columns=(
        col("event_id", _I64, "Hash of `conversation.id`, `event.name`, `call_id`, time."),
        *_CODEX_COMMON,
        col("model_version", _S, "`model`.", True),
        col("kind", _S, "Which record (see enum)."),
        col("tool_name", _S, "`tool_name`."),
        col("call_id", _I64, "64-bit hash of `call_id` (failed dispatches have none).", True),
        col("decision", _S, "`decision` (decision rows).", True),
        col("decision_source", _S, "`source` of the decision.", True),
        col("success", _B, "`success` (the string true or false).", True),
        col("duration_ms", _F64, "`duration_ms` (sandbox rows: `initial_duration_ms`).", True),
        col("escalated_duration_ms", _F64, "`escalated_duration_ms` (sandbox rows).", True),
        col("sandbox_outcome", _S, "`outcome` (sandbox rows).", True),
        col("mcp_server", _S, "`mcp_server` (null for built-in tools).", True),
        *bookkeeping(),
    ),
    enums={
        "kind": ("decision", "result", "sandbox_outcome"),
        "decision": _DECISIONS,
        "decision_source": ("config", "user"),
    },
)

REPO_SNAPSHOTS = TableSpec(
    name="repo_snapshots",
    filled_by=("codex-metrics collect github OWNER/REPO",),
    doc=(
        "Daily snapshot of a GitHub repository (`GET /repos/{owner}/{repo}` plus an open-PR "
        "count). Key: repo; a later read the same day wins. Partitioned by the day read: these "
        "snapshots are the observed star series, also past the 40,000-star listing cap."
    ),
    key=("repo",),
    newest_by=("observed_at", "ingested_at"),
    columns=(
        col("repo", _S, "`full_name` (owner/name)."),
        col("repo_id", _I64, "`id` (stable across renames)."),
        col("observed_at", UTC_TS, "When the repository was read (a 304 counts)."),
        col("stars", _I64, "`stargazers_count`."),
        col("forks", _I64, "`forks_count`."),
        col("watchers", _I64, "`subscribers_count` (`watchers_count` equals stars).", True),
        col("open_issues_and_prs", _I64, "`open_issues_count` (includes open PRs)."),
        col("open_issues", _I64, "Open issues without PRs.", True),
        col("open_prs", _I64, "Open PRs (pulls listing, `per_page=1` last page).", True),
        col("size_kb", _I64, "`size`, KiB."),
        col("default_branch", _S, "`default_branch`."),
        col("archived", _B, "`archived`."),
        col("pushed_at", UTC_TS, "`pushed_at`.", True),
        *bookkeeping(),
    ),
)

STAR_HISTORY = TableSpec(
    name="star_history",
    filled_by=("codex-metrics collect github OWNER/REPO",),
    doc=(
        "Stars per repository, day and method: `stargazers/history` (daily counts; day "
        "boundaries not promised UTC) and `starred_at` listings (admins only, capped at 40,000) "
        "count stars still held by the day given; a snapshot difference is the observed net "
        "change. Key: (repo, method): methods sit side by side, never summed. Partitioned by the "
        "day the stars were given."
    ),
    key=("repo", "method"),
    newest_by=("observed_at", "ingested_at"),
    columns=(
        col("repo", _S, "`full_name` (owner/name)."),
        col("method", _S, "How the count was obtained (see enum)."),
        col("stars_gained", _I64, "Stars given that day (snapshot_diff: net, may be < 0)."),
        col("stars_cumulative", _I64, "Running total at the end of the day.", True),
        col("stars_still_held", _B, "Counts only stars still present (not snapshot_diff)."),
        col("span_days", _I32, "Days the change covers (> 1 after missed snapshots)."),
        col("truncated", _B, "The listing hit a GitHub page cap: the series is incomplete."),
        col("observed_at", UTC_TS, "When the source was read."),
        *bookkeeping(),
    ),
    enums={"method": ("history_endpoint", "starred_at_listing", "snapshot_diff")},
)

ISSUES = TableSpec(
    name="issues",
    filled_by=("codex-metrics collect github OWNER/REPO",),
    doc=(
        "GitHub issues and PRs (`/issues?state=all`, incrementally with `since`), one row per "
        "item as last seen; titles are public, bodies not stored. Key: (repo, number). "
        "Partitioned by the day created, which never changes: an update replaces the row in its "
        "own partition and a daily run rewrites only the days of changed items. Newest by "
        "`updated_at`."
    ),
    key=("repo", "number"),
    newest_by=("updated_at", "ingested_at"),
    columns=(
        col("repo", _S, "`full_name` of the repository."),
        col("number", _I64, "`number`."),
        col("is_pull_request", _B, "The item has a `pull_request` object."),
        col("state", _S, "`state`."),
        col("state_reason", _S, "`state_reason`.", True),
        col("title", _S, "`title` (public)."),
        col("author", _S, "Pseudonymised `user.login` (null: deleted account).", True),
        col("author_is_bot", _B, "`user.type` is Bot or the login ends in [bot]."),
        col("author_association", _S, "`author_association`, lower-cased.", True),
        col("created_at", UTC_TS, "`created_at`."),
        col("updated_at", UTC_TS, "`updated_at`."),
        col("closed_at", UTC_TS, "`closed_at`.", True),
        col("merged_at", UTC_TS, "`pull_request.merged_at`.", True),
        col("is_draft", _B, "`draft` (PRs).", True),
        col("labels", pa.list_(_S), "`labels[].name`."),
        col("issue_type", _S, "`type.name` (e.g. Bug, Feature).", True),
        col("reactions_total", _I64, "`reactions.total_count`.", True),
        col("reactions_plus_one", _I64, "`reactions.+1`.", True),
        col("comments", _I64, "`comments` (count)."),
        *bookkeeping(),
    ),
    enums={
        "state": ("open", "closed"),
        "state_reason": ("completed", "not_planned", "reopened", "duplicate"),
        "author_association": _ASSOCIATIONS,
    },
)

ISSUE_COMMENTS = TableSpec(
    name="issue_comments",
    filled_by=("codex-metrics collect github OWNER/REPO",),
    doc=(
        "Comments on issues and PRs (`/issues/comments?sort=created`), PR review comments "
        "(`/pulls/comments`) and PR reviews (`--reviews`), for first-response times; bodies are "
        "not stored. Comment, review comment and review ids are separate spaces, hence `kind` "
        "in the key. Partitioned by the day the comment was created."
    ),
    key=("repo", "kind", "comment_id"),
    newest_by=("updated_at", "ingested_at"),
    columns=(
        col("repo", _S, "`full_name` of the repository."),
        col("issue_number", _I64, "Number of the issue or PR (`issue_url`, `pull_request_url`)."),
        col("comment_id", _I64, "`id` of the comment or review."),
        col("kind", _S, "comment, review_comment or review."),
        col("author", _S, "Pseudonymised `user.login` (null: deleted account).", True),
        col("is_bot", _B, "`user.type` is Bot or the login ends in [bot]."),
        col("author_association", _S, "`author_association`, lower-cased.", True),
        col("review_state", _S, "`state` of a review, lower-cased.", True),
        col("created_at", UTC_TS, "`created_at` (reviews: `submitted_at`)."),
        col("updated_at", UTC_TS, "`updated_at`.", True),
        *bookkeeping(),
    ),
    enums={
        "kind": ("comment", "review", "review_comment"),
        "author_association": _ASSOCIATIONS,
        "review_state": ("approved", "changes_requested", "commented", "dismissed", "pending"),
    },
)

SO_QUESTION_COUNTS = TableSpec(
    name="so_question_counts",
    filled_by=("codex-metrics collect stackoverflow --tag TAG",),
    doc=(
        "Stack Exchange questions per tag and period (`/2.3/questions` with `filter=total`; "
        "answers where the quota allows). Key: (site, tag, period). Partitioned by the period's "
        "first day (a month is stored on its 1st); a running period is flagged."
    ),
    key=("site", "tag", "period"),
    newest_by=("observed_at", "ingested_at"),
    columns=(
        col("site", _S, "`site` (stackoverflow)."),
        col("tag", _S, "`tagged` (several tags joined by ; mean all of them)."),
        col("period", _S, "day or month."),
        col("period_complete", _B, "The period had ended when counted."),
        col("question_count", _I64, "`total`: questions created in the period."),
        col("answered_share", _F64, "Share with `is_answered` (accepted or upvoted).", True),
        col("median_minutes_to_first_answer", _F64, "Median time to a first answer.", True),
        col("sampled_questions", _I64, "Questions the share and median come from.", True),
        col("quota_remaining", _I64, "`quota_remaining` after the last call.", True),
        col("observed_at", UTC_TS, "When the counts were read."),
        *bookkeeping(),
    ),
    enums={"period": ("day", "month")},
)

ECOSYSTEM_COUNTS = TableSpec(
    name="ecosystem_counts",
    filled_by=("codex-metrics collect ecosystem",),
    doc=(
        "Daily GitHub search totals of assistant adoption (repositories, commits, files such as "
        "AGENTS.md): search estimates, and capped samples for code search (4,000 repositories "
        "per query). Key: query_name; a changed `query_text` breaks its series. Partitioned by "
        "the day read."
    ),
    key=("query_name",),
    newest_by=("observed_at", "ingested_at"),
    columns=(
        col("query_name", _S, "Name of the query in the config."),
        col("query_text", _S, "The search query `q` as sent."),
        col("search_kind", _S, "The search endpoint."),
        col("total_count", _I64, "`total_count`."),
        col("incomplete_results", _B, "`incomplete_results` (GitHub timed out: a lower bound)."),
        col("label", _S, "How the number must be labelled (see enum)."),
        col("sample_cap", _I64, "Repositories a capped search covers at most.", True),
        col("observed_at", UTC_TS, "When the search ran."),
        *bookkeeping(),
    ),
    enums={
        "search_kind": ("repositories", "commits", "code"),
        "label": ("github_search_estimate", "capped_sample"),
    },
)

SOURCE_TABLES: tuple[TableSpec, ...] = (
    *(COPILOT_USER_DAILY, COPILOT_ENTITY_DAILY, CODEX_REQUESTS, CODEX_TOOL_EVENTS),
    *(REPO_SNAPSHOTS, STAR_HISTORY, ISSUES, ISSUE_COMMENTS, SO_QUESTION_COUNTS, ECOSYSTEM_COUNTS),
)
