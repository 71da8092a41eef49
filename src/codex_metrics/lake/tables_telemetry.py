"""The telemetry tables: developers, teams, seats, experiments, events, tasks, surveys, usage.

Also the code-evaluation results. Written by the simulator, the ingest adapters and the
evaluation pipeline; read by the metric catalogue, the experiment engine and the analyses.
"""

from __future__ import annotations

import pyarrow as pa

from codex_metrics.lake.schema import (
    BREAKDOWNS,
    EDITORS,
    FAILURE_MODES,
    FEATURES,
    LANGUAGES,
    REQUEST_STATUSES,
    TASK_OUTCOMES,
    UTC_TS,
    TableSpec,
    bookkeeping,
    col,
)

__all__ = [
    "ASSIGNMENTS",
    "DEVELOPERS",
    "EVAL_RESULTS",
    "EXPERIMENTS",
    "LATENCY_HISTOGRAMS_DAILY",
    "SEATS",
    "SUGGESTIONS",
    "SURVEYS",
    "TASKS",
    "TEAM_MEMBERS",
    "TYPING",
    "USAGE_DAILY",
]

_S, _I32, _I64, _F64, _B = pa.string(), pa.int32(), pa.int64(), pa.float64(), pa.bool_()

DEVELOPERS = TableSpec(
    name="developers",
    filled_by=("codex-metrics simulate", "codex-metrics ingest developers FILE.csv"),
    doc="One row per developer (pseudonymous), with the attributes analyses slice by.",
    partitioning=None,
    key=("developer_id",),
    columns=(
        col("developer_id", _S, "Pseudonymous developer id."),
        col("org", _S, "Organisation (or enterprise) the developer belongs to."),
        col("experience_years", _F64, "Years of professional experience.", True),
        col("experience_level", _S, "junior (<3 y), mid (3-8 y) or senior (>8 y).", True),
        col("primary_language", _S, "Language the developer writes most.", True),
        col("editor", _S, "Main editor / IDE.", True),
        col("plan", _S, "Assistant plan: business or enterprise.", True),
        col(
            "adopted_at", UTC_TS, "First day the developer used the assistant (null: never).", True
        ),
        col("churned_at", UTC_TS, "Day the developer stopped using it (null: still active).", True),
        col("persona", _S, "Latent behaviour persona (simulated data only).", True),
        col(
            "team",
            _S,
            "Team from the developers CSV (slices by team when no Copilot "
            "user-teams membership covers the day).",
            True,
        ),  # fmt: skip
        col("role", _S, "Role from the developers CSV (e.g. backend, sre).", True),
        col("start_date", pa.date32(), "Day the developer joined (developers CSV).", True),
        *bookkeeping(),
    ),
    enums={"primary_language": LANGUAGES, "editor": EDITORS},
)

TEAM_MEMBERS = TableSpec(
    name="team_members",
    filled_by=("codex-metrics simulate", "codex-metrics ingest copilot-report FILE"),
    doc="Team membership per day; a developer can be in several teams and move between them.",
    key=("developer_id", "team"),
    columns=(
        col("developer_id", _S, "Pseudonymous developer id."),
        col("team", _S, "Team slug."),
        col("org", _S, "Organisation of the team."),
        *bookkeeping(),
    ),
)

SEATS = TableSpec(
    name="seats",
    filled_by=("codex-metrics simulate", "codex-metrics ingest seats FILE"),
    doc=(
        "Daily snapshots of assistant seats (licences): who held one on the snapshot day, since "
        "when, and their last activity as of that day. A day holds a snapshot only when one was "
        "taken (a seats export was ingested, or the simulator's final day); between snapshots, "
        "read the latest one at or before the day."
    ),
    key=("developer_id", "org"),
    columns=(
        col("developer_id", _S, "Pseudonymous developer id."),
        col("org", _S, "Organisation paying for the seat."),
        col("assigned_at", UTC_TS, "When the seat was assigned."),
        col("last_activity_at", UTC_TS, "Last assistant activity seen (null: never used).", True),
        col("plan", _S, "business or enterprise."),
        col("pending_cancellation_date", pa.date32(), "Day the seat is due to end, if any.", True),
        col(
            "last_activity_editor",
            _S,
            "Editor of the last activity, as the vendor reports it.",
            True,
        ),
        *bookkeeping(),
    ),
)

_ARM = pa.struct([("arm", _S), ("model_version", _S), ("weight", _F64)])
_GUARDRAIL = pa.struct([("metric", _S), ("margin", _F64)])
_METRIC_FILTER = pa.struct([("metric", _S), ("dimension", _S), ("value", _S)])

