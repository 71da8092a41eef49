"""The one seam between the experiment engine and the metric catalogue.

The engine never defines a metric. It needs, per metric, each developer's numerator and
denominator over a time window, and the metric's direction and unit. The catalogue
(:mod:`codex_metrics.metrics`) provides both:

* ``developer_sums(con, metric_name, *, start, end, filters=None)`` → a DuckDB relation (or an
  Arrow table) with columns ``developer_id, numerator, denominator``;
* ``get_metric(name)`` → an object with ``higher_is_better``, ``unit`` and ``description``.

This module calls those when the catalogue is importable. Until it is (it is built in
parallel), a small fallback table below declares the seven experiment metrics of the simulated
``ab_test`` scenario in the same per-developer form, so the engine and its tests run. The
fallback is the *only* place in the engine with metric SQL, and it is used only when the
catalogue does not provide the metric. TODO(issue 6): delete the fallback once the catalogue
has these metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from codex_metrics.errors import MetricError

__all__ = ["MetricInfo", "developer_sums", "metric_info", "uses_catalogue"]


@dataclass(frozen=True)
class MetricInfo:
    """What the engine needs to know about a metric besides its numbers."""

    name: str
    higher_is_better: bool
    unit: str
    description: str


@dataclass(frozen=True)
class _Fallback:
    info: MetricInfo
    numerator: str
    denominator: str
    where: str = "TRUE"


def _fb(
    name: str, better: bool, unit: str, doc: str, num: str, den: str, where: str = "TRUE"
) -> _Fallback:
    return _Fallback(MetricInfo(name, better, unit, doc), num, den, where)


_FALLBACK: dict[str, _Fallback] = {
    f.info.name: f
    for f in (
        _fb(
            "acceptance_rate_by_count",
            True,
            "ratio",
            "Accepted / shown suggestions.",
            "count(*) FILTER (WHERE accepted)",
            "count(*) FILTER (WHERE status = 'ok')",
        ),
        _fb(
            "acceptance_rate_by_lines",
            True,
            "ratio",
            "Lines accepted / lines suggested.",
            "sum(lines_accepted)",
            "sum(lines_suggested) FILTER (WHERE status = 'ok')",
        ),
        _fb(
            "latency_mean_ms",
            False,
            "ms",
            "Mean time to first token per request.",
            "sum(latency_ms)",
            "count(*)",
        ),
        _fb(
            "error_rate",
            False,
            "ratio",
            "Requests failing with an error or timeout.",
            "count(*) FILTER (WHERE status IN ('error', 'timeout'))",
            "count(*)",
        ),
        _fb(
            "edit_distance_mean",
            False,
            "chars",
            "Mean edit distance 10 min after accepting.",
            "sum(edit_distance_10m)",
            "count(edit_distance_10m)",
        ),
        _fb(
            "persistence_rate_10m",
            True,
            "ratio",
            "Accepted characters still present at 10 min.",
            "sum(chars_persisted_10m)",
            "sum(chars_accepted) FILTER (WHERE chars_persisted_10m IS NOT NULL)",
        ),
        _fb(
            "post_accept_failure_rate",
            False,
            "ratio",
            "Accepted suggestions that then failed.",
            "count(*) FILTER (WHERE post_accept_failure)",
            "count(post_accept_failure)",
        ),
    )
}


def _catalogue() -> Any | None:
    try:
        from codex_metrics import metrics
    except ImportError:  # pragma: no cover - depends on the parallel issue
        return None
    if hasattr(metrics, "developer_sums") and hasattr(metrics, "get_metric"):
        return metrics
    return None


def uses_catalogue(name: str) -> bool:
    """Whether ``name`` is served by the metric catalogue (else by the fallback)."""
    cat = _catalogue()
    if cat is None:
        return False
    try:
        cat.get_metric(name)
    except Exception:  # noqa: BLE001 - any lookup failure means "not in the catalogue"
        return False
    return True


def metric_info(name: str) -> MetricInfo:
    """Direction, unit and description of a metric.

    Raises:
        MetricError: the metric is unknown.
    """
    if uses_catalogue(name):
        m = _catalogue().get_metric(name)  # type: ignore[union-attr]
        return MetricInfo(name, bool(m.higher_is_better), str(m.unit), str(m.description))
    if name in _FALLBACK:
        return _FALLBACK[name].info
    raise MetricError(
        f"unknown metric {name!r}; see `codex-metrics metrics list` for the catalogue"
    )


def developer_sums(
    con: duckdb.DuckDBPyConnection,
    name: str,
    *,
    start: datetime,
    end: datetime,
) -> duckdb.DuckDBPyRelation:
    """Per-developer ``developer_id, numerator, denominator`` of ``name`` in [start, end).

    Raises:
        MetricError: the metric is unknown.
    """
    if uses_catalogue(name):
        rel = _catalogue().developer_sums(con, name, start=start, end=end)  # type: ignore[union-attr]
        if not isinstance(rel, duckdb.DuckDBPyRelation):
            rel = con.from_arrow(rel)
        return rel.select(
            "developer_id, numerator::DOUBLE AS numerator, denominator::DOUBLE AS denominator"
        )
    if name not in _FALLBACK:
        raise MetricError(
            f"unknown metric {name!r}; see `codex-metrics metrics list` for the catalogue"
        )
    f = _FALLBACK[name]
    return con.sql(
        f"""
        SELECT developer_id, coalesce({f.numerator}, 0)::DOUBLE AS numerator,
               coalesce({f.denominator}, 0)::DOUBLE AS denominator
        FROM suggestions
        WHERE day >= CAST($start AS DATE) AND day <= CAST($end AS DATE)
          AND "timestamp" >= $start AND "timestamp" < $end AND ({f.where})
        GROUP BY developer_id
        """,
        params={"start": start, "end": end},
    )
