"""The telemetry schema: every lake table declared once, as data.

Each :class:`TableSpec` names its columns (with Arrow types and a sentence of meaning), its key
(rows with equal keys are the same fact; the newest wins), how it is partitioned, and the columns
that order "newest". docs/schema.md is generated from these declarations
(:func:`codex_metrics.telemetry.schema_docs.render_schema_markdown`), and a test keeps it honest.

Conventions shared by all tables:

* every row carries ``source`` and ``ingested_at``; simulated rows also carry ``run_id``;
* timestamps are timezone-aware UTC; day-partitioned tables do not store ``day`` in the file,
  it comes from the ``day=YYYY-MM-DD`` directory (readers see it as a ``DATE`` column);
* identifiers of people are pseudonymous strings (see DESIGN.md, personal data); event,
  session and task identifiers are 64-bit integers (adapters hash string ids into them);
* categorical columns hold the lower-case values listed in their enum below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa

__all__ = [
    "BOOKKEEPING_COLUMNS",
    "BREAKDOWNS",
    "EDITORS",
    "FAILURE_MODES",
    "FEATURES",
    "LANGUAGES",
    "REQUEST_STATUSES",
    "SCHEMA_VERSION",
    "TABLES",
    "TASK_OUTCOMES",
    "USAGE_COUNTERS",
    "USAGE_FEATURE_NAMES",
    "Column",
    "TableSpec",
    "table_spec",
]

SCHEMA_VERSION = 1

UTC_TS = pa.timestamp("us", tz="UTC")

FEATURES = ("code_completion", "chat_inline", "chat_panel", "agent_edit", "cli")
# GitHub's Copilot usage-metrics report spells some features differently; usage_daily uses
# GitHub's spelling so real reports and simulated roll-ups share one vocabulary.
USAGE_FEATURE_NAMES = {
    "code_completion": "code_completion",
    "chat_inline": "chat_inline",
    "chat_panel": "chat_panel_ask_mode",
    "agent_edit": "agent_edit",
    "cli": "copilot_cli",
}
REQUEST_STATUSES = ("ok", "error", "timeout", "cancelled")
LANGUAGES = ("python", "typescript", "javascript", "java", "go", "csharp", "cpp", "rust", "ruby")
EDITORS = ("vscode", "jetbrains", "neovim", "visualstudio")
FAILURE_MODES = (
    "none",  # nothing went wrong (shown and accepted, kept)
    "not_accepted",  # shown, the developer did not take it
    "service_error",  # the request failed (status error)
    "timeout",  # the request timed out
    "cancelled",  # the client cancelled (typing went on)
    "compile_error",  # accepted, then the code did not compile / parse
    "runtime_error",  # accepted, then the code failed when run or tested
    "hallucinated_api",  # accepted, referenced an API that does not exist
    "heavily_edited",  # accepted, but more than half of it was rewritten within 10 minutes
)
TASK_OUTCOMES = ("success", "fail", "timeout", "error")
BREAKDOWNS = ("total", "ide", "feature", "language_feature", "language_model", "model_feature")
BREAKDOWN_DIMENSIONS: dict[str, tuple[str, ...]] = {
    "total": (),
    "ide": ("ide",),
    "feature": ("feature",),
    "language_feature": ("language", "feature"),
    "language_model": ("language", "model"),
    "model_feature": ("model", "feature"),
}
USAGE_COUNTERS = (
    "user_initiated_interaction_count",
    "code_generation_activity_count",
    "code_acceptance_activity_count",
    "loc_suggested_to_add_sum",
    "loc_suggested_to_delete_sum",
    "loc_added_sum",
    "loc_deleted_sum",
)


@dataclass(frozen=True)
class Column:
    """One column: name, Arrow type, whether it may be null, and what it means."""

    name: str
    type: pa.DataType
    doc: str
    nullable: bool = False


@dataclass(frozen=True)
class TableSpec:
    """A lake table.

    Attributes:
        name: directory name under the lake root.
        doc: one paragraph on what a row is.
        columns: the stored columns (``day`` excluded: it lives in the directory name).
        key: columns that identify a fact; rows with the same key (and source) are one fact.
        partitioning: ``"day"`` for ``day=YYYY-MM-DD/`` directories, ``None`` for whole tables.
        newest_by: columns ordering versions of one fact, newest last (``ingested_at`` last).
    """

    name: str
    doc: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    partitioning: Literal["day"] | None = "day"
    newest_by: tuple[str, ...] = ("ingested_at",)
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def column_names(self) -> tuple[str, ...]:
        """Names of the stored columns, in order."""
        return tuple(c.name for c in self.columns)

    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema of the stored files (``day`` excluded)."""
        return pa.schema([pa.field(c.name, c.type, nullable=c.nullable) for c in self.columns])


