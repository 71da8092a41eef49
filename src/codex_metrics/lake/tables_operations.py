"""Tables the product keeps about itself: runs of sources, annotations, alerts, analyses, evals.

These are records of what the tool did and concluded, not data a metric counts: every table here
has ``selects_source=False``, so ``--source`` never hides them and they never make a simulated
lake look real. Their ``source`` is the writer (``collect``, ``alerts``, ``analysis``, ...) and
their ``scope`` what the record is about (the source run's scope, an analysis or eval run id).
Free text here is the tool's own (messages, annotation text); nothing holds prompts, model output
or personal data beyond pseudonymised ids.
"""

from __future__ import annotations

import pyarrow as pa

from codex_metrics.lake.schema import UTC_TS, TableSpec, bookkeeping, col

__all__ = [
    "ALERT_EVENTS",
    "ANALYSIS_RESULTS",
    "ANNOTATIONS",
    "ANNOTATION_KINDS",
    "EVAL_RUNS",
    "OPERATIONS_TABLES",
    "SOURCE_RUNS",
]

_S, _I32, _I64, _F64, _B = pa.string(), pa.int32(), pa.int64(), pa.float64(), pa.bool_()

ANNOTATION_KINDS = (
    "deploy",
    "model_release",
    "rollout",
    "incident",
    "experiment_start",
    "experiment_end",
    "other",
)

SOURCE_RUNS = TableSpec(
    name="source_runs",
    filled_by=("codex-metrics ingest ...", "codex-metrics collect ..."),
    doc=(
        "One row per run of one source over one scope: every `ingest` file set and `collect` "
        "target (and `simulate`), for freshness (last success, last error), rows and request "
        "budgets. The row's `source` and `scope` are the run's. A run writes its row when it "
        "starts (status running) and again when it ends; the finished row wins (newest by "
        "finished_at, nulls last). Partitioned by the UTC day of started_at, so a run's two "
        "writes land in one partition and a write rewrites one day's runs, not the history; "
        '"last successful update" reads the few recent days.'
    ),
    key=("source_run_id",),
    newest_by=("finished_at", "ingested_at"),
    selects_source=False,
    columns=(
        col("source_run_id", _S, "Run id (a UUID), unique across sources."),
        col("invocation_id", _S, "Id shared by the runs of one command (`collect all`).", True),
        col("run_kind", _S, "What kind of command ran (see enum)."),
        col("command", _S, "The command, e.g. `collect github` (no tokens, no paths)."),
        col("started_at", UTC_TS, "When the run started."),
        col("finished_at", UTC_TS, "When it ended (null: still running or killed).", True),
        col("status", _S, "Outcome: partial means some targets or pages failed."),
        col("rows_written", _I64, "Rows committed by the run, all tables."),
        col("rows_rejected", _I64, "Lines quarantined by `--skip-bad-lines`.", True),
        col("tables", pa.list_(_S), "Tables the run wrote.", True),
        col("inputs", pa.list_(_S), "File base names or API paths read (no query tokens).", True),
        col("data_first_day", pa.date32(), "First day of data the run wrote.", True),
        col("data_last_day", pa.date32(), "Last day of data the run wrote.", True),
        col("requests_used", _I64, "HTTP requests that counted against a rate limit.", True),
        col("requests_not_modified", _I64, "Conditional requests answered 304 (free).", True),
        col("rate_limit_remaining", _I64, "Requests left in the bucket at the end.", True),
        col("rate_limit_resource", _S, "Bucket: core, search (GitHub), quota (Stack).", True),
        col("rate_limit_reset_at", UTC_TS, "When that bucket resets.", True),
        col("error", _S, "One-line error message (status error or partial).", True),
        col("parameters", _S, "The run's options as JSON (never secrets).", True),
        col("tool_version", _S, "codex-metrics version that ran.", True),
        *bookkeeping(),
    ),
    enums={
        "run_kind": ("ingest", "collect", "simulate"),
        "status": ("ok", "error", "partial", "running"),
    },
)

