"""Seat analysis over time, seat cost, and GitHub's own active-user counts beside ours.

Seats come as daily snapshots (``seats``); a period reads its latest snapshot (the last day with
one in the period), so "seats never used" is a count on a day, as copilot-metrics-viewer's Seat
Analysis shows it, over time. A seat is *inactive for N days* when its last activity (GitHub's
``last_activity_at``) is N or more days before the snapshot day, or it was never used. Prices are
USD per seat and month by plan, from ``[seats] prices`` in the config (default: GitHub's list
prices, business 19, enterprise 39).

``vendor_*_active_users`` are GitHub's own distinct counts from the entity report
(``copilot_entity_daily``, one row per org or enterprise, never added up): at week or month
grain DAU is the mean over the period's days and WAU and MAU the value on its last day. For an
entity-day held by both a usage-metrics report and a legacy metrics export, the new report is
read (docs/data-sources.md).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from codex_metrics.config import DEFAULT_SEAT_PRICES
from codex_metrics.metrics.adoption import is_active
from codex_metrics.metrics.catalogue import Custom, Metric, register
from codex_metrics.metrics.query import MetricQuery, lake_table

ALL_GRAINS = ("day", "week", "month", "all")
__all__ = ["entity_totals"]

_SEAT_DIMENSIONS = ("org",)


def _latest_snapshot(q: MetricQuery) -> ir.Table:
    """Seats of each period's last snapshot day."""
    t = q.source()
    last = t.group_by(["period", *q.by]).aggregate(last_day=t.day.max())
    j = t.join(last, ["period", *q.by])
    return j.filter(j.day == j.last_day).drop("last_day")


def _inactive(t: ir.Table, days: int) -> ir.BooleanValue:
    return t.last_activity_at.isnull() | (
        t.last_activity_at.date() <= t.day - ibis.interval(days=days)
    )


def _price(q: MetricQuery, t: ir.Table) -> ir.FloatingValue:
    prices = {**DEFAULT_SEAT_PRICES, **dict(q.params.get("seat_prices") or {})}
    cases = [(t.plan.lower() == plan, ibis.literal(float(p))) for plan, p in prices.items()]
    return ibis.cases(*cases, else_=ibis.null("float64"))


def _seat_count(where: str) -> Custom:
    def build(q: MetricQuery) -> ir.Table:
        t = _latest_snapshot(q)
        cond = {
            "never": t.last_activity_at.isnull(),
            "7d": _inactive(t, 7),
            "30d": _inactive(t, 30),
        }[where]
        out = t.group_by(q.keys).aggregate(value=t.developer_id.nunique(where=cond))
        return out.mutate(null_reason=ibis.null("string")).order_by(q.keys)

    return Custom(build, grains=ALL_GRAINS)


def _cost(kind: str) -> Custom:
    def build(q: MetricQuery) -> ir.Table:
        t = _latest_snapshot(q)
        t = t.mutate(price=_price(q, t))
        if kind == "idle":
            out = t.group_by(q.keys).aggregate(value=t.price.sum(where=_inactive(t, 30)))
            return out.mutate(
                value=out.value.fill_null(0.0), null_reason=ibis.null("string")
            ).order_by(q.keys)
        cost = t.group_by(q.keys).aggregate(numerator=t.price.sum())
        if kind == "total":
            return (
                cost.mutate(value=cost.numerator, null_reason=ibis.null("string"))
                .drop("numerator")
                .order_by(q.keys)
            )
        u = q.source("usage_daily", breakdown="total")
        u = u.filter(is_active(u)).select("developer_id", "period").distinct()
        holders = t.select("developer_id", "period", *q.by).distinct()
        active = holders.join(u, ["developer_id", "period"])
        active = active.group_by(q.keys).aggregate(denominator=active.developer_id.nunique())
        out = cost.left_join(active, q.keys)
        out = out.select(*q.keys, numerator=out.numerator,
                         denominator=out.denominator.fill_null(0).cast("float64"))  # fmt: skip
        zero = out.denominator == 0
        return out.mutate(
            value=ibis.cases((zero, ibis.null("float64")), else_=out.numerator / out.denominator),
            null_reason=ibis.cases((zero, ibis.literal("zero_denominator")),
                                   else_=ibis.null("string")),
        ).order_by(q.keys)  # fmt: skip

    return Custom(build, grains=ALL_GRAINS)