EXPERIMENTS = TableSpec(
    name="experiments",
    filled_by=(
        "codex-metrics simulate --scenario ab_test",
        "codex-metrics ingest experiment FILE.toml",
    ),
    doc=(
        "A/B experiments between model versions. ``guardrail_metrics`` margins are relative "
        "non-inferiority margins (0.05: may not get worse by more than 5%)."
    ),
    partitioning=None,
    key=("experiment_id",),
    columns=(
        col("experiment_id", _S, "Experiment id."),
        col("description", _S, "What is being tested.", True),
        col("arms", pa.list_(_ARM), "Arms with model version and intended allocation weight."),
        col("pre_period_start", UTC_TS, "Start of the pre-period used for CUPED.", True),
        col("start", UTC_TS, "Randomisation start (inclusive)."),
        col("end", UTC_TS, "Experiment end (exclusive).", True),
        col("primary_metrics", pa.list_(_S), "Catalogue names of the primary metrics."),
        col("guardrail_metrics", pa.list_(_GUARDRAIL), "Guardrail metrics with margins."),
        col("secondary_metrics", pa.list_(_S), "Catalogue names of secondary metrics.", True),
        col("planned_developers", _I64, "Planned number of developers (all arms).", True),
        col(
            "metric_filters",
            pa.list_(_METRIC_FILTER),
            "Filters restricting a declared metric's rows (e.g. latency_p90_ms over feature "
            "code_completion); several values of one dimension mean any of them.",
            True,
        ),
        *bookkeeping(),
    ),
)

ASSIGNMENTS = TableSpec(
    name="assignments",
    filled_by=(
        "codex-metrics simulate --scenario ab_test",
        "codex-metrics ingest assignments FILE",
    ),
    doc="Which developer got which arm of which experiment, and when.",
    partitioning=None,
    key=("experiment_id", "developer_id", "arm"),
    columns=(
        col("experiment_id", _S, "Experiment id."),
        col("developer_id", _S, "Pseudonymous developer id."),
        col("arm", _S, "Arm name."),
        col("assigned_at", UTC_TS, "When the developer was assigned."),
        *bookkeeping(),
    ),
)

SUGGESTIONS = TableSpec(
    name="suggestions",
    filled_by=("codex-metrics simulate",),
    doc=(
        "One row per completion shown, chat answer or agent edit (event grain). Persistence "
        "columns count characters of the accepted text still present after the delay; they and "
        "the edit distance are null when nothing was accepted."
    ),
    key=("event_id",),
    columns=(
        col("event_id", _I64, "Event id (64-bit; adapters hash string ids)."),
        col("timestamp", UTC_TS, "When the suggestion was shown (UTC)."),
        col("developer_id", _S, "Pseudonymous developer id."),
        col("org", _S, "Organisation."),
        col("session_id", _I64, "Editor session id (64-bit)."),
        col("feature", _S, "code_completion, chat_inline, chat_panel, agent_edit or cli."),
        col("language", _S, "Language of the file."),
        col("editor", _S, "Editor / IDE."),
        col("model_version", _S, "Model version that served the request."),
        col("status", _S, "Request status: ok, error, timeout, cancelled."),
        col("latency_ms", _F64, "Time from request to first shown token, milliseconds."),
        col("chars_suggested", _I32, "Characters suggested (0 when the request failed)."),
        col("lines_suggested", _I32, "Lines suggested."),
        col("accepted", _B, "Whether the developer accepted it."),
        col("chars_accepted", _I32, "Characters accepted (partial accepts count what was taken)."),
        col("lines_accepted", _I32, "Lines accepted."),
        col("chars_persisted_30s", _I32, "Accepted characters still present 30 s later.", True),
        col("chars_persisted_2m", _I32, "... 2 minutes later.", True),
        col("chars_persisted_5m", _I32, "... 5 minutes later.", True),
        col("chars_persisted_10m", _I32, "... 10 minutes later.", True),
        col(
            "edit_distance_10m",
            _I32,
            "Levenshtein distance, accepted text vs the code 10 min later.",
            True,
        ),
        col(
            "keystrokes_saved", _I32, "Keystrokes the developer did not type thanks to the accept."
        ),
        col(
            "post_accept_failure",
            _B,
            "Compile or run failure after acceptance (null: not accepted).",
            True,
        ),
        col("is_fallback", _B, "Served by the fallback model after the primary failed."),
        col("failure_mode", _S, "Failure-mode category (see enum)."),
        *bookkeeping(),
    ),
    enums={
        "feature": FEATURES,
        "status": REQUEST_STATUSES,
        "language": LANGUAGES,
        "editor": EDITORS,
        "failure_mode": FAILURE_MODES,
    },
)

