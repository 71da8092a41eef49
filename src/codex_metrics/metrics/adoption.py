"""Adoption and usage: active, engaged, new and retained users, volumes, AI share, seats.

User counts are distinct developers, recomputed for every period and slice from the daily
table (one ``usage_daily`` breakdown at a time): they are never summed across days, editors,
features or breakdowns. A developer is *active* on a day when any counter of their
``usage_daily`` row is positive, and *engaged* with a feature when they accepted a suggestion
or sent a prompt in it. DAU / WAU / MAU are trailing 1 / 7 / 28-day windows ending on each
day with data (GitHub's report uses the same windows); a day whose window reaches before the
first day of data has no value (``partial_window``). At week or month grain DAU is the mean of
the daily values (average DAU) and WAU and MAU are the developers active in the period itself,
as ``active_users`` counts them (daily, ISO-weekly or monthly actives). Cohort retention shows
0 for a period in which nobody of a cohort was active. On Copilot reports of both an enterprise
and its organizations, a developer-day is read from the org rows, else the enterprise's.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from codex_metrics.metrics.catalogue import (
    Basis,
    Custom,
    Distinct,
    Measure,
    Metric,
    Ratio,
    Total,
    register,
)
from codex_metrics.metrics.quality import EVENT_DIMENSIONS
from codex_metrics.metrics.query import MetricQuery, lake_table
from codex_metrics.metrics.shapes import calendar, rolling_distinct, with_key

__all__ = ["is_active", "is_engaged"]

USAGE_DIMENSIONS = EVENT_DIMENSIONS
PEOPLE_DIMENSIONS = ("org", "team", "persona", "arm")


def is_active(t: ir.Table) -> ir.BooleanValue:
    """A ``usage_daily`` row shows activity."""
    return (
        (t.code_generation_activity_count > 0)
        | (t.user_initiated_interaction_count > 0)
        | (t.code_acceptance_activity_count > 0)
        | (t.loc_added_sum > 0)
    )


def is_engaged(t: ir.Table) -> ir.BooleanValue:
    """A ``usage_daily`` row shows engagement: an accept or a prompt."""
    return (t.code_acceptance_activity_count > 0) | (t.user_initiated_interaction_count > 0)


def _active_periods(q: MetricQuery) -> ir.Table:
    t = q.source(window=False)
    t = t.filter(is_active(t))
    return t.select("developer_id", "period", *q.by).distinct()


def _new_users(q: MetricQuery) -> ir.Table:
    t = q.source(window=False)
    t = t.filter(is_active(t))
    first = t.group_by(["developer_id", *q.by]).aggregate(first_day=t.day.min())
    first = q.restrict(first.rename(day="first_day"))
    first = first.mutate(period=q.period(first.day))
    out = first.group_by(q.keys).aggregate(value=first.developer_id.nunique())
    return out.mutate(null_reason=ibis.null("string")).order_by(q.keys)


def _cohort_retention(q: MetricQuery) -> ir.Table:
    act = _active_periods(q)
    first = act.group_by(["developer_id", *q.by]).aggregate(cohort=act.period.min())
    j = act.join(first, ["developer_id", *q.by])
    keys = ["cohort", "period", *q.by]
    counts = j.group_by(keys).aggregate(numerator=j.developer_id.nunique().cast("float64"))
    sizes = first.group_by(["cohort", *q.by]).aggregate(denominator=first.count().cast("float64"))
    # every period with data from the cohort's first on: a period where nobody came back is 0
    periods = calendar(q).select("period").distinct()
    grid = sizes.join(periods, periods.period >= sizes.cohort)
    out = grid.left_join(counts, keys)
    out = out.select(
        "cohort", "period", *q.by, "denominator", numerator=out.numerator.fill_null(0.0)
    )
    out = out.mutate(value=out.numerator / out.denominator, null_reason=ibis.null("string"))
    if q.since is not None:
        out = out.filter(out.period >= q.period(ibis.literal(q.since)))
    if q.until is not None:
        out = out.filter(out.period <= q.until)
    return out.select(
        "period", "cohort", *q.by, "numerator", "denominator", "value", "null_reason"
    ).order_by(["period", "cohort", *q.by])


def _seats(kind: str) -> Custom:
    def assigned(q: MetricQuery) -> ir.Table:
        cal = calendar(q)
        periods = cal.group_by("period").aggregate(last_day=cal.day.max())
        seats = _seat_holders(q)
        j = periods.join(seats, seats.assigned_day <= periods.last_day)
        return j.group_by(q.keys).aggregate(denominator=j.developer_id.nunique().cast("float64"))

    def active(q: MetricQuery) -> ir.Table:
        t = q.source(breakdown="total")
        t = t.filter(is_active(t)).select("developer_id", "period").distinct()
        a = t.join(_seat_holders(q).select("developer_id", "org"), "developer_id")
        return a.group_by(q.keys).aggregate(numerator=a.developer_id.nunique().cast("float64"))

    def build(q: MetricQuery) -> ir.Table:
        null_s = ibis.null("string")
        if kind == "assigned":
            out = assigned(q)
            return out.select(
                *q.keys, value=out.denominator.cast("int64"), null_reason=null_s
            ).order_by(q.keys)
        if kind == "active":
            out = active(q)
            return out.select(
                *q.keys, value=out.numerator.cast("int64"), null_reason=null_s
            ).order_by(q.keys)
        out = assigned(q).left_join(active(q), q.keys)
        out = out.select(*q.keys, numerator=out.numerator.fill_null(0), denominator=out.denominator)
        zero = out.denominator == 0
        return out.mutate(
            value=ibis.cases((zero, ibis.null("float64")), else_=out.numerator / out.denominator),
            null_reason=ibis.cases((zero, ibis.literal("zero_denominator")), else_=null_s),
        ).order_by(q.keys)

    return Custom(build)


def _seat_holders(q: MetricQuery) -> ir.Table:
    seats = lake_table("seats")
    if "org" in q.filters:
        seats = seats.filter(seats.org.isin(list(q.filters["org"])))
    return seats.select("developer_id", "org", assigned_day=seats.assigned_at.date())


def _code_share_frame(q: MetricQuery) -> ir.Table:
    s = lake_table("suggestions")
    s = s.select(
        "developer_id",
        "org",
        "day",
        "timestamp",
        ai=s.chars_accepted.cast("float64").fill_null(0),
        typed=ibis.literal(0.0),
    )
    s = q.prepare(s, {"org": "org"}, timestamp="timestamp").drop("timestamp")
    ty = lake_table("typing")
    ty = ty.select(
        "developer_id", "org", "day", ai=ibis.literal(0.0), typed=ty.chars_typed.cast("float64")
    )
    return s.union(q.prepare(ty, {"org": "org"}).select(*s.columns))


def _usage(
    name: str,
    description: str,
    formula: str,
    measure: Measure,
    unit: str = "users",
    basis: Basis = "users",
    breakdown: str = "total",
    notes: str = "",
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
        source="usage_daily",
        breakdown=breakdown,
        measure=measure,
        dimensions=dimensions,
        higher_is_better=better,
        notes=notes,
    )


register(
    _usage(
        "active_users",
        "Distinct developers active in the period (DAU, ISO-week WAU or MAU by grain).",
        "count(distinct developer_id) over active usage_daily rows in the period",
        Distinct(where=is_active),
    ),
    _usage(
        "daily_active_users",
        "Developers active on the day (average per day at week/month grain).",
        "count(distinct developer_id active on day d)",
        rolling_distinct(1, is_active),
    ),
    _usage(
        "weekly_active_users",
        "Developers active in the 7 days ending on each day.",
        "count(distinct developer_id active in d-6..d)",
        rolling_distinct(7, is_active),
    ),
    _usage(
        "monthly_active_users",
        "Developers active in the 28 days ending on each day.",
        "count(distinct developer_id active in d-27..d)",
        rolling_distinct(28, is_active),
    ),
    _usage(
        "engaged_users_by_feature",
        "Distinct developers who accepted or prompted in each feature.",
        "count(distinct developer_id) with an accept or a prompt, per feature (breakdown feature)",
        with_key(Distinct(where=is_engaged), "feature"),
        breakdown="feature",
    ),
    _usage(
        "new_users",
        "Developers whose first active day in the lake falls in the period.",
        "count(distinct developer_id) with min(active day) in the period",
        Custom(_new_users),
        notes="The first period of the lake counts everyone already using the assistant.",
    ),
    _usage(
        "cohort_retention",
        "Share of each cohort (first active period) active in each later period.",
        "active developers of cohort c in period p / developers in cohort c",
        Custom(_cohort_retention, extra=("cohort",)),
        unit="ratio",
        dimensions=PEOPLE_DIMENSIONS,
        notes="Cohorts are by first active period at the chosen grain; rows are (period, cohort).",
    ),
    _usage(
        "ai_lines_added",
        "Lines added from accepted AI suggestions and edits (daily report).",
        "Σ loc_added_sum",
        Total(lambda t: t.loc_added_sum.cast("int64")),
        unit="lines",
        basis="lines",
        better=None,
    ),
    _usage(
        "seats_assigned",
        "Seats assigned by the last day of the period.",
        "count(seats with assigned_at <= last day with data in the period)",
        _seats("assigned"),
        unit="seats",
        basis="count",
        dimensions=("org",),
        better=None,
    ),
    _usage(
        "seats_active",
        "Seat holders active in the period.",
        "count(distinct seat holders with an active usage_daily row in the period)",
        _seats("active"),
        unit="seats",
        basis="count",
        dimensions=("org",),
    ),
    _usage(
        "seat_activation_rate",
        "Share of assigned seats whose holder was active in the period.",
        "seats_active / seats_assigned",
        _seats("rate"),
        unit="ratio",
        basis="count",
        dimensions=("org",),
    ),
    Metric(
        name="suggestions_shown",
        family="adoption",
        description="Suggestions served and shown (requests with status ok).",
        formula="count(suggestions with status = 'ok')",
        unit="count",
        basis="count",
        grain="event",
        source="suggestions",
        measure=Total(where=lambda t: t.status == "ok"),
        dimensions=EVENT_DIMENSIONS,
        higher_is_better=None,
    ),
    Metric(
        name="requests_served",
        family="adoption",
        description="Requests made to the assistant, whatever their status.",
        formula="count(suggestions rows)",
        unit="count",
        basis="count",
        grain="event",
        source="suggestions",
        measure=Total(),
        dimensions=EVENT_DIMENSIONS,
        higher_is_better=None,
    ),
    Metric(
        name="ai_code_share",
        family="adoption",
        description="Share of new code (characters) that came from accepted suggestions.",
        formula="Σ chars_accepted / (Σ chars_accepted + Σ chars_typed)",
        unit="ratio",
        basis="chars",
        grain="event",
        source="suggestions",
        extra_sources=("typing",),
        measure=Ratio(
            numerator=lambda t: t.ai,
            denominator=lambda t: t.ai + t.typed,
            numerator_doc="sum(chars_accepted) from suggestions",
            denominator_doc="sum(chars_accepted) + sum(chars_typed) from typing",
        ),
        frame=_code_share_frame,
        dimensions=PEOPLE_DIMENSIONS,
        higher_is_better=None,
    ),
)