def _bookkeeping() -> tuple[Column, ...]:
    return (
        Column(
            "source",
            pa.string(),
            "Where the row came from: simulator, copilot-report, codex-otel, ...",
        ),
        Column("ingested_at", UTC_TS, "When the row was written to the lake (UTC)."),
        Column(
            "run_id",
            pa.string(),
            "Simulator run that produced the row (simulated rows only).",
            True,
        ),
    )


BOOKKEEPING_COLUMNS = ("source", "ingested_at", "run_id")


def _c(name: str, type_: pa.DataType, doc: str, nullable: bool = False) -> Column:
    return Column(name, type_, doc, nullable)


_S, _I32, _I64, _F64, _B = pa.string(), pa.int32(), pa.int64(), pa.float64(), pa.bool_()

DEVELOPERS = TableSpec(
    name="developers",
    doc="One row per developer (pseudonymous), with the attributes analyses slice by.",
    partitioning=None,
    key=("developer_id",),
    columns=(
        _c("developer_id", _S, "Pseudonymous developer id."),
        _c("org", _S, "Organisation (or enterprise) the developer belongs to."),
        _c("experience_years", _F64, "Years of professional experience.", True),
        _c("experience_level", _S, "junior (<3 y), mid (3-8 y) or senior (>8 y).", True),
        _c("primary_language", _S, "Language the developer writes most.", True),
        _c("editor", _S, "Main editor / IDE.", True),
        _c("plan", _S, "Assistant plan: business or enterprise.", True),
        _c("adopted_at", UTC_TS, "First day the developer used the assistant (null: never).", True),
        _c("churned_at", UTC_TS, "Day the developer stopped using it (null: still active).", True),
        _c("persona", _S, "Latent behaviour persona (simulated data only).", True),
        *_bookkeeping(),
    ),
    enums={"primary_language": LANGUAGES, "editor": EDITORS},
)

TEAM_MEMBERS = TableSpec(
    name="team_members",
    doc="Team membership per day; a developer can be in several teams and move between them.",
    key=("developer_id", "team"),
    columns=(
        _c("developer_id", _S, "Pseudonymous developer id."),
        _c("team", _S, "Team slug."),
        _c("org", _S, "Organisation of the team."),
        *_bookkeeping(),
    ),
)

SEATS = TableSpec(
    name="seats",
    doc="Assistant seats (licences): who holds one, since when, and their last activity.",
    partitioning=None,
    key=("developer_id",),
    columns=(
        _c("developer_id", _S, "Pseudonymous developer id."),
        _c("org", _S, "Organisation paying for the seat."),
        _c("assigned_at", UTC_TS, "When the seat was assigned."),
        _c("last_activity_at", UTC_TS, "Last assistant activity seen (null: never used).", True),
        _c("plan", _S, "business or enterprise."),
        *_bookkeeping(),
    ),
)

_ARM = pa.struct([("arm", _S), ("model_version", _S), ("weight", _F64)])
_GUARDRAIL = pa.struct([("metric", _S), ("margin", _F64)])

EXPERIMENTS = TableSpec(
    name="experiments",
    doc=(
        "A/B experiments between model versions. ``guardrail_metrics`` margins are relative "
        "non-inferiority margins (0.05: may not get worse by more than 5%)."
    ),
    partitioning=None,
    key=("experiment_id",),
    columns=(
        _c("experiment_id", _S, "Experiment id."),
        _c("description", _S, "What is being tested.", True),
        _c("arms", pa.list_(_ARM), "Arms with model version and intended allocation weight."),
        _c("pre_period_start", UTC_TS, "Start of the pre-period used for CUPED.", True),
        _c("start", UTC_TS, "Randomisation start (inclusive)."),
        _c("end", UTC_TS, "Experiment end (exclusive).", True),
        _c("primary_metrics", pa.list_(_S), "Catalogue names of the primary metrics."),
        _c("guardrail_metrics", pa.list_(_GUARDRAIL), "Guardrail metrics with margins."),
        _c("secondary_metrics", pa.list_(_S), "Catalogue names of secondary metrics.", True),
        _c("planned_developers", _I64, "Planned number of developers (all arms).", True),
        *_bookkeeping(),
    ),
)

ASSIGNMENTS = TableSpec(
    name="assignments",
    doc="Which developer got which arm of which experiment, and when.",
    partitioning=None,
    key=("experiment_id", "developer_id", "arm"),
    columns=(
        _c("experiment_id", _S, "Experiment id."),
        _c("developer_id", _S, "Pseudonymous developer id."),
        _c("arm", _S, "Arm name."),
        _c("assigned_at", UTC_TS, "When the developer was assigned."),
        *_bookkeeping(),
    ),
)

