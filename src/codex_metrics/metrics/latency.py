"""Performance metrics: request latency (mean, percentiles, buckets), errors, agent tasks.

Latency is measured over every request (``latency_ms`` is the time to first shown token, or to
the failure), matching the simulator's ground truth. Percentiles are exact with linear
interpolation between closest ranks (Hyndman-Fan type 7): DuckDB ``quantile_cont`` and Spark
``percentile`` give identical values, unlike the approximate sketches of either engine.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from codex_metrics.metrics.catalogue import Metric, Quantile, Ratio, register
from codex_metrics.metrics.quality import EVENT_DIMENSIONS
from codex_metrics.metrics.shapes import category_share

__all__ = ["AGENT_DURATION_BUCKETS_S", "LATENCY_BUCKETS_MS"]

#: Upper bounds (exclusive) of the latency buckets, ms; the last bucket is open.
LATENCY_BUCKETS_MS = (100, 250, 500, 1000, 2500, 5000, 10000)
#: Upper bounds (exclusive) of the agent-task duration buckets, seconds.
AGENT_DURATION_BUCKETS_S = (60, 300, 900, 1800, 3600)
TASK_DIMENSIONS = ("org", "team", "model", "persona", "arm")


def _bucket(x: ir.NumericValue, bounds: tuple[int, ...], unit: str) -> ir.StringValue:
    cases = []
    low = 0
    for high in bounds:
        cases.append((x < high, ibis.literal(f"{low:05d}-{high:05d} {unit}")))
        low = high
    return ibis.cases(*cases, else_=ibis.literal(f"{low:05d}+ {unit}"))


def _latency_quantile(q: float) -> Metric:
    pct = round(q * 100)
    return Metric(
        name=f"latency_p{pct}_ms",
        family="performance",
        description=f"{pct}th percentile of request latency.",
        formula=f"exact quantile {q} of latency_ms (linear interpolation, type 7)",
        unit="ms",
        basis="time",
        grain="event",
        source="suggestions",
        measure=Quantile(lambda t: t.latency_ms, q),
        dimensions=EVENT_DIMENSIONS,
        higher_is_better=False,
    )


def _agent(t: ir.Table) -> ir.BooleanValue:
    return t.task_kind == "agent"


def _agent_quantile(q: float) -> Metric:
    pct = round(q * 100)
    return Metric(
        name=f"agent_task_duration_p{pct}_s",
        family="performance",
        description=f"{pct}th percentile of agent task completion time.",
        formula=f"exact quantile {q} of duration_s over tasks with task_kind = 'agent'",
        unit="seconds",
        basis="time",
        grain="event",
        source="tasks",
        measure=Quantile(lambda t: t.duration_s, q, where=_agent),
        dimensions=TASK_DIMENSIONS,
        higher_is_better=False,
    )


register(
    Metric(
        name="latency_mean_ms",
        family="performance",
        description="Mean request latency (time to first shown token or to failure).",
        formula="Σ latency_ms / count(requests with latency)",
        unit="ms",
        basis="time",
        grain="event",
        source="suggestions",
        measure=Ratio(
            numerator=lambda t: t.latency_ms,
            denominator=lambda t: ibis.literal(1),
            where=lambda t: t.latency_ms.notnull(),
            numerator_doc="sum(latency_ms) over requests",
            denominator_doc="count of requests with a latency",
            empty_reason="no_values",
        ),
        dimensions=EVENT_DIMENSIONS,
        higher_is_better=False,
    ),
    *(_latency_quantile(q) for q in (0.5, 0.9, 0.99)),
    Metric(
        name="latency_bucket_share",
        family="performance",
        description="Share of requests in each latency bucket (a histogram that sums to 1).",
        formula="count(latency_ms in bucket) / count(requests); buckets "
        + ", ".join(f"<{b}" for b in LATENCY_BUCKETS_MS)
        + " ms and above",
        unit="ratio",
        basis="count",
        grain="event",
        source="suggestions",
        measure=category_share(
            "latency_bucket",
            lambda t: _bucket(t.latency_ms, LATENCY_BUCKETS_MS, "ms"),
            where=lambda t: t.latency_ms.notnull(),
        ),
        dimensions=EVENT_DIMENSIONS,
        higher_is_better=None,
    ),
    Metric(
        name="error_rate",
        family="performance",
        description="Share of requests that failed with a server error or timed out.",
        formula="count(status in error, timeout) / count(requests)",
        unit="ratio",
        basis="count",
        grain="event",
        source="suggestions",
        measure=Ratio(
            numerator=lambda t: t.status.isin(["error", "timeout"]).cast("int64"),
            denominator=lambda t: ibis.literal(1),
            numerator_doc="count of requests with status error or timeout",
            denominator_doc="count of requests",
        ),
        dimensions=EVENT_DIMENSIONS,
        higher_is_better=False,
        notes="Cancelled requests count in the denominator only.",
    ),
    Metric(
        name="timeout_rate",
        family="performance",
        description="Share of requests that timed out.",
        formula="count(status = timeout) / count(requests)",
        unit="ratio",
        basis="count",
        grain="event",
        source="suggestions",
        measure=Ratio(
            numerator=lambda t: (t.status == "timeout").cast("int64"),
            denominator=lambda t: ibis.literal(1),
            numerator_doc="count of requests with status timeout",
            denominator_doc="count of requests",
        ),
        dimensions=EVENT_DIMENSIONS,
        higher_is_better=False,
    ),
    *(_agent_quantile(q) for q in (0.5, 0.9)),
    Metric(
        name="agent_task_duration_share",
        family="performance",
        description="Distribution of agent task completion time: share of agent tasks per bucket.",
        formula="count(agent tasks with duration_s in bucket) / count(agent tasks); buckets "
        + ", ".join(f"<{b}" for b in AGENT_DURATION_BUCKETS_S)
        + " s and above",
        unit="ratio",
        basis="count",
        grain="event",
        source="tasks",
        measure=category_share(
            "duration_bucket",
            lambda t: _bucket(t.duration_s, AGENT_DURATION_BUCKETS_S, "s"),
            where=_agent,
        ),
        dimensions=TASK_DIMENSIONS,
        higher_is_better=None,
    ),
    Metric(
        name="agent_task_timeout_rate",
        family="performance",
        description="Share of agent tasks that timed out.",
        formula="count(agent tasks with outcome = timeout) / count(agent tasks)",
        unit="ratio",
        basis="count",
        grain="event",
        source="tasks",
        measure=Ratio(
            numerator=lambda t: (t.outcome == "timeout").cast("int64"),
            denominator=lambda t: ibis.literal(1),
            where=_agent,
            numerator_doc="count of agent tasks that timed out",
            denominator_doc="count of agent tasks",
        ),
        dimensions=TASK_DIMENSIONS,
        higher_is_better=False,
    ),
)
