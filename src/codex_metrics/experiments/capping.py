"""Capping: per-developer winsorisation of mean metrics at a percentile of the pooled arms.

Latency and edit-distance means are dominated by a few developers: one developer whose mean
latency is 20× everyone else's moves an arm's mean as much as hundreds of ordinary ones. With
capping at percentile p, each developer's mean mᵢ/dᵢ is replaced by min(mᵢ/dᵢ, c) with c the
p-quantile (type 7) of the developer means of **both arms pooled** (developers with dᵢ > 0),
keeping their weight dᵢ: the numerator becomes dᵢ·min(mᵢ/dᵢ, c). The pre-period covariate is
capped the same way with its own pooled quantile. The cap is computed before arms are compared
and is the same for every arm, so it cannot favour one (Statsig winsorises at P99.9 by
default; GrowthBook caps on request).

Only *mean* metrics are capped (a unit other than ``ratio``): rates such as acceptance are
bounded already. Capping is off by default (docs/experiments.md argues why); the report shows
the cap and how many developers it touched.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from codex_metrics.errors import ParameterError

__all__ = ["CapInfo", "cap_applies", "capped_sql", "check_percentile"]

#: Units of metrics that are rates (bounded), never capped.
_RATE_UNITS = frozenset({"ratio", "percent", "share"})


@dataclass(frozen=True)
class CapInfo:
    """How a metric was capped.

    Attributes:
        percentile: the percentile p of the pooled developer means.
        post_cap: cap c on developer means in the experiment period (NaN: no developer).
        pre_cap: the same for the pre-period covariate (``None`` without pre-period).
        capped_developers: developers whose experiment-period mean was lowered.
    """

    percentile: float
    post_cap: float
    pre_cap: float | None
    capped_developers: int


def cap_applies(unit: str) -> bool:
    """Whether a metric with ``unit`` is a mean (capped) rather than a rate."""
    return unit not in _RATE_UNITS


def check_percentile(percentile: float) -> None:
    """Raise unless ``percentile`` is a usable cap level.

    Raises:
        ParameterError: not in (0.5, 1).
    """
    if not 0.5 < percentile < 1:
        raise ParameterError(
            "--cap", f"must be a percentile in (0.5, 1) such as 0.99 or 0.999, got {percentile}"
        )


def capped_sql(
    con: duckdb.DuckDBPyConnection, joined: str, percentile: float, *, has_pre: bool
) -> tuple[str, CapInfo]:
    """Wrap ``joined`` (rows with m, d, x, y per developer) so m and x are capped.

    Returns:
        The capped SQL (same columns) and what the cap was.
    """
    check_percentile(percentile)
    p = float(percentile)
    post, pre, capped = con.execute(
        f"""
        WITH c AS (SELECT quantile_cont(m / d, {p}) FILTER (WHERE d > 0) AS post,
                          quantile_cont(x / y, {p}) FILTER (WHERE y > 0) AS pre FROM ({joined}))
        SELECT c.post, c.pre, (SELECT count(*) FROM ({joined}) j WHERE j.d > 0 AND j.m > c.post * j.d)
        FROM c
        """
    ).fetchall()[0]
    post_cap = float("nan") if post is None else float(post)
    pre_cap = float(pre) if has_pre and pre is not None else None
    m = f"CASE WHEN d > 0 AND m > {post_cap!r} * d THEN {post_cap!r} * d ELSE m END"
    if post is None:
        m = "m"
    x = (
        f"CASE WHEN y > 0 AND x > {pre_cap!r} * y THEN {pre_cap!r} * y ELSE x END"
        if pre_cap
        else "x"
    )
    sql = f"SELECT * REPLACE ({m} AS m, {x} AS x) FROM ({joined})"
    return sql, CapInfo(p, post_cap, pre_cap, int(capped or 0))