SUGGESTIONS = TableSpec(
    name="suggestions",
    doc=(
        "One row per completion shown, chat answer or agent edit (event grain). Persistence "
        "columns count characters of the accepted text still present after the delay; they and "
        "the edit distance are null when nothing was accepted."
    ),
    key=("event_id",),
    columns=(
        _c("event_id", _I64, "Event id (64-bit; adapters hash string ids)."),
        _c("timestamp", UTC_TS, "When the suggestion was shown (UTC)."),
        _c("developer_id", _S, "Pseudonymous developer id."),
        _c("org", _S, "Organisation."),
        _c("session_id", _I64, "Editor session id (64-bit)."),
        _c("feature", _S, "code_completion, chat_inline, chat_panel, agent_edit or cli."),
        _c("language", _S, "Language of the file."),
        _c("editor", _S, "Editor / IDE."),
        _c("model_version", _S, "Model version that served the request."),
        _c("status", _S, "Request status: ok, error, timeout, cancelled."),
        _c("latency_ms", _F64, "Time from request to first shown token, milliseconds."),
        _c("chars_suggested", _I32, "Characters suggested (0 when the request failed)."),
        _c("lines_suggested", _I32, "Lines suggested."),
        _c("accepted", _B, "Whether the developer accepted it."),
        _c("chars_accepted", _I32, "Characters accepted (partial accepts count what was taken)."),
        _c("lines_accepted", _I32, "Lines accepted."),
        _c("chars_persisted_30s", _I32, "Accepted characters still present 30 s later.", True),
        _c("chars_persisted_2m", _I32, "... 2 minutes later.", True),
        _c("chars_persisted_5m", _I32, "... 5 minutes later.", True),
        _c("chars_persisted_10m", _I32, "... 10 minutes later.", True),
        _c(
            "edit_distance_10m",
            _I32,
            "Levenshtein distance, accepted text vs the code 10 min later.",
            True,
        ),
        _c("keystrokes_saved", _I32, "Keystrokes the developer did not type thanks to the accept."),
        _c(
            "post_accept_failure",
            _B,
            "Compile or run failure after acceptance (null: not accepted).",
            True,
        ),
        _c("is_fallback", _B, "Served by the fallback model after the primary failed."),
        _c("failure_mode", _S, "Failure-mode category (see enum)."),
        *_bookkeeping(),
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
    doc="Characters and lines typed by hand per developer and day (for the AI share of code).",
    key=("developer_id",),
    columns=(
        _c("developer_id", _S, "Pseudonymous developer id."),
        _c("org", _S, "Organisation."),
        _c("chars_typed", _I64, "Characters typed by hand."),
        _c("lines_typed", _I64, "Lines typed by hand."),
        *_bookkeeping(),
    ),
)

TASKS = TableSpec(
    name="tasks",
    doc="Coding or agent tasks with their duration and outcome, with or without the assistant.",
    key=("task_id",),
    columns=(
        _c("task_id", _I64, "Task id (64-bit)."),
        _c("developer_id", _S, "Pseudonymous developer id."),
        _c("org", _S, "Organisation."),
        _c("started_at", UTC_TS, "When the task started."),
        _c("task_kind", _S, "coding (a developer's task) or agent (an autonomous agent run)."),
        _c("with_ai", _B, "Whether the assistant was used."),
        _c("model_version", _S, "Model version used (null without AI).", True),
        _c("duration_s", _F64, "Time to completion (or to giving up), seconds."),
        _c("outcome", _S, "success, fail, timeout or error."),
        _c("tests_passed", _I32, "Tests passing at the end."),
        _c("tests_total", _I32, "Tests in the task."),
        *_bookkeeping(),
    ),
    enums={"outcome": TASK_OUTCOMES},
)

SURVEYS = TableSpec(
    name="surveys",
    doc=(
        "Developer survey answers. Likert items are 1-5, NPS 0-10. The developer-happiness "
        "score combines satisfaction, perceived productivity, flow, ease of use, trust and "
        "(reversed) frustration."
    ),
    key=("response_id",),
    columns=(
        _c("response_id", _I64, "Response id (64-bit)."),
        _c("developer_id", _S, "Pseudonymous developer id."),
        _c("org", _S, "Organisation."),
        _c("submitted_at", UTC_TS, "When the answer was submitted."),
        _c("satisfaction", _I32, "Overall satisfaction with the assistant, 1-5."),
        _c("nps", _I32, "Likelihood to recommend, 0-10.", True),
        _c("perceived_productivity", _I32, "'It makes me more productive', 1-5.", True),
        _c("flow", _I32, "'It helps me stay in the flow', 1-5.", True),
        _c("ease_of_use", _I32, "'It is easy to use', 1-5.", True),
        _c("trust", _I32, "'I trust its code', 1-5.", True),
        _c("frustration", _I32, "'It frustrates me', 1-5 (higher is worse).", True),
        *_bookkeeping(),
    ),
)

USAGE_DAILY = TableSpec(
    name="usage_daily",
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
        _c("developer_id", _S, "Pseudonymous user id."),
        _c("org", _S, "Organisation or enterprise the report is for."),
        _c("breakdown", _S, "Which dimensions are set (see enum)."),
        _c("ide", _S, "Editor (breakdown ide).", True),
        _c(
            "feature",
            _S,
            "Feature, GitHub spelling (feature, language_feature, model_feature).",
            True,
        ),
        _c("language", _S, "Language (language_feature, language_model).", True),
        _c("model", _S, "Model (language_model, model_feature).", True),
        _c("user_initiated_interaction_count", _I64, "Prompts explicitly sent."),
        _c("code_generation_activity_count", _I64, "Suggestions / output blocks generated."),
        _c("code_acceptance_activity_count", _I64, "Accept actions."),
        _c("loc_suggested_to_add_sum", _I64, "Lines suggested to add."),
        _c("loc_suggested_to_delete_sum", _I64, "Lines suggested to delete."),
        _c("loc_added_sum", _I64, "Lines added (accepted)."),
        _c("loc_deleted_sum", _I64, "Lines deleted (accepted)."),
        _c("used_chat", _B, "Used chat that day (breakdown total).", True),
        _c("used_agent", _B, "Used agent mode that day (breakdown total).", True),
        _c("used_cli", _B, "Used the CLI that day (breakdown total).", True),
        _c(
            "report_start_day",
            pa.date32(),
            "First day of the vendor report the row came from.",
            True,
        ),
        _c("report_end_day", pa.date32(), "Last day of that report (newest wins).", True),
        _c("fetched_at", UTC_TS, "When the report was downloaded.", True),
        *_bookkeeping(),
    ),
    enums={"breakdown": BREAKDOWNS},
)

