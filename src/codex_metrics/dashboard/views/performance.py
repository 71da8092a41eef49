"""Performance: latency percentiles, the latency distribution, errors, agent task times."""

from __future__ import annotations

import streamlit as st

from codex_metrics.charts.rows import rows_histogram, rows_time_series
from codex_metrics.dashboard.context import context
from codex_metrics.dashboard.data import latency_kpi, latency_percentiles, milestones
from codex_metrics.dashboard.views._common import series
from codex_metrics.dashboard.widgets import chart_block, definition, kpi_metric, missing_data

#: P90 completion latency target when the alerts configuration sets none.
DEFAULT_P90_TARGET_MS = 500.0


def _p90_target() -> float:
    from codex_metrics.config import load_settings

    settings = load_settings()
    target = getattr(settings, "completion_p90_target_ms", None)
    return float(target) if target else DEFAULT_P90_TARGET_MS


def render() -> None:
    """Latency P50/P90/P99 per feature, histogram, errors and timeouts, agent task times."""
    ctx = context()
    f = ctx.filters
    marks = milestones(ctx.state, f.since, f.until)
    st.title("Performance")
    if not ctx.state.has_data:
        missing_data("telemetry")
        return
    target = _p90_target()
    dims = definition("latency_p90_ms").get("dimensions", [])
    current = latency_kpi(ctx.state, since=f.since, until=f.until,
                          filters={**f.for_metric(dims), "feature": ["code_completion"]},
                          exclude_weekends=f.exclude_weekends)  # fmt: skip
    cols = st.columns(2)
    with cols[0]:
        kpi_metric("P90 completion latency", current, unit="ms", better=False)
    with cols[1]:
        ok = current.value is not None and current.value <= target
        st.metric("Target (P90, completions)", f"{target:,.0f} ms",
                  delta="met" if ok else "missed", delta_color="normal" if ok else "inverse",
                  border=True)  # fmt: skip
    levels = latency_percentiles(ctx.state, since=f.since, until=f.until, by=("feature",),
                                 filters=f.for_metric(dims),
                                 exclude_weekends=f.exclude_weekends)  # fmt: skip
    for p in (50, 90, 99):
        name = f"latency_p{p}_ms"
        doc = levels[p]
        chart_block(
            title=f"Latency P{p} by feature", metric=name, doc=doc,
            figure=rows_time_series(doc.get("rows", []), title=f"P{p} latency", unit="ms", by="feature",
                               milestones=marks),
            caption=f"{p}th percentile of time to first shown token, per day and feature, from the "
                    "daily latency histograms (within 1% of the exact value `metrics show` gives).",
            key=name, filters=f,
        )  # fmt: skip
    buckets = series(
        ctx, "latency_bucket_share", grain="all", extra={"feature": ["code_completion"]}
    )
    chart_block(
        title="Completion latency distribution", metric="latency_bucket_share", doc=buckets,
        figure=rows_histogram(buckets.get("rows", []), title="Share of completions per latency bucket",
                               bucket=_bucket_column(buckets), unit="ms"),
        caption="Share of completion requests in each latency bucket over the window.",
        key="latency_buckets", filters=f,
    )  # fmt: skip
    for name, title in (("error_rate", "Error rate"), ("timeout_rate", "Timeout rate")):
        doc = series(ctx, name)
        chart_block(
            title=title, metric=name, doc=doc,
            figure=rows_time_series(doc.get("rows", []), title=title, unit="ratio"),
            caption=f"{title} of requests per day.", key=name, filters=f,
        )  # fmt: skip
    shares = series(ctx, "agent_task_duration_share", grain="all")
    chart_block(
        title="Agent task completion time", metric="agent_task_duration_share", doc=shares,
        figure=rows_histogram(shares.get("rows", []), title="Agent tasks per duration bucket",
                               bucket=_bucket_column(shares), unit="s"),
        caption=_within(shares), key="agent_durations", filters=f,
    )  # fmt: skip


def _bucket_column(doc: dict) -> str:
    rows = doc.get("rows", [])
    keys = [k for k in (rows[0] if rows else {}) if k not in ("period", "value", "numerator",
                                                             "denominator", "null_reason", "n")]  # fmt: skip
    return keys[0] if keys else "bucket"


def _within(doc: dict) -> str:
    rows = doc.get("rows", [])
    col = _bucket_column(doc)
    share_1 = sum(r["value"] or 0 for r in rows if str(r.get(col, "")) < "00060")
    share_5 = sum(r["value"] or 0 for r in rows if str(r.get(col, "")) < "00300")
    return (
        f"Share of agent tasks by completion time; {share_1:.0%} finished within 1 minute and "
        f"{share_5:.0%} within 5 minutes."
    )
