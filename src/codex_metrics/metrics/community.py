"""Community metrics: GitHub stars, forks, issues and PRs, Stack Overflow questions, adoption.

They read the tables the collectors fill (``codex-metrics collect``): ``repo_snapshots`` (our own
daily reads of each repository), ``star_history``, ``issues``, ``issue_comments``,
``so_question_counts`` and ``ecosystem_counts``. Levels (stars, forks, open issues) are the last
value in each period, summed over repositories; flows (issues opened, closed) are counted on
the day they happened. A first response is the first comment, review comment or review by
someone other than the author and not a bot; bots' own PRs are left out of cycle times. The
PR cycle time per author is a ratio with a per-developer numerator and denominator (authors are
pseudonymised with the same keyed hash as Copilot users), so the productivity analysis can
use it as an outcome on real data.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis
import ibis.expr.types as ir

from codex_metrics.metrics.catalogue import Basis, Custom, Metric, Quantile, Ratio, Total, register
from codex_metrics.metrics.query import MetricQuery, lake_table

__all__ = ["FEATURE_REQUEST_LABELS", "TOP_FEATURE_REQUESTS"]

#: Labels (lower-cased, substring match) that mark a feature request, besides issue type Feature.
FEATURE_REQUEST_LABELS = ("feature", "enhancement")
#: How many feature requests ``top_feature_requests`` lists.
TOP_FEATURE_REQUESTS = 20
_REPO = ("repo",)
_GRAINS = ("day", "week", "month", "all")


def _hours(end: ir.TimestampValue, start: ir.TimestampValue) -> ir.FloatingValue:
    return (end.epoch_seconds() - start.epoch_seconds()).cast("float64") / 3600.0


def _last_in_period(table: str, column: str) -> Custom:
    """The last value of ``column`` per repository in each period, summed over repositories."""

    def build(q: MetricQuery) -> ir.Table:
        t = q.source(table)
        rank = ibis.row_number().over(
            group_by=["period", "repo"], order_by=[ibis.desc(t.day), ibis.desc(t.observed_at)]
        )
        last = t.mutate(_rank=rank)
        last = last.filter(last._rank == 0)
        out = last.group_by(q.keys).aggregate(value=last[column].sum())
        return out.mutate(null_reason=ibis.null("string")).order_by(q.keys)

    return Custom(build, grains=_GRAINS)


def _frame(q: MetricQuery, t: ir.Table) -> ir.Table:
    """Window, filters and ``period`` for rows whose ``day`` a metric chose itself."""
    return q.prepare(t, {})


def _closed_issues(q: MetricQuery) -> ir.Table:
    t = lake_table("issues")
    t = t.filter(~t.is_pull_request & t.closed_at.notnull())
    return _frame(q, t.mutate(day=t.closed_at.date(), hours=_hours(t.closed_at, t.created_at)))


def _merged_prs(q: MetricQuery) -> ir.Table:
    t = lake_table("issues")
    t = t.filter(t.is_pull_request & t.merged_at.notnull() & ~t.author_is_bot)
    t = t.mutate(
        day=t.merged_at.date(), hours=_hours(t.merged_at, t.created_at), developer_id=t.author
    )
    return _frame(q, t)


def _first_responses(q: MetricQuery, pull_requests: bool) -> ir.Table:
    """Items opened in the period with the hours to their first response (null: none yet)."""
    items = lake_table("issues")
    items = items.filter(items.is_pull_request == pull_requests)
    c = lake_table("issue_comments")
    kinds = ["comment", "review_comment", "review"] if pull_requests else ["comment"]
    c = c.filter(c.kind.isin(kinds) & ~c.is_bot)
    who = items.select(i_repo=items.repo, i_number=items.number, i_author=items.author)
    j = c.join(who, [c.repo == who.i_repo, c.issue_number == who.i_number])
    others = j.filter(j.author.isnull() | j.i_author.isnull() | (j.author != j.i_author))
    first = others.group_by([others.repo, others.issue_number]).aggregate(
        first_at=others.created_at.min()
    )
    first = first.rename(f_repo="repo", f_number="issue_number")
    out = items.left_join(first, [items.repo == first.f_repo, items.number == first.f_number])
    out = out.mutate(hours=_hours(out.first_at, out.created_at))
    return _frame(q, out.drop("f_repo", "f_number"))


def _open_issues(q: MetricQuery) -> ir.Table:
    """Open issues at the end of each period: +1 when opened, -1 when closed, summed up."""
    t = lake_table("issues")
    t = t.filter(~t.is_pull_request)
    if "repo" in q.filters:
        t = t.filter(t.repo.isin(list(q.filters["repo"])))
    opened = t.select("repo", day=t.created_at.date(), delta=ibis.literal(1))
    closed = t.filter(t.closed_at.notnull())
    closed = closed.select("repo", day=closed.closed_at.date(), delta=ibis.literal(-1))
    events = opened.union(closed)
    daily = events.group_by(["repo", "day"]).aggregate(net=events.delta.sum())
    running = daily.mutate(
        open_issues=daily.net.sum().over(
            ibis.window(group_by="repo", order_by="day", rows=(None, 0))
        )
    )
    t = _frame(q, running)
    rank = ibis.row_number().over(group_by=["period", "repo"], order_by=ibis.desc(t.day))
    last = t.mutate(_rank=rank)
    last = last.filter(last._rank == 0)
    out = last.group_by(q.keys).aggregate(value=last.open_issues.sum())
    return out.mutate(null_reason=ibis.null("string")).order_by(q.keys)


def _feature_requests(q: MetricQuery) -> ir.Table:
    """Open feature requests (issue type Feature, or a feature/enhancement label) by reactions."""
    t = q.source("issues")
    text = t.labels.join("\x1f").lower().fill_null("")
    is_request = (t.issue_type.lower() == "feature").fill_null(False)
    for word in FEATURE_REQUEST_LABELS:
        is_request = is_request | text.contains(word)
    t = t.filter(~t.is_pull_request & (t.state == "open") & is_request)
    keys = [*q.keys, *(c for c in ("repo",) if c not in q.keys)]
    ranked = t.mutate(
        value=t.reactions_total.fill_null(0),
        rank=ibis.row_number().over(
            group_by=q.keys, order_by=[ibis.desc(t.reactions_total.fill_null(0)), t.number]
        )
        + 1,
    )
    ranked = ranked.filter(ranked.rank <= TOP_FEATURE_REQUESTS)
    out = ranked.select(*keys, "rank", "number", "title", "value")
    return out.mutate(null_reason=ibis.null("string")).order_by([*q.keys, "rank"])


def _monthly_questions(q: MetricQuery) -> ir.Table:
    """Monthly question counts (the table's own ``period`` column would clash with ours)."""
    t = lake_table("so_question_counts")
    return _frame(q, t.filter(t.period == "month").drop("period"))


def _ecosystem(q: MetricQuery) -> ir.Table:
    t = q.source("ecosystem_counts")
    rank = ibis.row_number().over(
        group_by=["period", "query_name"], order_by=[ibis.desc(t.day), ibis.desc(t.observed_at)]
    )
    last = t.mutate(_rank=rank)
    last = last.filter(last._rank == 0)
    keys = [*q.keys, "query_name", "label"]
    out = last.group_by(keys).aggregate(
        value=last.total_count.sum(), incomplete=last.incomplete_results.any()
    )
    return out.mutate(null_reason=ibis.null("string")).order_by(keys)


def _metric(
    name: str,
    description: str,
    formula: str,
    unit: str,
    source: str,
    measure: Custom | Total | Quantile | Ratio,
    *,
    better: bool | None = None,
    basis: Basis = "count",
    dimensions: tuple[str, ...] = _REPO,
    extra_sources: tuple[str, ...] = (),
    frame: Callable[[MetricQuery], ir.Table] | None = None,
    notes: str = "",
) -> Metric:
    return Metric(
        name=name,
        family="community",
        description=description,
        formula=formula,
        unit=unit,
        basis=basis,
        grain="event",
        source=source,
        measure=measure,
        dimensions=dimensions,
        higher_is_better=better,
        extra_sources=extra_sources,
        frame=frame,
        notes=notes,
    )


def _response(pull_requests: bool) -> Metric:
    what = "PRs" if pull_requests else "issues"
    by = "comment, review comment or review" if pull_requests else "comment"
    return _metric(
        f"{'pr_first_review' if pull_requests else 'issue_first_response'}_median_hours",
        f"Median time from opening to the first {by} by someone else, for {what} opened in the "
        "period.",
        f"median(first non-author, non-bot {by} - created_at) over {what} opened in the period "
        "that have one",
        "hours",
        "issues",
        Quantile(lambda t: t.hours, 0.5, where=lambda t: t.hours.notnull()),
        better=False,
        basis="time",
        extra_sources=("issue_comments",),
        frame=lambda q: _first_responses(q, pull_requests),
        notes=f"{what.capitalize()} without a response yet are left out (n counts the others).",
    )


register(
    _metric(
        "stars_total",
        "GitHub stars of the tracked repositories at the end of each period.",
        "Σ over repositories of stargazers_count in the period's last daily snapshot",
        "stars",
        "repo_snapshots",
        _last_in_period("repo_snapshots", "stars"),
        better=True,
        notes="Our own daily snapshots: the observed count, also past the 40,000-star listing cap.",
    ),
    _metric(
        "stars_gained",
        "Net stars gained in the period, from our daily snapshots (unstars subtract).",
        "Σ stars_gained of star_history rows with method snapshot_diff",
        "stars",
        "star_history",
        Total(lambda t: t.stars_gained, where=lambda t: t.method == "snapshot_diff"),
        better=True,
    ),
    _metric(
        "stars_retained_by_day_given",
        "Stars still held, by the day they were given (GitHub's star history).",
        "Σ stars_gained of star_history rows with method history_endpoint (else "
        "starred_at_listing) given in the period",
        "stars",
        "star_history",
        Total(
            lambda t: t.stars_gained,
            where=lambda t: t.method.isin(["history_endpoint", "starred_at_listing"]),
        ),
        better=True,
        notes="Counts only stars still present today, by the day given: its running sum is "
        "'retained stars by acquisition date', not the star count on that day. Read one method "
        "per repository (--filter repo=...).",
    ),
    _metric(
        "forks_total",
        "Forks of the tracked repositories at the end of each period.",
        "Σ over repositories of forks_count in the period's last daily snapshot",
        "forks",
        "repo_snapshots",
        _last_in_period("repo_snapshots", "forks"),
        better=True,
    ),
    _metric(
        "open_issues",
        "Issues open at the end of each period (pull requests excluded).",
        "Σ opened - Σ closed over every issue up to the period's last day with a change",
        "issues",
        "issues",
        Custom(_open_issues, grains=_GRAINS),
        notes="Rebuilt from created_at and closed_at: a reopened issue counts as open from its "
        "creation until its last close.",
    ),
    _metric(
        "issues_opened",
        "Issues opened in the period (pull requests excluded).",
        "count(issues with created_at in the period)",
        "issues",
        "issues",
        Total(where=lambda t: ~t.is_pull_request),
    ),
    _metric(
        "issues_closed",
        "Issues closed in the period (pull requests excluded).",
        "count(issues with closed_at in the period)",
        "issues",
        "issues",
        Total(),
        frame=_closed_issues,
    ),
    _metric(
        "issue_resolution_median_hours",
        "Median time from opening to closing of issues closed in the period.",
        "median(closed_at - created_at) over issues closed in the period",
        "hours",
        "issues",
        Quantile(lambda t: t.hours, 0.5),
        better=False,
        basis="time",
        frame=_closed_issues,
    ),
    _response(False),
    _response(True),
    _metric(
        "pr_cycle_time_median_hours",
        "Median time from opening to merging of PRs merged in the period (bots' PRs excluded).",
        "median(merged_at - created_at) over PRs merged in the period",
        "hours",
        "issues",
        Quantile(lambda t: t.hours, 0.5),
        better=False,
        basis="time",
        frame=_merged_prs,
    ),
    _metric(
        "pr_cycle_time_mean_hours",
        "Mean time from opening to merging of PRs merged in the period, per author or overall.",
        "Σ (merged_at - created_at) / count, over PRs merged in the period (bots excluded)",
        "hours",
        "issues",
        Ratio(
            numerator=lambda t: t.hours,
            denominator=lambda t: ibis.literal(1),
            numerator_doc="sum of hours from opening to merge over the author's merged PRs",
            denominator_doc="count of the author's merged PRs",
            empty_reason="no_values",
        ),
        better=False,
        basis="time",
        frame=_merged_prs,
        notes="developer_id is the PR author's pseudonym (the keyed hash Copilot rows use).",
    ),
    _metric(
        "top_feature_requests",
        "The most-reacted open feature requests (issue type Feature or a feature label).",
        "open issues with type Feature or a label containing feature/enhancement, ranked by "
        f"reactions.total_count (top {TOP_FEATURE_REQUESTS})",
        "reactions",
        "issues",
        Custom(_feature_requests, extra=("rank", "number", "title"), grains=_GRAINS),
        notes="A snapshot list: every period shows the open requests created in it; use "
        "--grain all for the overall ranking.",
    ),
    _metric(
        "stackoverflow_questions",
        "Stack Overflow questions with the tag asked in the period.",
        "Σ question_count (filter=total per month) of so_question_counts",
        "questions",
        "so_question_counts",
        Total(lambda t: t.question_count),
        dimensions=("tag",),
        frame=_monthly_questions,
        notes="Counted per calendar month: at day or week grain a month's count sits on its "
        "first day (use --grain month).",
    ),
    _metric(
        "stackoverflow_answered_share",
        "Share of the period's tagged questions that are answered (accepted or upvoted answer).",
        "Σ answered_share x sampled_questions / Σ sampled_questions",
        "ratio",
        "so_question_counts",
        Ratio(
            numerator=lambda t: t.answered_share * t.sampled_questions,
            denominator=lambda t: t.sampled_questions,
            where=lambda t: t.sampled_questions.notnull(),
            numerator_doc="answered questions sampled",
            denominator_doc="questions sampled",
            empty_reason="no_values",
        ),
        better=True,
        dimensions=("tag",),
        frame=_monthly_questions,
        notes="Only months collected while the Stack Exchange quota allowed (--answer-months).",
    ),
    _metric(
        "ecosystem_search_total",
        "GitHub search totals per configured query (repositories, commits, files).",
        "total_count of the period's last search per query",
        "results",
        "ecosystem_counts",
        Custom(_ecosystem, extra=("query_name", "label", "incomplete"), grains=_GRAINS),
        dimensions=(),
        notes="github_search_estimate rows are GitHub's estimates; capped_sample rows (code "
        "search) cover at most 4,000 repositories per query.",
    ),
)