EVAL_RESULTS = TableSpec(
    name="eval_results",
    doc=(
        "One row per executed code-evaluation sample: which model version produced it for which "
        "task, and the sandboxed verdict. Run-level fields (provider, settings, started and "
        "finished) repeat on every row of a run; the eval_runs view selects them once per run."
    ),
    partitioning=None,
    key=("eval_run_id", "task_id", "sample_index"),
    columns=(
        _c("eval_run_id", _S, "Evaluation run id."),
        _c("model_version", _S, "Model version that generated the sample."),
        _c("suite", _S, "Task suite (humaneval, builtin, or a user suite name)."),
        _c("task_id", _S, "Task id within the suite."),
        _c("sample_index", _I32, "Index of the sample for this task."),
        _c("outcome", _S, "Verdict (evaluation Outcome enum value)."),
        _c("passed", _B, "Whether all tests passed."),
        _c("duration_s", _F64, "Run time of the sample, seconds.", True),
        _c("peak_memory_kb", _I64, "Peak resident memory, KiB.", True),
        _c("edit_distance_tokens", _F64, "Normalised token edit distance to the reference.", True),
        _c("edit_distance_chars", _F64, "Normalised char edit distance to the reference.", True),
        _c("quality_score", _F64, "Code-quality score 0-100 (see docs).", True),
        _c("error_type", _S, "Exception class when it failed.", True),
        _c("error_message", _S, "Truncated error message.", True),
        _c("traceback_excerpt", _S, "Last frames of the traceback, truncated.", True),
        _c("exit_code", _I32, "Exit code of the sample's process (negative: signal).", True),
        _c("compile_ok", _B, "The code compiles (not run).", True),
        _c("complexity", _I32, "Maximum cyclomatic complexity of its functions.", True),
        _c("ruff_findings", _I32, "Ruff findings other than security ones.", True),
        _c("security_findings", _I32, "Ruff flake8-bandit (S) security findings.", True),
        _c("provider", _S, "Where the samples came from: openai, replay.", True),
        _c("run_settings", _S, "Run settings as JSON (limits, model parameters).", True),
        _c("run_started_at", UTC_TS, "When the run started (UTC).", True),
        _c("run_finished_at", UTC_TS, "When the run finished (UTC).", True),
        *_bookkeeping(),
    ),
)

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        DEVELOPERS,
        TEAM_MEMBERS,
        SEATS,
        EXPERIMENTS,
        ASSIGNMENTS,
        SUGGESTIONS,
        TYPING,
        TASKS,
        SURVEYS,
        USAGE_DAILY,
        EVAL_RESULTS,
    )
}


def table_spec(name: str) -> TableSpec:
    """Return the spec of table ``name``.

    Raises:
        DataNotFoundError: when no such table is declared.
    """
    from codex_metrics.errors import DataNotFoundError

    try:
        return TABLES[name]
    except KeyError:
        known = ", ".join(sorted(TABLES))
        raise DataNotFoundError(f"unknown table {name!r}; known tables: {known}") from None