TYPING = TableSpec(
    name="typing",
    filled_by=("codex-metrics simulate",),
    doc="Characters and lines typed by hand per developer and day (for the AI share of code).",
    key=("developer_id",),
    columns=(
        col("developer_id", _S, "Pseudonymous developer id."),
        col("org", _S, "Organisation."),
        col("chars_typed", _I64, "Characters typed by hand."),
        col("lines_typed", _I64, "Lines typed by hand."),
        *bookkeeping(),
    ),
)

TASKS = TableSpec(
    name="tasks",
    filled_by=("codex-metrics simulate",),
    doc="Coding or agent tasks with their duration and outcome, with or without the assistant.",
    key=("task_id",),
    columns=(
        col("task_id", _I64, "Task id (64-bit)."),
        col("developer_id", _S, "Pseudonymous developer id."),
        col("org", _S, "Organisation."),
        col("started_at", UTC_TS, "When the task started."),
        col("task_kind", _S, "coding (a developer's task) or agent (an autonomous agent run)."),
        col("with_ai", _B, "Whether the assistant was used."),
        col("model_version", _S, "Model version used (null without AI).", True),
        col("duration_s", _F64, "Time to completion (or to giving up), seconds."),
        col("outcome", _S, "success, fail, timeout or error."),
        col("tests_passed", _I32, "Tests passing at the end."),
        col("tests_total", _I32, "Tests in the task."),
        *bookkeeping(),
    ),
    enums={"outcome": TASK_OUTCOMES},
)

SURVEYS = TableSpec(
    name="surveys",
    filled_by=("codex-metrics simulate", "codex-metrics ingest survey FILE.csv"),
    doc=(
        "Developer survey answers. Likert items are 1-5, NPS 0-10. The developer-happiness "
        "score combines satisfaction, perceived productivity, flow, ease of use, trust and "
        "(reversed) frustration."
    ),
    key=("response_id",),
    columns=(
        col("response_id", _I64, "Response id (64-bit)."),
        col("developer_id", _S, "Pseudonymous developer id."),
        col("org", _S, "Organisation."),
        col("submitted_at", UTC_TS, "When the answer was submitted."),
        col("satisfaction", _I32, "Overall satisfaction with the assistant, 1-5."),
        col("nps", _I32, "Likelihood to recommend, 0-10.", True),
        col("perceived_productivity", _I32, "'It makes me more productive', 1-5.", True),
        col("flow", _I32, "'It helps me stay in the flow', 1-5.", True),
        col("ease_of_use", _I32, "'It is easy to use', 1-5.", True),
        col("trust", _I32, "'I trust its code', 1-5.", True),
        col("frustration", _I32, "'It frustrates me', 1-5 (higher is worse).", True),
        *bookkeeping(),
    ),
)

USAGE_DAILY = TableSpec(
    name="usage_daily",
    filled_by=("codex-metrics simulate", "codex-metrics ingest copilot-report FILE"),
    doc=(
        "Daily grain, per developer (user) and day, shaped like GitHub's Copilot usage-metrics "
        "per-user report. ``breakdown`` names which dimension columns are set: total (none), "
        "ide, feature, language_feature, language_model, model_feature. A metric reads the one "
        "breakdown that carries its dimensions and never sums across breakdowns. Event tables "
        "roll up into it (feature names in GitHub's spelling)."
    ),
    key=("developer_id", "org", "breakdown", "ide", "feature", "language", "model"),
    newest_by=("report_end_day", "fetched_at", "ingested_at"),
    columns=(
        col("developer_id", _S, "Pseudonymous user id."),
        col("org", _S, "Organisation or enterprise the report is for."),
        col("breakdown", _S, "Which dimensions are set (see enum)."),
        col("ide", _S, "Editor (breakdown ide).", True),
        col(
            "feature",
            _S,
            "Feature, GitHub spelling (feature, language_feature, model_feature).",
            True,
        ),
        col("language", _S, "Language (language_feature, language_model).", True),
        col("model", _S, "Model (language_model, model_feature).", True),
        col("user_initiated_interaction_count", _I64, "Prompts explicitly sent."),
        col("code_generation_activity_count", _I64, "Suggestions / output blocks generated."),
        col("code_acceptance_activity_count", _I64, "Accept actions."),
        col("loc_suggested_to_add_sum", _I64, "Lines suggested to add."),
        col("loc_suggested_to_delete_sum", _I64, "Lines suggested to delete."),
        col("loc_added_sum", _I64, "Lines added (accepted)."),
        col("loc_deleted_sum", _I64, "Lines deleted (accepted)."),
        col("used_chat", _B, "Used chat that day (breakdown total).", True),
        col("used_agent", _B, "Used agent mode that day (breakdown total).", True),
        col("used_cli", _B, "Used the CLI that day (breakdown total).", True),
        col(
            "report_start_day",
            pa.date32(),
            "First day of the vendor report the row came from.",
            True,
        ),
        col("report_end_day", pa.date32(), "Last day of that report (newest wins).", True),
        col("fetched_at", UTC_TS, "When the report was downloaded.", True),
        col(
            "entity_type",
            _S,
            "enterprise or org: the kind of Copilot report the row is from (null: roll-ups of "
            "event telemetry). Metrics read one per developer-day, org rows first.",
            True,
        ),
        *bookkeeping(),
    ),
    enums={"breakdown": BREAKDOWNS, "entity_type": ("enterprise", "org")},
)

