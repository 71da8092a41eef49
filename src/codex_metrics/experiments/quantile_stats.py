"""Per-arm inputs of the clustered quantile test, in two passes over the metric's events.

Pass 1 ranks every arm's events once: n and the type-7 quantiles (DuckDB ``quantile_cont``,
what ``metrics show`` computes) at ν and at the lower and upper levels of every n* of the grid,
for every quantile metric reading the same rows (P50, P90 and P99 of one filter share the
pass). The n* of each arm is then picked from its n. (Selecting the order statistics from
counts on the lake's latency grid instead was measured slower: the join of events with the
experiment's units, not the sort, dominates both passes.) Pass 2 counts, per developer, their
events Nᵢ and those at or below their arm's q̂ (Sᵢ), and sums Sᵢ, Sᵢ², Nᵢ, Nᵢ², Sᵢ·Nᵢ over the
arm's developers (inactive ones count with zeros, as in every other metric), and the same
squares and products divided by (1 − Nᵢ/n)², the leverage terms of the small-sample correction.

The rows come from the catalogue (``developer_quantile_values``); the experiment's units
(developer, arm) are the ones every metric uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from codex_metrics.experiments.design import ExperimentDesign
from codex_metrics.experiments.lake_stats import experiment_end, units_table
from codex_metrics.experiments.metric_source import Filters, quantile_values
from codex_metrics.experiments.quantiles import (
    N_STAR_GRID,
    QuantileClusteredStats,
    n_star_for,
    quantile_bound_levels,
)

__all__ = ["QuantileRequest", "quantile_statistics"]


@dataclass(frozen=True)
class QuantileRequest:
    """A percentile metric to compare, with the level it ranks at and its row filters."""

    metric: str
    level: float
    filters: Filters | None = None


def _levels(nu: float) -> list[float]:
    """ν, then (lower, upper) for every n* of the grid."""
    out = [nu]
    for n_star in N_STAR_GRID:
        out += list(quantile_bound_levels(nu, n_star))
    return out


def _values_sql(
    con: duckdb.DuckDBPyConnection, design: ExperimentDesign, req: QuantileRequest
) -> str:
    rel = quantile_values(
        con, req.metric, start=design.start, end=experiment_end(design), filters=req.filters
    )
    return rel.sql_query()


def quantile_statistics(
    con: duckdb.DuckDBPyConnection,
    design: ExperimentDesign,
    requests: Sequence[QuantileRequest],
    *,
    small_sample: bool = True,
) -> dict[str, dict[str, QuantileClusteredStats]]:
    """Per metric, per arm: the statistic of :mod:`codex_metrics.experiments.quantiles`.

    Requests whose rows are the same (same source, value and filters) share both passes.
    Arms without events are missing from their metric's mapping. ``small_sample`` selects the
    leverage-corrected cluster variance (``False``: gbstats' exactly).

    Raises:
        MetricError: a metric is not a percentile of suggestions, or a filter is bad.
    """
    groups: dict[str, list[QuantileRequest]] = {}
    for req in requests:
        groups.setdefault(_values_sql(con, design, req), []).append(req)
    units = units_table(con, design)
    out: dict[str, dict[str, QuantileClusteredStats]] = {}
    for sql, group in groups.items():
        out |= _group_statistics(con, sql, units, group, small_sample)
    return out


def _group_statistics(
    con: duckdb.DuckDBPyConnection,
    values_sql: str,
    units: str,
    group: list[QuantileRequest],
    small_sample: bool,
) -> dict[str, dict[str, QuantileClusteredStats]]:
    joined = f"SELECT u.arm, v.developer_id, v.value FROM ({values_sql}) v JOIN {units} u USING (developer_id)"
    levels = [_levels(req.level) for req in group]
    flat = [lv for block in levels for lv in block]
    ranked = con.execute(
        f"SELECT arm, count(*), quantile_cont(value, {flat!r}) FROM ({joined}) GROUP BY arm"
    ).fetchall()
    per_arm: dict[str, tuple[int, list[float]]] = {arm: (int(n), list(qs)) for arm, n, qs in ranked}
    hats: dict[str, list[float]] = {}
    picked: dict[tuple[str, int], tuple[int, float, float, float]] = {}
    for arm, (n, qs) in per_arm.items():
        n_star = n_star_for(n)
        k = N_STAR_GRID.index(n_star)
        offset = 0
        for i, block in enumerate(levels):
            chunk = qs[offset : offset + len(block)]
            offset += len(block)
            picked[(arm, i)] = (n_star, chunk[0], chunk[1 + 2 * k], chunk[2 + 2 * k])
            hats.setdefault(arm, []).append(chunk[0])
    if not per_arm:
        return {req.metric: {} for req in group}
    thresholds = ", ".join(
        f"({_literal(arm)}, {per_arm[arm][0]}, {', '.join(repr(h) for h in hs)})"
        for arm, hs in hats.items()
    )
    hat_cols = ", ".join(f"q{i}" for i in range(len(group)))
    below = ", ".join(
        f"count(*) FILTER (WHERE j.value <= t.q{i}) AS s{i}" for i in range(len(group))
    )
    # Leverage weight 1/(1 - h)^2 with h = N_i / n of the developer's arm (NULL when h = 1).
    weight = "1.0 / nullif(1.0 - d.c / d.n_arm, 0) ^ 2"
    sums = ", ".join(
        f"sum(coalesce(d.s{i}, 0)), sum(coalesce(d.s{i}, 0) ^ 2), "
        f"sum(coalesce(d.s{i}, 0) * coalesce(d.c, 0)), "
        f"sum(d.s{i} ^ 2 * {weight}), sum(d.s{i} * d.c * {weight})"
        for i in range(len(group))
    )
    rows = con.execute(
        f"""
        WITH t(arm, n_arm, {hat_cols}) AS (VALUES {thresholds}),
        j AS ({joined}),
        d AS (SELECT j.developer_id, count(*) AS c, any_value(t.n_arm) AS n_arm, {below}
              FROM j JOIN t USING (arm) GROUP BY j.developer_id)
        SELECT u.arm, count(*), sum(coalesce(d.c, 0)), sum(coalesce(d.c, 0) ^ 2),
               count(*) FILTER (WHERE d.c = d.n_arm), sum(d.c ^ 2 * {weight}), {sums}
        FROM {units} u LEFT JOIN d USING (developer_id) GROUP BY u.arm
        """
    ).fetchall()
    out: dict[str, dict[str, QuantileClusteredStats]] = {req.metric: {} for req in group}
    nan = float("nan")
    for arm, clusters, sum_n, sum_n2, whole, lev_n2, *rest in rows:
        if arm not in per_arm:
            continue
        n = per_arm[arm][0]
        for i, req in enumerate(group):
            n_star, hat, lower, upper = picked[(arm, i)]
            s, s2, sn = (float(x or 0) for x in rest[5 * i : 5 * i + 3])
            lev = (nan, nan, nan) if whole else (rest[5 * i + 3], rest[5 * i + 4], lev_n2)
            out[req.metric][arm] = QuantileClusteredStats(
                n=n,
                n_star=n_star,
                nu=req.level,
                quantile_hat=float(hat),
                quantile_lower=float(lower),
                quantile_upper=float(upper),
                main_sum=s,
                main_sum_squares=s2,
                denominator_sum=float(sum_n or 0),
                denominator_sum_squares=float(sum_n2 or 0),
                main_denominator_sum_product=sn,
                n_clusters=int(clusters),
                leverage_main_sum_squares=float(lev[0] or 0) if lev[0] is not None else nan,
                leverage_main_denominator_sum_product=float(lev[1] or 0)
                if lev[1] is not None
                else nan,
                leverage_denominator_sum_squares=float(lev[2] or 0) if lev[2] is not None else nan,
                small_sample=small_sample,
            )
    return out


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
