"""Reusable query shapes for :class:`~codex_metrics.metrics.catalogue.Custom` metrics.

* trailing windows: distinct developers, or a ratio of sums, over the N days ending on each
  day with data (a day with no data is a gap: it gets no value, and windows never reach past
  the lake's data to invent one; a window starting before the first day of data is partial
  and gets no value either, ``partial_window``);
* shares by category: rows in a category over rows in the group (failure modes, buckets);
* a standard measure with an extra, always-present group key (engaged users by feature).

Trailing windows join a calendar of days to the day-level activity with a range predicate on
the day number, which both DuckDB and Spark plan as a range join; nothing is interpolated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import ibis
import ibis.expr.types as ir

from codex_metrics.metrics.catalogue import Custom, Distinct, Ratio, RowExpr, Total
from codex_metrics.metrics.query import (
    MetricQuery,
    aggregates,
    finish,
    group_size,
    lake_table,
    withhold_small_groups,
)

__all__ = [
    "calendar",
    "category_share",
    "mean_of_daily",
    "rolling_distinct",
    "rolling_ratio",
    "with_key",
]


def calendar(q: MetricQuery, table: str | None = None) -> ir.Table:
    """Distinct UTC days with data in ``table`` (default: the metric's source) in the window."""
    t = lake_table(table or q.metric.source)
    t = q.restrict(t)
    days = t.select("day").distinct()
    return days.mutate(cd=days.day.epoch_days(), period=q.period(days.day))


def mean_of_daily(q: MetricQuery, daily: ir.Table, cal: ir.Table) -> ir.Table:
    """Turn per-day values into the grain: the mean over the period's days with data.

    ``numerator`` is the sum of the daily values and ``denominator`` the number of days with
    data in the period (days where a slice had no rows count as 0, not as missing).
    """
    keys = q.keys
    if q.grain == "day":
        out = daily.mutate(numerator=daily.value.cast("float64"), denominator=ibis.literal(1.0))
        return out.mutate(
            value=out.value.cast("float64"), null_reason=ibis.null("string")
        ).order_by(keys)
    days = cal.group_by("period").aggregate(denominator=cal.count().cast("float64"))
    sums = daily.group_by(keys).aggregate(numerator=daily.value.cast("float64").sum())
    out = sums.join(days, "period")
    return out.mutate(
        value=out.numerator / out.denominator, null_reason=ibis.null("string")
    ).order_by(keys)


def _partial(out: ir.Table, window_days: int, q: MetricQuery) -> ir.Table:
    """Null (``partial_window``) the days whose window starts before the first day of data."""
    # The first day as a one-row table joined on: a bare scalar reduction of the source would
    # be rewritten by Ibis into a window over ``out`` (the window's own first day).
    first = lake_table(q.metric.source).aggregate(first_data_d=lambda t: t.day.min().epoch_days())
    out = out.cross_join(first)
    partial = out.period.epoch_days() - (window_days - 1) < out.first_data_d
    changes = {
        name: ibis.cases((partial, ibis.null(out[name].type())), else_=out[name])
        for name in ("value", "numerator", "denominator")
        if name in out.columns
    }
    changes["null_reason"] = ibis.cases(
        (partial, ibis.literal("partial_window")), else_=out.null_reason
    )
    return out.mutate(**changes).drop("first_data_d")


def rolling_distinct(window_days: int, where: RowExpr | None = None) -> Custom:
    """Distinct developers active in the ``window_days`` days ending on each day with data.

    A day whose window reaches before the first day of data has no value (``partial_window``:
    it would undercount, and a run of them looks like a ramp). At week or month grain a 1-day
    window reports the mean of the daily values (average DAU); longer windows (WAU, MAU) report
    the developers active in the period itself, as ``active_users`` does.
    """

    def build(q: MetricQuery) -> ir.Table:
        if window_days > 1 and q.grain != "day":
            t = q.source()
            if where is not None:
                t = t.filter(where(t))
            out = t.group_by(q.keys).aggregate(value=t.developer_id.nunique())
            return out.mutate(null_reason=ibis.null("string")).order_by(q.keys)
        t = q.source(lookback_days=window_days - 1)
        if where is not None:
            t = t.filter(where(t))
        cal = calendar(q)
        if window_days == 1:  # a plain distinct count per day: no range join needed
            daily = t.group_by(["day", "period", *q.by]).aggregate(value=t.developer_id.nunique())
        else:
            act = t.select("developer_id", *q.by, d=t.day.epoch_days()).distinct()
            j = cal.join(act, [act.d <= cal.cd, act.d > cal.cd - window_days])
            daily = j.group_by(["day", "period", *q.by]).aggregate(value=j.developer_id.nunique())
        daily = daily.mutate(period=daily.day) if q.grain == "day" else daily
        out = mean_of_daily(q, daily.drop("day"), cal)
        return _partial(out, window_days, q) if window_days > 1 else out

    return Custom(build)


def rolling_ratio(measure: Ratio, window_days: int) -> Custom:
    """``Σ numerator / Σ denominator`` over the ``window_days`` days ending on each day (grain day)."""

    def build(q: MetricQuery) -> ir.Table:
        t = q.source(lookback_days=window_days - 1)
        daily = t.group_by(["day", *q.by]).aggregate(**aggregates(measure, t))
        daily = daily.mutate(d=daily.day.epoch_days()).drop("day")
        cal = calendar(q).drop("period")
        j = cal.join(daily, [daily.d <= cal.cd, daily.d > cal.cd - window_days])
        agg = j.group_by(["day", *q.by]).aggregate(
            numerator=j.numerator.sum(), denominator=j.denominator.sum()
        )
        agg = agg.rename(period="day")
        return _partial(finish(measure, agg), window_days, q).order_by(q.keys)

    return Custom(build, grains=("day",))


def category_share(
    name: str,
    category: RowExpr,
    where: RowExpr | None = None,
    table: Callable[[MetricQuery], ir.Table] | None = None,
) -> Custom:
    """Rows in each category of ``category`` over all rows of the group (sums to 1 per group)."""

    def build(q: MetricQuery) -> ir.Table:
        t = table(q) if table is not None else q.source()
        if where is not None:
            t = t.filter(where(t))
        t = t.mutate(**{name: category(t)})
        counts = t.group_by([*q.keys, name]).aggregate(numerator=t.count().cast("float64"))
        # the group total as a window over the counts: one scan of the source, not two
        out = counts.mutate(denominator=counts.numerator.sum().over(group_by=q.keys))
        out = out.mutate(value=out.numerator / out.denominator, null_reason=ibis.null("string"))
        return out.order_by([*q.keys, name])

    # Shares of one window are as meaningful as per day: grain all (the whole window) too.
    return Custom(build, extra=(name,), grains=("day", "week", "month", "all"))


def with_key(measure: Total | Distinct | Ratio, key: str) -> Custom:
    """A standard measure always grouped by ``key`` as well (added to ``--by`` when absent)."""

    def build(q: MetricQuery) -> ir.Table:
        q2 = q if key in q.by else replace(q, by=(*q.by, key))
        t = q2.source()
        agg = t.group_by(q2.keys).aggregate(**aggregates(measure, t), **group_size(q2, t))
        return withhold_small_groups(q2, finish(measure, agg)).order_by(q2.keys)

    return Custom(build, extra=(key,))
