"""Quality metrics: acceptance, persistence, edits and failures of accepted code, evals.

Acceptance is always a ratio of sums (Σ accepted / Σ shown over every row of the group), by
count or by lines, never the mean of daily or per-developer rates. "Shown" means a request
with status ``ok``. Event-grain metrics read ``suggestions``; the ``usage_*`` twins read the
daily, GitHub-report-shaped ``usage_daily`` table so they also work on real Copilot reports.
Peers rate acceptance two ways: over every feature (DevLake; ``acceptance_rate_by_count``,
``usage_acceptance_rate_by_count``) or over code completions only (copilot-metrics-viewer and
GitHub's documentation of "suggestions shown"; the ``completion_`` pair). Both are here,
labelled.
"""

from __future__ import annotations

from dataclasses import replace

import ibis
import ibis.expr.types as ir

from codex_metrics.metrics.catalogue import Metric, Ratio, register
from codex_metrics.metrics.query import NATIVE_DIMENSIONS, MetricQuery, lake_table
from codex_metrics.metrics.shapes import category_share, rolling_ratio

__all__ = ["ACCEPTANCE_BY_COUNT", "EVENT_DIMENSIONS"]

EVENT_DIMENSIONS = ("org", "team", "language", "editor", "model", "feature", "persona", "arm")


def _shown(t: ir.Table) -> ir.BooleanValue:
    return t.status == "ok"


def _accepted(t: ir.Table) -> ir.BooleanValue:
    return (t.status == "ok") & t.accepted.fill_null(False)


def _flag(x: ir.BooleanValue) -> ir.IntegerValue:
    return x.cast("int64")


ACCEPTANCE_BY_COUNT = Ratio(
    numerator=lambda t: _flag(_accepted(t)),
    denominator=lambda t: _flag(_shown(t)),
    numerator_doc="count of accepted suggestions (status = 'ok' and accepted)",
    denominator_doc="count of shown suggestions (status = 'ok')",
)
ACCEPTANCE_BY_LINES = Ratio(
    numerator=lambda t: t.lines_accepted,
    denominator=lambda t: t.lines_suggested,
    where=_shown,
    numerator_doc="sum(lines_accepted) over shown suggestions",
    denominator_doc="sum(lines_suggested) over shown suggestions",
)


def _completion(t: ir.Table) -> ir.BooleanValue:
    return t.feature == "code_completion"


def _completion_usage_frame(q: MetricQuery) -> ir.Table:
    """usage_daily rows of feature code_completion, as a filter.

    A filter makes slicing pick a breakdown carrying the feature: feature, language x feature
    or model x feature.
    """
    asked = q.filters.get("feature")
    keep = ["code_completion"] if asked is None or {"code_completion"} & set(asked) else []
    return replace(q, filters={**q.filters, "feature": keep}).source()


def _persistence(delay: str, label: str) -> Metric:
    col = f"chars_persisted_{delay}"
    return Metric(
        name=f"persistence_rate_{delay}",
        family="quality",
        description=f"Share of accepted characters still in the code {label} after acceptance.",
        formula=f"Σ {col} / Σ chars_accepted, over accepted suggestions with {col} known",
        unit="ratio",
        basis="chars",
        grain="event",
        source="suggestions",
        measure=Ratio(
            numerator=lambda t: t[col],
            denominator=lambda t: t.chars_accepted,
            where=lambda t: _accepted(t) & t[col].notnull(),
            numerator_doc=f"sum({col}) over accepted suggestions with it known",
            denominator_doc="sum(chars_accepted) over the same suggestions",
        ),
        dimensions=EVENT_DIMENSIONS,
        higher_is_better=True,
    )


def _eval_frame(q: MetricQuery) -> ir.Table:
    # eval_results is stored whole; a sample belongs to the UTC day its run started.
    t = lake_table("eval_results")
    t = t.mutate(day=t.run_started_at.date())
    return q.prepare(t, NATIVE_DIMENSIONS["eval_results"])


def _over_accepted(t: ir.Table, col: str) -> ir.BooleanValue:
    return _accepted(t) & t[col].notnull()