ANNOTATIONS = TableSpec(
    name="annotations",
    filled_by=("codex-metrics annotate DAY TEXT",),
    doc=(
        "Events that explain a chart: deploys, model releases, rollouts, incidents, experiment "
        "starts, written by `codex-metrics annotate` and by the simulator's scenarios. The "
        "dashboard draws them as milestones and the alerts test for a change after them. Key: "
        "annotation_id, stable (annotate derives it from day, kind, text and model, so a "
        "repeated command changes nothing). Partitioned by the annotated UTC day, the day "
        "charts and change detection look it up by. Read whatever the source."
    ),
    key=("annotation_id",),
    selects_source=False,
    columns=(
        col("annotation_id", _S, "Stable annotation id."),
        col("kind", _S, "What happened (see enum)."),
        col("text", _S, "Short description shown on charts (no personal data)."),
        col("at", UTC_TS, "Exact time, when known.", True),
        col("end_day", pa.date32(), "Last day of a multi-day event (rollout, incident).", True),
        col("model_version", _S, "Model version released or deployed.", True),
        col("applies_to", _S, "Slice as catalogue filters `dim=value`, comma-joined.", True),
        col("experiment_id", _S, "Experiment that started or ended.", True),
        col("url", _S, "Link to release notes, a deploy or an incident.", True),
        col("created_at", UTC_TS, "When the annotation was recorded."),
        col("created_by", _S, "Pseudonymised author, or the tool (simulator).", True),
        *bookkeeping(),
    ),
    enums={"kind": ANNOTATION_KINDS},
)

ALERT_EVENTS = TableSpec(
    name="alert_events",
    filled_by=("codex-metrics alerts check",),
    doc=(
        "Every alert and every delivery attempt (`alerts check`, `alerts digest`): `fired` and "
        "`resolved` rows carry the metric, slice, observed and expected values with their "
        "interval and the day the change started; delivery rows carry the channel, attempt "
        "and response. alert_id is stable per incident (rule, metric, slice, change start "
        "day) and sent in every payload, so an alert is never re-sent after a recorded "
        "delivery. Key: (alert_id, event, channel, attempt). Partitioned by the UTC day of "
        "`at`, as alerts are read by recent days (open alerts, cool-down, weekly digest)."
    ),
    key=("alert_id", "event", "channel", "attempt"),
    newest_by=("at", "ingested_at"),
    selects_source=False,
    columns=(
        col("alert_id", _S, "Stable id of the alert (or of the digest: digest-YYYY-Www)."),
        col("event", _S, "What happened (see enum)."),
        col("at", UTC_TS, "When it happened."),
        col("alert_kind", _S, "alert or digest."),
        col("rule", _S, "Name of the target in `[alerts]`.", True),
        col("target_kind", _S, "Kind of target that fired (see enum).", True),
        col("metric", _S, "Catalogue metric name.", True),
        col("slice", _S, "Slice as `dim=value` filters, comma-joined (empty: overall).", True),
        col("observed", _F64, "Observed value on the day.", True),
        col("expected", _F64, "Expected value (threshold or baseline).", True),
        col("lower", _F64, "Lower bound of the expected interval.", True),
        col("upper", _F64, "Upper bound of the expected interval.", True),
        col("unit", _S, "Unit of the metric (ms, ratio, ...).", True),
        col("direction", _S, "Whether the metric went up or down.", True),
        col("change_start_day", pa.date32(), "Day the change started.", True),
        col("contributors", _S, "Slices contributing most, as JSON.", True),
        col("annotation_id", _S, "Annotation a post-deploy target refers to.", True),
        col("channel", _S, "Configured channel name (never its URL or address).", True),
        col("channel_kind", _S, "webhook (Slack-compatible) or email.", True),
        col("attempt", _I32, "Delivery attempt, 1-based.", True),
        col("http_status", _I32, "Webhook HTTP status.", True),
        col("smtp_code", _I32, "SMTP reply code.", True),
        col("error", _S, "Delivery error (timeout: outcome unknown).", True),
        col("message", _S, "The alert's one-line text."),
        *bookkeeping(),
    ),
    enums={
        "event": ("fired", "resolved", "delivery_attempt", "delivered", "undelivered"),
        "alert_kind": ("alert", "digest"),
        "target_kind": ("threshold", "baseline", "after_annotation"),
        "direction": ("increase", "decrease"),
        "channel_kind": ("webhook", "email"),
    },
)