EVAL_RESULTS = TableSpec(
    name="eval_results",
    filled_by=("codex-metrics eval run SAMPLES.jsonl",),
    doc=(
        "One row per executed code-evaluation sample: which model version produced it for which "
        "task, and the sandboxed verdict. Run-level fields (provider, settings, started and "
        "finished) repeat on every row of a run; the eval_runs view selects them once per run."
    ),
    partitioning=None,
    selects_source=False,
    key=("eval_run_id", "task_id", "sample_index"),
    columns=(
        col("eval_run_id", _S, "Evaluation run id."),
        col("model_version", _S, "Model version that generated the sample."),
        col("suite", _S, "Task suite (humaneval, builtin, or a user suite name)."),
        col("task_id", _S, "Task id within the suite."),
        col("sample_index", _I32, "Index of the sample for this task."),
        col("outcome", _S, "Verdict (evaluation Outcome enum value)."),
        col("passed", _B, "Whether all tests passed."),
        col("duration_s", _F64, "Run time of the sample, seconds.", True),
        col("peak_memory_kb", _I64, "Peak resident memory, KiB.", True),
        col("edit_distance_tokens", _F64, "Normalised token edit distance to the reference.", True),
        col("edit_distance_chars", _F64, "Normalised char edit distance to the reference.", True),
        col("quality_score", _F64, "Code-quality score 0-100 (see docs).", True),
        col("error_type", _S, "Exception class when it failed.", True),
        col("error_message", _S, "Truncated error message.", True),
        col("traceback_excerpt", _S, "Last frames of the traceback, truncated.", True),
        col("exit_code", _I32, "Exit code of the sample's process (negative: signal).", True),
        col("compile_ok", _B, "The code compiles (not run).", True),
        col("complexity", _I32, "Maximum cyclomatic complexity of its functions.", True),
        col("ruff_findings", _I32, "Ruff findings other than security ones.", True),
        col("security_findings", _I32, "Ruff flake8-bandit (S) security findings.", True),
        col("provider", _S, "Where the samples came from: openai, replay.", True),
        col("run_settings", _S, "Run settings as JSON (limits, model parameters).", True),
        col("run_started_at", UTC_TS, "When the run started (UTC).", True),
        col("run_finished_at", UTC_TS, "When the run finished (UTC).", True),
        *bookkeeping(),
    ),
)

LATENCY_HISTOGRAMS_DAILY = TableSpec(
    name="latency_histograms_daily",
    filled_by=("codex-metrics simulate",),
    doc=(
        "Request latency per developer, day, feature and model as counts on a fixed log-spaced "
        "grid (``latency_bin``: bucket ``ceil(ln(latency_ms) / ln γ)`` with γ = 1.01/0.99, so a "
        "quantile read from the counts is within 1% of the exact one; see "
        "``codex_metrics.lake.latency_grid``). Rolled up from ``suggestions`` (every request with "
        "a latency, whatever its status), so dashboards read percentiles without scanning events."
    ),
    key=("developer_id", "org", "feature", "model_version", "latency_bin"),
    columns=(
        col("developer_id", _S, "Pseudonymous developer id."),
        col("org", _S, "Organisation."),
        col("feature", _S, "code_completion, chat_inline, chat_panel, agent_edit or cli."),
        col("model_version", _S, "Model version that served the requests."),
        col("latency_bin", _I32, "Bucket index i: latencies in (γ^(i-1), γ^i] ms."),
        col(
            "requests", _I64, "Requests of the developer on the day whose latency is in the bucket."
        ),
        *bookkeeping(),
    ),
    enums={"feature": FEATURES},
)