register(
    Metric(
        name="acceptance_rate_by_count",
        family="quality",
        description="Share of shown suggestions that were accepted, by count.",
        formula="Σ accepted / Σ shown (status = 'ok'); ratio of sums",
        unit="ratio",
        basis="count",
        grain="event",
        source="suggestions",
        measure=ACCEPTANCE_BY_COUNT,
        dimensions=EVENT_DIMENSIONS,
        higher_is_better=True,
        notes="A day, slice or developer with nothing shown has no rate (null, zero_denominator).",
    ),
    Metric(
        name="completion_acceptance_rate_by_count",
        family="quality",
        description="Share of shown code completions that were accepted, by count (code "
        "completion only, as copilot-metrics-viewer shows it; acceptance_rate_by_count counts "
        "every feature, as DevLake does).",
        formula="Σ accepted / Σ shown over feature = 'code_completion' (status = 'ok')",
        unit="ratio",
        basis="count",
        grain="event",
        source="suggestions",
        measure=Ratio(
            numerator=lambda t: _flag(_accepted(t)),
            denominator=lambda t: _flag(_shown(t)),
            where=_completion,
            numerator_doc="count of accepted code completions (status = 'ok' and accepted)",
            denominator_doc="count of shown code completions (status = 'ok')",
        ),
        dimensions=EVENT_DIMENSIONS,
        higher_is_better=True,
        notes="The simulator's truth has its expected value (completion_acceptance_rate_expected).",
    ),
    Metric(
        name="acceptance_rate_by_lines",
        family="quality",
        description="Share of suggested lines that were accepted.",
        formula="Σ lines_accepted / Σ lines_suggested, over shown suggestions; ratio of sums",
        unit="ratio",
        basis="lines",
        grain="event",
        source="suggestions",
        measure=ACCEPTANCE_BY_LINES,
        dimensions=EVENT_DIMENSIONS,
        higher_is_better=True,
    ),
    Metric(
        name="acceptance_rate_rolling_7d",
        family="quality",
        description="Acceptance by count over the 7 days ending on each day (smooths weekends).",
        formula="Σ accepted / Σ shown over days d-6..d; ratio of sums over the window",
        unit="ratio",
        basis="count",
        grain="event",
        source="suggestions",
        measure=rolling_ratio(ACCEPTANCE_BY_COUNT, 7),
        dimensions=EVENT_DIMENSIONS,
        higher_is_better=True,
        notes="Defined per day only (--grain day). Missing days contribute nothing; "
        "the window is not stretched to find 7 days of data.",
    ),
    Metric(
        name="usage_acceptance_rate_by_count",
        family="quality",
        description="Acceptance by count from the daily usage report (works on GitHub reports).",
        formula="Σ code_acceptance_activity_count / Σ code_generation_activity_count",
        unit="ratio",
        basis="count",
        grain="daily",
        source="usage_daily",
        breakdown="total",
        measure=Ratio(
            numerator=lambda t: t.code_acceptance_activity_count,
            denominator=lambda t: t.code_generation_activity_count,
            numerator_doc="sum(code_acceptance_activity_count)",
            denominator_doc="sum(code_generation_activity_count)",
        ),
        dimensions=EVENT_DIMENSIONS,
        higher_is_better=True,
        notes="Reads one breakdown: total unsliced, else the one carrying the dimensions asked "
        "(ide; feature; language x feature; language x model; model x feature). Filter "
        "feature=code_completion for GitHub's classic completion acceptance rate.",
    ),
    Metric(
        name="usage_completion_acceptance_rate_by_count",
        family="quality",
        description="Code-completion acceptance by count from the daily usage report: GitHub's "
        "classic acceptance rate, what copilot-metrics-viewer shows (code_completion only).",
        formula="Σ code_acceptance_activity_count / Σ code_generation_activity_count, "
        "feature = 'code_completion'",
        unit="ratio",
        basis="count",
        grain="daily",
        source="usage_daily",
        breakdown="feature",
        measure=Ratio(
            numerator=lambda t: t.code_acceptance_activity_count,
            denominator=lambda t: t.code_generation_activity_count,
            numerator_doc="sum(code_acceptance_activity_count) of feature code_completion",
            denominator_doc="sum(code_generation_activity_count) of feature code_completion",
        ),
        frame=_completion_usage_frame,
        dimensions=EVENT_DIMENSIONS,
        higher_is_better=True,
        notes="GitHub's documentation: suggestions shown are code_generation_activity_count "
        "filtered to feature code_completion, acceptances code_acceptance_activity_count of the "
        "same feature. Reads the feature breakdown (language x feature or model x feature when "
        "sliced by language or model). usage_acceptance_rate_by_count counts every feature "
        "(chat, agent and CLI accept actions too), as DevLake does.",
    ),
    Metric(
        name="usage_acceptance_rate_by_lines",
        family="quality",
        description="Acceptance by lines from the daily usage report.",
        formula="Σ loc_added_sum / Σ loc_suggested_to_add_sum",
        unit="ratio",
        basis="lines",
        grain="daily",
        source="usage_daily",
        breakdown="total",
        measure=Ratio(
            numerator=lambda t: t.loc_added_sum,
            denominator=lambda t: t.loc_suggested_to_add_sum,
            numerator_doc="sum(loc_added_sum)",
            denominator_doc="sum(loc_suggested_to_add_sum)",
        ),
        dimensions=EVENT_DIMENSIONS,
        higher_is_better=True,
        notes="loc_added_sum includes agent edits, which suggest nothing; filter a feature for "
        "a like-for-like rate.",
    ),
    *(
        _persistence(d, label)
        for d, label in (
            ("30s", "30 seconds"),
            ("2m", "2 minutes"),
            ("5m", "5 minutes"),
            ("10m", "10 minutes"),
        )
    ),
    Metric(
        name="edit_distance_mean",
        family="quality",
        description="Mean Levenshtein distance between accepted text and the code 10 min later.",
        formula="Σ edit_distance_10m / count, over accepted suggestions with it known",
        unit="chars",
        basis="chars",
        grain="event",
        source="suggestions",
        measure=Ratio(
            numerator=lambda t: t.edit_distance_10m,
            denominator=lambda t: ibis.literal(1),
            where=lambda t: _over_accepted(t, "edit_distance_10m"),
            numerator_doc="sum(edit_distance_10m) over accepted suggestions with it known",
            denominator_doc="count of those suggestions",
            empty_reason="no_values",
        ),
        dimensions=EVENT_DIMENSIONS,
        higher_is_better=False,
    ),
    Metric(
        name="post_accept_failure_rate",
        family="quality",
        description="Share of accepted suggestions followed by a compile or run failure.",
        formula="Σ post_accept_failure / count, over accepted suggestions with it known",
        unit="ratio",
        basis="count",
        grain="event",
        source="suggestions",
        measure=Ratio(
            numerator=lambda t: _flag(t.post_accept_failure),
            denominator=lambda t: ibis.literal(1),
            where=lambda t: _over_accepted(t, "post_accept_failure"),
            numerator_doc="count of accepted suggestions with post_accept_failure",
            denominator_doc="count of accepted suggestions with post_accept_failure known",
        ),
        dimensions=EVENT_DIMENSIONS,
        higher_is_better=False,
    ),
    Metric(
        name="compile_run_failure_rate",
        family="quality",
        description="Share of accepted suggestions whose failure mode is a compile or runtime error.",
        formula="count(failure_mode in compile_error, runtime_error) / count(accepted)",
        unit="ratio",
        basis="count",
        grain="event",
        source="suggestions",
        measure=Ratio(
            numerator=lambda t: _flag(t.failure_mode.isin(["compile_error", "runtime_error"])),
            denominator=lambda t: ibis.literal(1),
            where=_accepted,
            numerator_doc="count of accepted suggestions with failure_mode compile_error or runtime_error",
            denominator_doc="count of accepted suggestions",
        ),
        dimensions=EVENT_DIMENSIONS,
        higher_is_better=False,
    ),
    Metric(
        name="fallback_request_rate",
        family="quality",
        description="Share of requests served by the fallback model after the primary failed.",
        formula="count(is_fallback) / count(requests)",
        unit="ratio",
        basis="count",
        grain="event",
        source="suggestions",
        measure=Ratio(
            numerator=lambda t: _flag(t.is_fallback.fill_null(False)),
            denominator=lambda t: ibis.literal(1),
            numerator_doc="count of requests with is_fallback",
            denominator_doc="count of requests",
        ),
        dimensions=EVENT_DIMENSIONS,
        higher_is_better=False,
    ),
    Metric(
        name="failure_mode_share",
        family="quality",
        description="Share of requests in each failure-mode category (sums to 1 per group).",
        formula="count(failure_mode = m) / count(requests), for every mode m",
        unit="ratio",
        basis="count",
        grain="event",
        source="suggestions",
        measure=category_share("failure_mode", lambda t: t.failure_mode.fill_null("unknown")),
        dimensions=EVENT_DIMENSIONS,
        higher_is_better=None,
    ),
    Metric(
        name="eval_pass_rate",
        family="quality",
        description="Share of evaluated code samples that passed all tests, per model version.",
        formula="count(passed) / count(samples) in eval_results",
        unit="ratio",
        basis="count",
        grain="event",
        source="eval_results",
        measure=Ratio(
            numerator=lambda t: _flag(t.passed.fill_null(False)),
            denominator=lambda t: ibis.literal(1),
            numerator_doc="count of passing samples",
            denominator_doc="count of samples",
        ),
        frame=_eval_frame,
        dimensions=("model", "suite"),
        higher_is_better=True,
        notes="A sample's day is the UTC day its evaluation run started. Empty until `codex-metrics eval` has written eval_results; no developer, so the "
        "experiment seam does not apply.",
    ),
)