ANALYSIS_RESULTS = TableSpec(
    name="analysis_results",
    filled_by=("codex-metrics productivity",),
    doc=(
        "Estimates published by `codex-metrics productivity`, one row per estimand, method and "
        "subgroup of an analysis run, with its interval and status, so the dashboard shows "
        "them without recomputing. `lake_snapshot` pins the table versions it was computed on "
        "(vacuum keeps them), so an estimate can be reproduced. Key: (analysis_run_id, "
        "estimand, method, subgroup). Unpartitioned: a run publishes a few hundred rows, is "
        "read whole, and is written with scope = analysis_run_id, so a run never rewrites "
        "another."
    ),
    partitioning=None,
    key=("analysis_run_id", "estimand", "method", "subgroup"),
    selects_source=False,
    columns=(
        col("analysis_run_id", _S, "Analysis run id."),
        col("analysis", _S, "Which part of the analysis (see enum)."),
        col("estimand", _S, "What is estimated, e.g. att_log_duration."),
        col("method", _S, "How, e.g. aipw, callaway_santanna, twfe, naive."),
        col("subgroup", _S, "Subgroup as `dim=value`, e.g. experience=5 (null: all).", True),
        col("estimate", _F64, "Point estimate (null when the status says why).", True),
        col("ci_low", _F64, "Lower confidence bound.", True),
        col("ci_high", _F64, "Upper confidence bound.", True),
        col("ci_level", _F64, "Confidence level, e.g. 0.95.", True),
        col("std_error", _F64, "Standard error.", True),
        col("p_value", _F64, "p-value, where the method gives one.", True),
        col("n_units", _I64, "Developers (or tasks) the estimate rests on.", True),
        col("unit", _S, "Unit of the estimate (minutes, log ratio, ...).", True),
        col("status", _S, "Stable status code of the analysis (ok when usable)."),
        col("status_reason", _S, "Why, in one sentence, when not ok.", True),
        col("truth", _F64, "True value (simulated worlds only).", True),
        col("details", _S, "Method details as JSON (diagnostics, overlap, pre-trends).", True),
        col("lake_snapshot", _S, "JSON map table -> Delta version read."),
        col("snapshot_hash", _S, "Hash of that snapshot (its cache key)."),
        col("computed_at", UTC_TS, "When the estimate was computed."),
        *bookkeeping(),
    ),
    enums={
        "analysis": (
            "acceptance_model",
            "latency_satisfaction",
            "causal_effect",
            "segments",
            "failure_taxonomy",
        )
    },
)

EVAL_RUNS = TableSpec(
    name="eval_runs",
    filled_by=("codex-metrics eval run SAMPLES.jsonl",),
    doc=(
        "One row per code-evaluation run: model version, suite, provider, counts, pass@1, "
        "settings, status and generation cost (tokens, latency), beside its samples in "
        "eval_results. Key: eval_run_id. Unpartitioned, as eval_results: a run is read "
        "whole, and it is written with scope = eval_run_id in the same commit as its "
        "samples, so re-publishing a run replaces only its own row."
    ),
    partitioning=None,
    key=("eval_run_id",),
    selects_source=False,
    columns=(
        col("eval_run_id", _S, "Evaluation run id (as in eval_results)."),
        col("model_version", _S, "Model version evaluated."),
        col("suite", _S, "Task suite (humaneval, builtin, or a user suite)."),
        col("provider", _S, "Where samples came from: openai, replay, reference.", True),
        col("is_reference", _B, "Canonical solutions scored as a labelled reference.", True),
        col("samples", _I64, "Samples in the run."),
        col("tasks", _I64, "Distinct tasks."),
        col("samples_passed", _I64, "Samples whose tests all passed.", True),
        col("verdicts_missing", _I64, "Samples without a verdict (harness errors).", True),
        col("pass_at_1", _F64, "Unbiased pass@1 over tasks (null: no verdicts).", True),
        col("pass_at_k", _S, "JSON map k -> pass@k for the other k computed.", True),
        col("outcome_counts", _S, "JSON map outcome -> samples.", True),
        col("settings", _S, "Run settings as JSON (limits, model parameters).", True),
        col("started_at", UTC_TS, "When the run started."),
        col("finished_at", UTC_TS, "When it finished (null: running or killed).", True),
        col("status", _S, "Run status (incomplete: verdicts missing, CLI exit 3)."),
        col("prompt_tokens_total", _I64, "Prompt tokens of generation, all samples.", True),
        col("completion_tokens_total", _I64, "Completion tokens of generation.", True),
        col("generation_latency_mean_ms", _F64, "Mean generation latency per sample.", True),
        col("tool_version", _S, "codex-metrics version that ran.", True),
        *bookkeeping(),
    ),
    enums={"status": ("running", "complete", "incomplete", "error")},
)

OPERATIONS_TABLES: tuple[TableSpec, ...] = (
    SOURCE_RUNS,
    ANNOTATIONS,
    ALERT_EVENTS,
    ANALYSIS_RESULTS,
    EVAL_RUNS,
)
