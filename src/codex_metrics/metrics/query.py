"""From a catalogue entry and a request (window, grain, slices) to one Ibis expression.

Expressions are built over *unbound* tables named like the lake's tables, so the same
expression compiles for DuckDB (the lake's views) and for Spark (temporary views over the same
Parquet files). Preparing a source table does, in order: restrict it to the window (by UTC day,
and by timestamp when a timestamp window is asked), expose the canonical dimension names
(``model`` for ``model_version``, ``editor`` for ``ide``), pick the one ``usage_daily`` breakdown
that carries the requested dimensions, join team / persona / arm when asked, apply the filters,
and add ``period`` (the UTC day truncated to the grain; weeks are ISO weeks starting Monday).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir

from codex_metrics.errors import MetricError
from codex_metrics.lake.schema import BREAKDOWN_DIMENSIONS, USAGE_FEATURE_NAMES
from codex_metrics.lake.tables import TABLES
from codex_metrics.metrics.catalogue import Custom, Distinct, Metric, Quantile, Ratio, Total
from codex_metrics.metrics.slices import (
    group_size,
    in_teams,
    one_entity_rows,
    with_team,
    withhold_small_groups,
)

__all__ = [
    "ENTITY_TABLES",
    "NATIVE_DIMENSIONS",
    "TIMESTAMP_COLUMNS",
    "MetricQuery",
    "build_expression",
    "developer_expression",
    "lake_table",
]

StandardMeasure = Ratio | Total | Distinct | Quantile
GRAIN_UNITS = {"day": "D", "week": "W", "month": "M", "all": ""}
#: Columns holding each canonical dimension, per table (joined dimensions excluded).
NATIVE_DIMENSIONS: dict[str, dict[str, str]] = {
    "suggestions": {
        "org": "org",
        "language": "language",
        "editor": "editor",
        "model": "model_version",
        "feature": "feature",
    },
    "usage_daily": {
        "org": "org",
        "language": "language",
        "editor": "ide",
        "model": "model",
        "feature": "feature",
    },
    "typing": {"org": "org"},
    "tasks": {"org": "org", "model": "model_version"},
    "surveys": {"org": "org"},
    "eval_results": {"model": "model_version", "suite": "suite"},
    "seats": {"org": "org"},
    "copilot_user_daily": {"org": "org"},
    "codex_requests": {"model": "model_version"},
    "codex_tool_events": {"model": "model_version"},
}
NATIVE_DIMENSIONS["copilot_entity_daily"] = dict(NATIVE_DIMENSIONS["usage_daily"])
# Every row says which source wrote it: a dimension of every table (``--by source``).
for _native in NATIVE_DIMENSIONS.values():
    _native["source"] = "source"
JOINED_DIMENSIONS = ("team", "persona", "arm")
#: Event timestamp per table, for timestamp windows (experiments); other tables use the day.
TIMESTAMP_COLUMNS = {
    "suggestions": "timestamp",
    "tasks": "started_at",
    "surveys": "submitted_at",
    "codex_requests": "timestamp",
    "codex_tool_events": "timestamp",
}
#: Tables of Copilot per-user reports, where an org's and its enterprise's rows can overlap.
ENTITY_TABLES = ("usage_daily", "copilot_user_daily")
_USAGE_DIMS = {"editor": "ide", "feature": "feature", "language": "language", "model": "model"}
_GITHUB_FEATURE = dict(USAGE_FEATURE_NAMES)


def lake_table(name: str) -> ir.Table:
    """An unbound Ibis table with the schema readers see for lake table ``name``."""
    schema = TABLES[name].reader_schema()
    return ibis.table(ibis.Schema.from_pyarrow(schema), name=name)


@dataclass(frozen=True)
class MetricQuery:
    """A request for one metric: window, grain, group-by and filters, validated.

    Attributes:
        metric: the catalogue entry.
        since: first UTC day included (``None``: from the first day with data).
        until: last UTC day included (``None``: to the last day with data).
        grain: day, week (ISO), month, or all (the whole window as one period, labelled by
            its first day: ``since``, which :func:`~codex_metrics.metrics.compute_metric`
            fills from the data when not given).
        by: dimensions to group by.
        filters: dimension -> accepted values (``experiment`` is also accepted with ``arm``).
        start: timestamp window start (inclusive), used by :func:`developer_expression`.
        end: timestamp window end (exclusive).
        min_group_size: withhold a row aggregating fewer distinct developers than this
            (``null_reason`` ``too_few_users``); 0 shows every row.
        one_entity: read one Copilot report entity per developer-day (set when the lake holds
            enterprise and org reports; see :func:`one_entity_rows`).
        params: metric parameters from the settings (seat prices by plan).
        exclude_weekends: drop Saturdays and Sundays (UTC days) before aggregating, so weekly
            and rolling values compare working days only and weekend days are never gaps.
    """

    metric: Metric
    since: date | None = None
    until: date | None = None
    grain: str = "day"
    by: tuple[str, ...] = ()
    filters: Mapping[str, Sequence[str]] = field(default_factory=dict)
    start: datetime | None = None
    end: datetime | None = None
    min_group_size: int = 0
    one_entity: bool = False
    params: Mapping[str, Any] = field(default_factory=dict)
    exclude_weekends: bool = False

    def __post_init__(self) -> None:
        m = self.metric
        if self.grain not in GRAIN_UNITS:
            raise MetricError(f"grain {self.grain!r} is not one of day, week, month, all")
        if isinstance(m.measure, Custom) and self.grain not in m.measure.grains:
            raise MetricError(
                f"metric {m.name!r} is defined at grain {', '.join(m.measure.grains)} only, "
                f"not {self.grain}; pass --grain {m.measure.grains[0]}"
            )
        allowed = set(m.dimensions) | ({"experiment"} if "arm" in m.dimensions else set())
        if m.source in NATIVE_DIMENSIONS and not isinstance(m.measure, Custom):
            allowed.add("source")
        for dim in (*self.by, *self.filters):
            if dim not in allowed:
                raise MetricError(
                    f"metric {m.name!r} cannot be sliced by {dim!r}; its dimensions are "
                    f"{', '.join(m.dimensions) or 'none'}"
                )
        if "experiment" in self.by:
            raise MetricError("experiment is a filter only (--filter experiment=ID); group by arm")
        if len(set(self.by)) != len(self.by):
            raise MetricError(f"--by repeats a dimension: {', '.join(self.by)}")
        if self.since and self.until and self.since > self.until:
            raise MetricError(f"--since {self.since} is after --until {self.until}")

    # -- dimensions -------------------------------------------------------------------------
    @property
    def used_dimensions(self) -> tuple[str, ...]:
        """Dimensions grouped by or filtered on, in a stable order."""
        return tuple(dict.fromkeys([*self.by, *(d for d in self.filters if d != "experiment")]))

    def breakdown(self, default: str = "total") -> str:
        """The ``usage_daily`` breakdown carrying every requested usage dimension.

        Raises:
            MetricError: no breakdown of GitHub's report carries that combination.
        """
        wanted = {_USAGE_DIMS[d] for d in self.used_dimensions if d in _USAGE_DIMS}
        if wanted <= set(BREAKDOWN_DIMENSIONS[default]):
            return default
        for name, dims in BREAKDOWN_DIMENSIONS.items():
            if wanted <= set(dims):
                return name
        raise MetricError(
            f"usage_daily has no breakdown by {' x '.join(sorted(wanted))} (GitHub reports "
            "ide, feature, language x feature, language x model and model x feature only); "
            "slice by fewer dimensions or use an event-grain metric"
        )

    # -- preparing a source ------------------------------------------------------------------
    def source(
        self,
        name: str | None = None,
        *,
        lookback_days: int = 0,
        breakdown: str | None = None,
        window: bool = True,
    ) -> ir.Table:
        """Lake table ``name`` (default: the metric's source) prepared as the module says."""
        name = name or self.metric.source
        t = lake_table(name)
        if name == "usage_daily":
            t = t.filter(
                t.breakdown == self.breakdown(breakdown or self.metric.breakdown or "total")
            )
        if name in ENTITY_TABLES and self.one_entity:
            t = one_entity_rows(t)
        return self.prepare(
            t,
            NATIVE_DIMENSIONS.get(name, {}),
            timestamp=TIMESTAMP_COLUMNS.get(name),
            lookback_days=lookback_days,
            window=window,
            usage=name == "usage_daily",
        )

    def prepare(
        self,
        t: ir.Table,
        native: Mapping[str, str],
        *,
        timestamp: str | None = None,
        lookback_days: int = 0,
        window: bool = True,
        usage: bool = False,
    ) -> ir.Table:
        """Window, canonical dimensions, joins, filters and ``period`` for any frame with ``day``."""
        if window:
            t = self.restrict(t, timestamp, lookback_days)
        used = self.used_dimensions
        renames = {d: t[native[d]] for d in used if d in native and native[d] != d}
        if renames:
            t = t.mutate(**renames)
        if "team" in self.by:
            t = with_team(t)
        elif "team" in self.filters:
            t = in_teams(t, list(self.filters["team"]))
        if "persona" in used:
            dev = lake_table("developers")
            dev = dev.group_by("developer_id").aggregate(persona=dev.persona.max())
            t = t.left_join(dev, "developer_id")
        if "arm" in used or "experiment" in self.filters:
            asg = lake_table("assignments")
            if "experiment" in self.filters:
                asg = asg.filter(asg.experiment_id.isin(list(self.filters["experiment"])))
            asg = asg.select("developer_id", "arm").distinct()
            how = "left" if "experiment" not in self.filters else "inner"
            t = t.join(asg, "developer_id", how=how)
        for dim, values in self.filters.items():
            if dim == "experiment" or (dim == "team" and "team" not in self.by):
                continue
            vals = list(values)
            if usage and dim == "feature":
                vals = sorted({_GITHUB_FEATURE.get(v, v) for v in vals})
            t = t.filter(t[dim].isin(vals))
        return t.mutate(period=self.period(t.day))

    def period(self, day: ir.DateValue) -> ir.DateValue:
        """``day`` truncated to the grain, as a DATE (Spark's date_trunc returns a timestamp)."""
        if self.grain == "day":
            return day
        if self.grain == "all":
            if self.since is None:
                raise MetricError("grain all needs the window's first day (--since)")
            return ibis.literal(self.since, type="date")
        return day.truncate(GRAIN_UNITS[self.grain]).cast("date")

    def restrict(
        self, t: ir.Table, timestamp: str | None = None, lookback_days: int = 0
    ) -> ir.Table:
        """Keep the rows of ``t`` inside the window (days, and timestamps when asked)."""
        since = self.since - timedelta(days=lookback_days) if self.since else None
        if since is not None:
            t = t.filter(t.day >= since)
        if self.until is not None:
            t = t.filter(t.day <= self.until)
        if self.exclude_weekends:  # ISO weekday index: Monday 0 ... Sunday 6
            t = t.filter(t.day.day_of_week.index() < 5)
        if self.start is not None:
            t = t.filter(t.day >= self.start.date())
            if timestamp is not None:
                t = t.filter(t[timestamp] >= self.start)
            else:  # day tables: a day is in the window when its first instant is
                first = (
                    self.start.date()
                    if _is_midnight(self.start)
                    else self.start.date() + timedelta(1)
                )
                t = t.filter(t.day >= first)
        if self.end is not None:
            t = t.filter(t.day <= self.end.date())
            if timestamp is not None:
                t = t.filter(t[timestamp] < self.end)
            else:
                t = t.filter(
                    t.day < self.end.date() if _is_midnight(self.end) else t.day <= self.end.date()
                )
        return t

    @property
    def keys(self) -> list[str]:
        """Group keys of the result: ``period`` then the ``--by`` dimensions."""
        return ["period", *self.by]


def _is_midnight(ts: datetime) -> bool:
    return (ts.hour, ts.minute, ts.second, ts.microsecond) == (0, 0, 0, 0)


def row_filter(measure: Ratio | Total | Distinct | Quantile, t: ir.Table) -> ir.BooleanValue | None:
    """The measure's ``where`` over ``t`` (``None``: every row takes part)."""
    return measure.where(t) if measure.where is not None else None


def aggregates(measure: Ratio | Total | Distinct | Quantile, t: ir.Table) -> dict[str, ir.Scalar]:
    """The aggregate columns of a standard measure over ``t`` (for any grouping)."""
    w = row_filter(measure, t)
    if isinstance(measure, Ratio):
        return {
            "numerator": _sum(measure.numerator(t), t, w),
            "denominator": _sum(measure.denominator(t), t, w),
        }
    if isinstance(measure, Total):
        value = t.count(where=w) if measure.expr is None else measure.expr(t).sum(where=w)
        return {"value": value.cast("int64") if measure.expr is None else value}
    if isinstance(measure, Distinct):
        return {"value": t[measure.column].nunique(where=w)}
    return {
        "value": measure.expr(t).cast("float64").quantile(measure.q, where=w),
        "n": t.count(where=w),
    }


def _sum(x: ir.Value, t: ir.Table, where: ir.BooleanValue | None) -> ir.Scalar:
    """Σ x over the rows kept by ``where`` (a CASE inside the sum, not a FILTER clause).

    DuckDB evaluates many ``FILTER (WHERE ...)`` aggregates in one grouped scan several times
    slower than the equivalent conditional sums; the results are identical.
    """
    if isinstance(x, ir.Scalar):  # a constant per row: constant x number of rows kept
        rows = t.count() if where is None else where.ifelse(1, 0).sum()
        return x.cast("float64") * rows.cast("float64")
    x = x.cast("float64")
    return (x if where is None else where.ifelse(x, ibis.null("float64"))).sum()


def finish_columns(
    measure: Ratio | Total | Distinct | Quantile, agg: Mapping[str, ir.Column]
) -> dict[str, ir.Value]:
    """The output columns of a standard measure from its aggregates, in output order."""
    null_s = ibis.null("string")
    if isinstance(measure, Ratio):
        num, den = agg["numerator"].fill_null(0), agg["denominator"].fill_null(0)
        return {
            "numerator": num,
            "denominator": den,
            "value": ibis.cases((den == 0, ibis.null("float64")), else_=num / den * measure.scale),
            "null_reason": ibis.cases((den == 0, ibis.literal(measure.empty_reason)), else_=null_s),
        }
    if isinstance(measure, Quantile):
        reason = ibis.cases((agg["n"] == 0, ibis.literal("no_values")), else_=null_s)
        return {"value": agg["value"], "n": agg["n"], "null_reason": reason}
    if isinstance(measure, Total):
        return {"value": agg["value"].fill_null(0), "null_reason": null_s}
    return {"value": agg["value"], "null_reason": null_s}


def finish(measure: Ratio | Total | Distinct | Quantile, agg: ir.Table) -> ir.Table:
    """Add ``value`` and ``null_reason`` to the aggregates of a standard measure."""
    names = list(aggregates_names(measure))
    return agg.mutate(**finish_columns(measure, {n: agg[n] for n in names}))


def aggregates_names(measure: Ratio | Total | Distinct | Quantile) -> tuple[str, ...]:
    """Names of the aggregate columns :func:`aggregates` returns for ``measure``."""
    if isinstance(measure, Ratio):
        return ("numerator", "denominator")
    if isinstance(measure, Quantile):
        return ("value", "n")
    return ("value",)


def build_expression(query: MetricQuery) -> ir.Table:
    """The grouped result of ``query``: ``period``, ``--by`` dims, value columns, ``null_reason``."""
    measure = query.metric.measure
    if isinstance(measure, Custom):
        return measure.build(query)
    t = frame_for(query)
    agg = t.group_by(query.keys).aggregate(**aggregates(measure, t), **group_size(query, t))
    out = withhold_small_groups(query, finish(measure, agg))
    return out.order_by(query.keys)


def developer_expression(query: MetricQuery) -> ir.Table:
    """Per-developer ``developer_id, numerator, denominator`` of a ratio metric over the window.

    Raises:
        MetricError: the metric is not a ratio or mean.
    """
    measure = query.metric.measure
    if not isinstance(measure, Ratio):
        raise MetricError(
            f"metric {query.metric.name!r} is a {query.metric.kind}, not a ratio or mean: it has no "
            "per-developer numerator and denominator"
        )
    t = frame_for(query)
    agg = t.group_by("developer_id").aggregate(**aggregates(measure, t))
    return agg.mutate(
        numerator=agg.numerator.fill_null(0), denominator=agg.denominator.fill_null(0)
    )


def frame_for(query: MetricQuery) -> ir.Table:
    """The prepared rows a standard measure aggregates (its source, or the metric's own frame)."""
    if query.metric.frame is not None:
        return query.metric.frame(query)
    return query.source()
