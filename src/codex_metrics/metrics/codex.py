"""Codex CLI telemetry: request latency, errors, tokens, tool approvals and tool results.

Read from ``codex_requests`` and ``codex_tool_events`` (``ingest codex-otel``). A request is one
model API attempt (retries are rows of their own). ``codex_request_latency_p*_ms`` is the
attempt's ``duration_ms`` over every request, failures included, as the ``latency_*`` metrics
measure every request; it is *not* the catalogue's ``latency_p*_ms``, which means time to the
first shown token of a suggestion. Time to first token of a turn (``codex.turn_ttft``) has its own
percentiles. Percentiles are exact with linear interpolation (type 7). Codex emits no cost:
tokens are counted, and cost is tokens times the model's price.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from codex_metrics.metrics.catalogue import Measure, Metric, Quantile, Ratio, Total, register

__all__ = ["CODEX_DIMENSIONS"]

CODEX_DIMENSIONS = ("team", "model", "persona", "arm")
_TOOL_DIMENSIONS = ("team", "model", "persona", "arm")


def _metric(
    name: str,
    description: str,
    formula: str,
    measure: Measure,
    *,
    unit: str,
    basis: str = "time",
    source: str = "codex_requests",
    better: bool | None = False,
    family: str = "performance",
    notes: str = "",
) -> Metric:
    return Metric(
        name=name,
        family=family,  # type: ignore[arg-type]
        description=description,
        formula=formula,
        unit=unit,
        basis=basis,  # type: ignore[arg-type]
        grain="event",
        source=source,
        measure=measure,
        dimensions=CODEX_DIMENSIONS if source == "codex_requests" else _TOOL_DIMENSIONS,
        higher_is_better=better,
        notes=notes,
    )


def _latency(q: float) -> Metric:
    pct = round(q * 100)
    return _metric(
        f"codex_request_latency_p{pct}_ms",
        f"{pct}th percentile of Codex model request duration (codex.api_request and "
        "codex.websocket_request duration_ms), every attempt.",
        f"exact quantile {q} of duration_ms over codex_requests (type 7)",
        Quantile(lambda t: t.duration_ms, q),
        unit="ms",
    )


def _ttft(q: float) -> Metric:
    pct = round(q * 100)
    return _metric(
        f"codex_time_to_first_token_p{pct}_ms",
        f"{pct}th percentile of Codex time to first token per turn (codex.turn_ttft).",
        f"exact quantile {q} of time_to_first_token_ms over requests that carry it",
        Quantile(
            lambda t: t.time_to_first_token_ms,
            q,
            where=lambda t: t.time_to_first_token_ms.notnull(),
        ),
        unit="ms",
    )


def _decision(t: ir.Table) -> ir.BooleanValue:
    return t.kind == "decision"


def _result(t: ir.Table) -> ir.BooleanValue:
    return (t.kind == "result") & t.success.notnull()


register(
    *(_latency(q) for q in (0.5, 0.9, 0.99)),
    *(_ttft(q) for q in (0.5, 0.9)),
    _metric(
        "codex_requests",
        "Codex model request attempts.",
        "count(codex_requests rows)",
        Total(),
        unit="count",
        basis="count",
        better=None,
        family="adoption",
    ),
    _metric(
        "codex_error_rate",
        "Share of Codex model requests that failed or timed out (status from the HTTP status "
        "code, error.message and success).",
        "count(status in error, timeout) / count(requests)",
        Ratio(
            numerator=lambda t: t.status.isin(["error", "timeout"]).cast("int64"),
            denominator=lambda t: ibis.literal(1),
            numerator_doc="count of requests with status error or timeout",
            denominator_doc="count of requests",
        ),
        unit="ratio",
        basis="count",
        notes="Cancelled requests count in the denominator only, as in error_rate.",
    ),
    _metric(
        "codex_tokens_per_request",
        "Mean tokens (input plus output) per Codex request, from the token-bearing "
        "response.completed record.",
        "Σ (input_tokens + output_tokens) / count(requests with token counts)",
        Ratio(
            numerator=lambda t: t.input_tokens.fill_null(0) + t.output_tokens.fill_null(0),
            denominator=lambda t: ibis.literal(1),
            where=lambda t: t.input_tokens.notnull() | t.output_tokens.notnull(),
            numerator_doc="sum(input_tokens + output_tokens) over requests with token counts",
            denominator_doc="count of requests with token counts",
            empty_reason="no_values",
        ),
        unit="tokens",
        basis="count",
        better=None,
        notes="Cached input tokens are part of the input; reasoning tokens part of the output.",
    ),
    _metric(
        "codex_tool_approval_rate",
        "Share of Codex tool-call decisions that approved the call (approved, "
        "approved_for_session, approved_execpolicy_amendment), by the user or by config.",
        "count(decisions starting with 'approved') / count(decisions)",
        Ratio(
            numerator=lambda t: t.decision.startswith("approved").fill_null(False).cast("int64"),
            denominator=lambda t: ibis.literal(1),
            where=_decision,
            numerator_doc="count of approving tool decisions",
            denominator_doc="count of tool decisions",
        ),
        unit="ratio",
        basis="count",
        source="codex_tool_events",
        better=True,
        family="quality",
        notes="Denied and abort decisions count against it; works like an acceptance rate.",
    ),
    _metric(
        "codex_tool_success_rate",
        "Share of Codex tool calls whose result succeeded (codex.tool_result success).",
        "count(results with success) / count(results)",
        Ratio(
            numerator=lambda t: t.success.cast("int64"),
            denominator=lambda t: ibis.literal(1),
            where=_result,
            numerator_doc="count of successful tool results",
            denominator_doc="count of tool results",
        ),
        unit="ratio",
        basis="count",
        source="codex_tool_events",
        better=True,
        family="quality",
    ),
)
