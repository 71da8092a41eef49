"""Usage of a real Copilot org: interactions, who uses which surface, features, models, people.

Metrics that real Copilot reports make possible, read from ``usage_daily`` (per-user report
rows and simulated roll-ups alike) and ``copilot_user_daily`` (flags and credits only GitHub's
per-user report has). Where peers differ, GitHub's documentation decides and the description
says so: chat interactions are the prompts of the chat features (``totals_by_feature``, every
``chat_*`` feature: inline, and the panel's ask, edit, agent, plan and custom modes); a feature's
or model's share of the mix is its share of generated outputs (``code_generation_activity_count``,
the one counter every feature has). Per-user views (active days, top users) show the stored
developer id: a keyed pseudonym unless identities were stored in clear (``[privacy]
store_identities = true``, an opt-in).
"""

from __future__ import annotations

from dataclasses import replace

import ibis
import ibis.expr.types as ir

from codex_metrics.metrics.adoption import USAGE_DIMENSIONS, is_active
from codex_metrics.metrics.catalogue import (
    Basis,
    Custom,
    Distinct,
    Measure,
    Metric,
    Total,
    register,
)
from codex_metrics.metrics.query import MetricQuery
from codex_metrics.metrics.shapes import with_key

ALL_GRAINS = ("day", "week", "month", "all")
__all__ = ["TOP_USERS", "is_chat"]

#: How many developers ``top_users_by_interactions`` lists per period.
TOP_USERS = 10
USER_DIMENSIONS = ("org", "team", "persona", "arm")


def is_chat(t: ir.Table) -> ir.BooleanValue:
    """A feature row of a chat feature (inline or any chat-panel mode)."""
    return t.feature.startswith("chat")


def _share_of_generations(dimension: str) -> Custom:
    """Σ generations per value of ``dimension`` / Σ generations of the group (sums to 1)."""

    def build(q: MetricQuery) -> ir.Table:
        by = q.by if dimension in q.by else (*q.by, dimension)
        t = replace(q, by=by).source()
        keys = ["period", *by]
        sums = t.group_by(keys).aggregate(
            numerator=t.code_generation_activity_count.cast("float64").sum()
        )
        out = sums.mutate(denominator=sums.numerator.sum().over(group_by=q.keys))
        zero = out.denominator == 0
        return out.mutate(
            value=ibis.cases((zero, ibis.null("float64")), else_=out.numerator / out.denominator),
            null_reason=ibis.cases((zero, ibis.literal("zero_denominator")),
                                   else_=ibis.null("string")),
        ).order_by(keys)  # fmt: skip

    return Custom(build, extra=(dimension,), grains=ALL_GRAINS)


def _active_days(q: MetricQuery) -> ir.Table:
    t = q.source()
    t = t.filter(is_active(t))
    out = t.group_by([*q.keys, "developer_id"]).aggregate(value=t.day.nunique())
    return out.mutate(null_reason=ibis.null("string")).order_by([*q.keys, "developer_id"])


def _top_users(q: MetricQuery) -> ir.Table:
    t = q.source()
    sums = t.group_by([*q.keys, "developer_id"]).aggregate(
        value=t.user_initiated_interaction_count.sum()
    )
    ranked = sums.mutate(
        rank=ibis.row_number().over(
            group_by=q.keys, order_by=[ibis.desc(sums.value), sums.developer_id]
        )
        + 1
    )
    ranked = ranked.filter((ranked.rank <= TOP_USERS) & (ranked.value > 0))
    return ranked.mutate(null_reason=ibis.null("string")).order_by([*q.keys, "rank"])


def _usage(
    name: str,
    description: str,
    formula: str,
    measure: Measure,
    *,
    unit: str = "users",
    basis: Basis = "users",
    breakdown: str = "total",
    notes: str = "",
    source: str = "usage_daily",
    dimensions: tuple[str, ...] = USAGE_DIMENSIONS,
    better: bool | None = True,
) -> Metric:
    return Metric(
        name=name,
        family="adoption",
        description=description,
        formula=formula,
        unit=unit,
        basis=basis,
        grain="daily",
        source=source,
        breakdown=breakdown if source == "usage_daily" else None,
        measure=measure,
        dimensions=dimensions,
        higher_is_better=better,
        notes=notes,
    )


def _flag_users(flag: str, what: str, notes: str = "", *extra: str) -> Metric:
    def where(t: ir.Table) -> ir.BooleanValue:
        used = t[flag].fill_null(False)
        for other in extra:
            used = used | t[other].fill_null(False)
        return used

    usage = flag in ("used_chat", "used_agent", "used_cli")
    return _usage(
        f"{what}_users",
        f"Distinct developers who used {what.replace('_', ' ')} in the period "
        f"(`{'` or `'.join((flag, *extra))}` of GitHub's per-user report).",
        f"count(distinct developer_id with {' or '.join((flag, *extra))})",
        Distinct(where=where),
        source="usage_daily" if usage else "copilot_user_daily",
        dimensions=USAGE_DIMENSIONS if usage else USER_DIMENSIONS,
        notes=notes,
    )


