"""The catalogue as data: complete entries, the experiment seam, the generated docs."""

from __future__ import annotations

from pathlib import Path

import pytest

import codex_metrics.metrics as metrics
from codex_metrics.errors import MetricError
from codex_metrics.metrics import (
    DIMENSIONS,
    FAMILIES,
    get_metric,
    list_metrics,
    render_metrics_markdown,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
EXPERIMENT_METRICS = {
    "acceptance_rate_by_count": True,
    "acceptance_rate_by_lines": True,
    "latency_mean_ms": False,
    "error_rate": False,
    "edit_distance_mean": False,
    "persistence_rate_10m": True,
    "post_accept_failure_rate": False,
}
REQUIRED = {
    "adoption": {
        "daily_active_users",
        "weekly_active_users",
        "monthly_active_users",
        "engaged_users_by_feature",
        "new_users",
        "cohort_retention",
        "suggestions_shown",
        "requests_served",
        "ai_lines_added",
        "ai_code_share",
        "seats_assigned",
        "seats_active",
    },
    "quality": {
        "acceptance_rate_by_count",
        "acceptance_rate_by_lines",
        "acceptance_rate_rolling_7d",
        "persistence_rate_30s",
        "persistence_rate_2m",
        "persistence_rate_5m",
        "persistence_rate_10m",
        "edit_distance_mean",
        "compile_run_failure_rate",
        "fallback_request_rate",
        "failure_mode_share",
        "eval_pass_rate",
    },
    "performance": {
        "latency_mean_ms",
        "latency_p50_ms",
        "latency_p90_ms",
        "latency_p99_ms",
        "latency_bucket_share",
        "error_rate",
        "agent_task_duration_p50_s",
        "agent_task_duration_share",
        "agent_task_timeout_rate",
    },
    "productivity": {
        "task_duration_with_ai_mean_s",
        "task_duration_without_ai_mean_s",
        "keystrokes_saved",
        "satisfaction_mean",
        "nps",
        "developer_happiness_score",
    },
    "community": {
        "stars_total",
        "forks_total",
        "issues_opened",
        "issues_closed",
        "issue_resolution_median_hours",
        "stackoverflow_questions",
    },
}


@pytest.mark.parametrize("family", FAMILIES)
def test_issue_metrics_exist_per_family(family: str) -> None:
    assert REQUIRED[family] <= {m.name for m in list_metrics(family)}


@pytest.mark.parametrize("metric", list_metrics(), ids=lambda m: m.name)
def test_every_entry_is_complete(metric: metrics.Metric) -> None:
    assert metric.description.endswith(".") and metric.formula and metric.unit
    assert metric.basis in ("count", "lines", "chars", "users", "time", "score", "none")
    assert metric.grain in ("event", "daily")
    assert set(metric.dimensions) <= set(DIMENSIONS)
    assert (metric.breakdown is not None) == (
        metric.grain == "daily" and metric.source == "usage_daily"
    )
    if metric.kind == "ratio":
        assert metric.numerator and metric.denominator
    if metric.family == "community":  # read what `codex-metrics collect` writes
        assert set(metric.tables) <= {"repo_snapshots", "star_history", "issues",
                                      "issue_comments", "so_question_counts", "ecosystem_counts"}  # fmt: skip
        assert not metric.unavailable_reason


@pytest.mark.parametrize(("name", "better"), EXPERIMENT_METRICS.items())
def test_experiment_metrics_are_ratios_with_direction(name: str, better: bool) -> None:
    m = get_metric(name)
    assert m.kind == "ratio" and m.higher_is_better is better
    assert m.numerator and m.denominator


def test_unknown_metric_is_a_metric_error() -> None:
    with pytest.raises(MetricError, match="metrics list"):
        get_metric("no_such_metric")


def test_docs_metrics_md_is_fresh() -> None:
    assert DOCS.read_text() == render_metrics_markdown(), (
        "docs/metrics.md is stale; run `codex-metrics metrics docs --output docs/metrics.md`"
    )


def test_docs_show_the_per_developer_definition_of_ratios() -> None:
    text = render_metrics_markdown()
    section = text.split("### persistence_rate_10m")[1].split("###")[0]
    assert "per-developer numerator: sum(chars_persisted_10m)" in section
    assert "per-developer denominator: sum(chars_accepted)" in section