def entity_totals(q: MetricQuery) -> ir.Table:
    """``copilot_entity_daily`` total rows of the window, one source per entity-day.

    A usage-metrics report row beats a legacy export's row of the same entity and day.
    """
    t = q.prepare(lake_table("copilot_entity_daily"), {"org": "org"})
    t = t.filter(t.breakdown == "total")
    new = t.filter(t.source != "copilot-legacy").select("entity_type", "org", "day").distinct()
    legacy = t.filter(t.source == "copilot-legacy").anti_join(new, ["entity_type", "org", "day"])
    kept = t.filter(t.source != "copilot-legacy")
    return kept.union(legacy.select(*t.columns).cast(kept.schema()))


def _vendor(column: str, *, mean: bool) -> Custom:
    def build(q: MetricQuery) -> ir.Table:
        by = tuple(dict.fromkeys([*q.by, "org"]))
        keys = ["period", *by]
        t = entity_totals(q)
        t = t.filter(t[column].notnull())
        if q.grain == "day" or mean:
            out = t.group_by(keys).aggregate(value=t[column].cast("float64").mean())
        else:
            last = t.group_by(keys).aggregate(last_day=t.day.max())
            j = t.join(last, keys)
            j = j.filter(j.day == j.last_day)
            out = j.group_by(keys).aggregate(value=j[column].cast("float64").max())
        return out.mutate(null_reason=ibis.null("string")).order_by(keys)

    return Custom(build, extra=("org",), grains=ALL_GRAINS)


def _metric(
    name: str,
    description: str,
    formula: str,
    measure: Custom,
    *,
    unit: str,
    source: str = "seats",
    better: bool | None = None,
    notes: str = "",
    extra: tuple[str, ...] = (),
) -> Metric:
    return Metric(
        name=name,
        family="adoption",
        description=description,
        formula=formula,
        unit=unit,
        basis="count" if unit != "usd" else "none",
        grain="daily",
        source=source,
        extra_sources=extra,
        measure=measure,
        dimensions=_SEAT_DIMENSIONS,
        higher_is_better=better,
        notes=notes,
    )


register(
    _metric("seats_never_used", "Seats whose holder never used Copilot (last snapshot of the "
            "period).", "count(seats with last_activity_at null)", _seat_count("never"),
            unit="seats", better=False),
    _metric("seats_inactive_7d", "Seats with no activity in the 7 days up to the period's last "
            "snapshot (never used included).",
            "count(seats with last_activity_at <= snapshot day - 7 or null)", _seat_count("7d"),
            unit="seats", better=False),
    _metric("seats_inactive_30d", "Seats with no activity in the 30 days up to the period's "
            "last snapshot (never used included).",
            "count(seats with last_activity_at <= snapshot day - 30 or null)",
            _seat_count("30d"), unit="seats", better=False),
    _metric("seat_cost", "Monthly cost of the seats in the period's last snapshot.",
            "Σ price(plan) over seats, USD per month", _cost("total"), unit="usd"),
    _metric("idle_seat_cost", "Monthly cost of seats inactive for 30 days (idle seats).",
            "Σ price(plan) over seats inactive 30 days, USD per month", _cost("idle"),
            unit="usd", better=False),
    _metric("cost_per_active_user", "Monthly seat cost per seat holder active in the period.",
            "Σ price(plan) over seats / seat holders with an active usage_daily row",
            _cost("per_active"), unit="usd", better=False, extra=("usage_daily",),
            notes="At day grain the denominator is that day's active holders; read it at month "
            "grain for a per-month cost."),
    _metric("vendor_daily_active_users", "GitHub's own daily active users of each org or "
            "enterprise (entity report), beside daily_active_users computed from per-user rows.",
            "daily_active_users of the entity report (mean over the period's days)",
            _vendor("daily_active_users", mean=True), unit="users",
            source="copilot_entity_daily", better=True),
    _metric("vendor_weekly_active_users", "GitHub's own weekly active users (entity report).",
            "weekly_active_users of the entity report (value on the period's last day)",
            _vendor("weekly_active_users", mean=False), unit="users",
            source="copilot_entity_daily", better=True),
    _metric("vendor_monthly_active_users", "GitHub's own monthly active users (entity report, "
            "a trailing 28-day window).",
            "monthly_active_users of the entity report (value on the period's last day)",
            _vendor("monthly_active_users", mean=False), unit="users",
            source="copilot_entity_daily", better=True),
)  # fmt: skip