register(
    _usage(
        "interactions",
        "Prompts developers sent explicitly (every feature; GitHub's "
        "user_initiated_interaction_count).",
        "Σ user_initiated_interaction_count",
        Total(lambda t: t.user_initiated_interaction_count),
        unit="count",
        basis="count",
        better=None,
    ),
    _usage(
        "chat_interactions",
        "Prompts sent in chat: the chat features of GitHub's totals_by_feature (inline chat and "
        "every chat-panel mode, agent mode included).",
        "Σ user_initiated_interaction_count where feature starts with 'chat'",
        Total(lambda t: t.user_initiated_interaction_count, where=is_chat),
        unit="count",
        basis="count",
        breakdown="feature",
        better=None,
        notes="Read from the feature breakdown, as GitHub documents chat turns; sliced by model "
        "it reads the model x feature breakdown instead (copilot-metrics-viewer's chat model "
        "charts), whose sums can differ slightly in GitHub's reports.",
    ),
    _flag_users("used_chat", "chat", "Simulated worlds set the flag from chat suggestions."),
    _flag_users("used_agent", "agent", "Agent mode in the IDE (GitHub's used_agent)."),
    _flag_users("used_cli", "cli", "The Copilot CLI (GitHub's used_cli)."),
    _flag_users(
        "used_copilot_coding_agent",
        "coding_agent",
        "GitHub renamed the coding agent the cloud agent in 2026: either flag counts.",
        "used_copilot_cloud_agent",
    ),
    _flag_users(
        "used_copilot_code_review_active",
        "code_review",
        "Developers who asked Copilot for a review (active); PR authors who only received one "
        "(used_copilot_code_review_passive) are not counted, as in GitHub's active counts.",
    ),
    _usage(
        "lines_added_by_feature",
        "Lines added from Copilot output, per feature (loc_added_sum of totals_by_feature).",
        "Σ loc_added_sum per feature",
        with_key(Total(lambda t: t.loc_added_sum), "feature"),
        unit="lines",
        basis="lines",
        breakdown="feature",
        better=None,
    ),
    _usage(
        "lines_deleted_by_feature",
        "Lines deleted by accepted Copilot edits, per feature (loc_deleted_sum).",
        "Σ loc_deleted_sum per feature",
        with_key(Total(lambda t: t.loc_deleted_sum), "feature"),
        unit="lines",
        basis="lines",
        breakdown="feature",
        better=None,
    ),
    _usage(
        "feature_mix_share",
        "Each feature's share of generated outputs (code_generation_activity_count), a "
        "feature mix that sums to 1 per period.",
        "Σ code_generation_activity_count of the feature / Σ over every feature",
        _share_of_generations("feature"),
        unit="ratio",
        basis="count",
        breakdown="feature",
        better=None,
    ),
    _usage(
        "model_mix_share",
        "Each model's share of generated outputs (model x feature breakdown; with Auto "
        "selection GitHub reports the model actually used).",
        "Σ code_generation_activity_count of the model / Σ over every model",
        _share_of_generations("model"),
        unit="ratio",
        basis="count",
        breakdown="model_feature",
        better=None,
    ),
    _usage(
        "user_active_days",
        "Active days of each developer in the period (a per-user view: pseudonymous ids unless "
        "identities are stored by opt-in).",
        "count(distinct day with an active usage_daily row) per developer",
        Custom(_active_days, extra=("developer_id",), grains=ALL_GRAINS),
        unit="days",
        basis="count",
        dimensions=USER_DIMENSIONS,
        notes="Per-user rows are individual by design: the minimum group size does not apply.",
    ),
    _usage(
        "top_users_by_interactions",
        f"The {TOP_USERS} developers with the most prompts in the period, ranked (a per-user "
        "view: pseudonymous ids unless identities are stored by opt-in).",
        "Σ user_initiated_interaction_count per developer, top 10 by rank",
        Custom(_top_users, extra=("developer_id", "rank"), grains=ALL_GRAINS),
        unit="count",
        basis="count",
        dimensions=USER_DIMENSIONS,
        better=None,
        notes="Ties are broken by developer id.",
    ),
    _usage(
        "ai_credits_used",
        "AI credits (premium requests) used, from GitHub's per-user report (ai_credits_used).",
        "Σ ai_credits_used",
        Total(lambda t: t.ai_credits_used),
        unit="credits",
        basis="count",
        source="copilot_user_daily",
        dimensions=USER_DIMENSIONS,
        better=None,
    ),
    _usage(
        "copilot_cli_tokens",
        "Tokens the Copilot CLI used: prompt plus output tokens (totals_by_cli.token_usage).",
        "Σ cli_prompt_tokens_sum + Σ cli_output_tokens_sum",
        Total(
            lambda t: t.cli_prompt_tokens_sum.fill_null(0) + t.cli_output_tokens_sum.fill_null(0)
        ),
        unit="tokens",
        basis="count",
        source="copilot_user_daily",
        dimensions=USER_DIMENSIONS,
        better=None,
    ),
)
