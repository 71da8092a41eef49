"""Slices of real data: one Copilot entity per developer-day, teams, small groups withheld.

* An enterprise's per-user report repeats what its organizations' reports hold; a developer-day
  is read from the org rows, else the enterprise's (:func:`one_entity_rows`).
* Team: the Copilot user-teams membership of the row's day, else the developers roster's team.
  Grouping by team counts a developer in each of their teams; filtering on teams keeps each row
  once (:func:`with_team`, :func:`in_teams`).
* A group of real data with fewer distinct developers than the minimum group size has its
  value, numerator and denominator withheld (``null_reason`` ``too_few_users``; GitHub shows no
  team metrics under 5 seated users).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir

from codex_metrics.lake.tables import TABLES

if TYPE_CHECKING:
    from codex_metrics.lake import LakeSnapshot
    from codex_metrics.metrics.query import MetricQuery

__all__ = [
    "default_group_size",
    "group_size",
    "in_teams",
    "one_entity_rows",
    "with_team",
    "withhold_small_groups",
]


def default_group_size(snapshot: LakeSnapshot, metric_name: str, configured: int) -> int:
    """The minimum group size a reader applies by default.

    ``configured`` when the metric's tables hold rows of a real source in ``snapshot``, 0 for a
    simulated world alone (its developers are not people). The CLI and the dashboard both use
    this rule.
    """
    from codex_metrics.lake import SIMULATOR_SOURCE
    from codex_metrics.metrics.catalogue import get_metric

    read = snapshot.sources_read(list(get_metric(metric_name).tables))
    return configured if any(s != SIMULATOR_SOURCE for s in read) else 0


def _table(name: str) -> ir.Table:
    """An unbound Ibis table named like lake table ``name`` (as ``query.lake_table``)."""
    return ibis.table(ibis.Schema.from_pyarrow(TABLES[name].reader_schema()), name=name)


def one_entity_rows(t: ir.Table) -> ir.Table:
    """One Copilot report entity per developer-day: org rows, else the enterprise's.

    An enterprise report repeats the activity its organizations' reports hold; a developer-day
    with org rows ignores the enterprise rows, so the two never add up.
    """
    org_days = t.filter(t.entity_type == "org").select("developer_id", "day").distinct()
    enterprise_only = t.filter(t.entity_type == "enterprise").anti_join(
        org_days, ["developer_id", "day"]
    )
    rest = t.filter(t.entity_type.isnull() | (t.entity_type != "enterprise"))
    return rest.union(enterprise_only.select(*rest.columns).cast(rest.schema()))


def _static_teams() -> ir.Table:
    """Teams from the developers roster, for developers no day-level membership names."""
    dev = _table("developers")
    dev = dev.filter(dev.team.notnull()).select("developer_id", static_team=dev.team).distinct()
    tm = _table("team_members").select("developer_id").distinct()
    return dev.anti_join(tm, "developer_id")


def with_team(t: ir.Table) -> ir.Table:
    """Rows with their ``team``: membership on the row's day, else the roster's team.

    A developer in two teams that day counts in both (grouping by team); filtering keeps each
    row once (:func:`in_teams`).
    """
    tm = _table("team_members").select("developer_id", "day", "team").distinct()
    joined = t.left_join(tm, ["developer_id", "day"]).select(*t.columns, "team")
    roster = joined.left_join(_static_teams(), "developer_id")
    return roster.select(*t.columns, team=roster.team.coalesce(roster.static_team))


def in_teams(t: ir.Table, teams: list[str]) -> ir.Table:
    """Rows of developers in any of ``teams`` that day, each row once (a filter, not a join)."""
    tm = _table("team_members")
    tm = tm.filter(tm.team.isin(teams)).select("developer_id", "day").distinct()
    static = _static_teams()
    static = static.filter(static.static_team.isin(teams)).select("developer_id")
    by_day = t.semi_join(tm, ["developer_id", "day"])
    by_roster = t.semi_join(static, "developer_id")
    return by_day.union(by_roster.cast(by_day.schema()))


def group_size(query: MetricQuery, t: ir.Table) -> dict[str, ir.Scalar]:
    """The distinct-developer count of each group, when a minimum group size applies."""
    if query.min_group_size <= 0 or "developer_id" not in t.columns:
        return {}
    return {"group_users": t.developer_id.nunique()}


def withhold_small_groups(query: MetricQuery, out: ir.Table) -> ir.Table:
    """Null the values of groups with fewer developers than the minimum (``too_few_users``).

    Numerators and denominators are withheld too: they would give the value away.
    """
    if "group_users" not in out.columns:
        return out
    small = out.group_users < query.min_group_size
    changes = {
        name: ibis.cases((small, ibis.null(out[name].type())), else_=out[name])
        for name in ("value", "numerator", "denominator", "n")
        if name in out.columns
    }
    changes["null_reason"] = ibis.cases(
        (small, ibis.literal("too_few_users")), else_=out.null_reason
    )
    return out.mutate(**changes).drop("group_users")
