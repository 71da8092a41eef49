"""Overview: the headline numbers with their change, and what needs attention."""

from __future__ import annotations

import streamlit as st

from codex_metrics.charts.rows import rows_time_series
from codex_metrics.dashboard.context import Context, context
from codex_metrics.dashboard.data import (
    kpi,
    latency_kpi,
    latest_eval_kpi,
    milestones,
    open_alerts,
)
from codex_metrics.dashboard.views._common import series
from codex_metrics.dashboard.widgets import chart_block, definition, kpi_metric, missing_data

#: (label, metric, unit, extra filters, higher is better)
KPIS = [
    ("Active users", "active_users", "users", {}, True),
    ("Acceptance", "usage_completion_acceptance_rate_by_count", "ratio", {}, True),
    ("P90 latency", "latency_p90_ms", "ms", {"feature": ["code_completion"]}, False),
    ("Eval pass@1", "eval_pass_rate", "ratio", {}, True),
    ("Satisfaction", "satisfaction_mean", "", {}, True),
]


def render() -> None:
    """The KPI row and the open alerts."""
    ctx = context()
    f = ctx.filters
    marks = milestones(ctx.state, f.since, f.until)
    st.title("Overview")
    if not ctx.state.has_data:
        missing_data("telemetry")
        return
    st.caption(
        f"{f.since} to {f.until} (UTC), compared with the {f.days} days before; acceptance is "
        "for code completions, latency the P90 of completions; hover a number for its definition."
    )
    # The KPI cards are filled after the charts: each needs three queries (window, previous
    # window, daily), and the charts should not wait for them.
    slots = [col.empty() for col in st.columns(len(KPIS))]
    doc = series(ctx, "daily_active_users")
    chart_block(
        title="Daily active users", metric="daily_active_users", doc=doc,
        figure=rows_time_series(doc.get("rows", []), title="Daily active users", unit="users", milestones=marks,
                           y_label="developers"),
        caption="Developers active on the assistant each day (UTC).", key="overview_dau",
        filters=f,
    )  # fmt: skip
    doc = series(ctx, "usage_completion_acceptance_rate_by_count")
    chart_block(
        title="Completion acceptance rate", metric="usage_completion_acceptance_rate_by_count",
        doc=doc,
        figure=rows_time_series(doc.get("rows", []), title="Completion acceptance rate", unit="ratio"),
        caption="Accepted / generated code completions per day (what GitHub's dashboards show).",
        key="overview_acceptance", filters=f,
    )  # fmt: skip
    for slot, (label, name, unit, extra, better) in zip(slots, KPIS, strict=True):
        dims = definition(name).get("dimensions", [])
        filters = {**f.for_metric(dims), **extra}
        if name == "latency_p90_ms":  # from the daily histograms: no scan of the events
            value = latency_kpi(ctx.state, since=f.since, until=f.until, filters=filters,
                                exclude_weekends=f.exclude_weekends)  # fmt: skip
        else:
            value = kpi(ctx.state, name, since=f.since, until=f.until, filters=filters,
                        exclude_weekends=f.exclude_weekends)  # fmt: skip
        if name == "eval_pass_rate" and value.value is None:
            value = latest_eval_kpi(ctx.state)
        with slot.container():
            kpi_metric(label, value, unit=unit, better=better)
    _alerts(ctx)


def _alerts(ctx: Context) -> None:
    """Open alerts from `codex-metrics alerts check`, newest first."""
    st.subheader("Open alerts", help="Fired by `codex-metrics alerts check` against the targets "
                 "in `[alerts]` of codex-metrics.toml; they close when a check finds them over.")  # fmt: skip
    alerts = open_alerts(ctx.state)
    if not alerts:
        st.caption(
            "No open alert. Alerts appear here once targets are configured under `[alerts]` and "
            "`codex-metrics alerts check` runs (docs/alerts.md)."
        )
        return
    for a in alerts[:10]:
        interval = (
            f" (expected {a['expected']:,.4g}, interval {a['lower']:,.4g} to {a['upper']:,.4g})"
            if a.get("expected") is not None and a.get("lower") is not None
            else ""
        )
        st.error(
            f"**{a.get('metric')}** {a.get('slice') or 'overall'}: observed "
            f"{a.get('observed', float('nan')):,.4g} {a.get('unit') or ''}{interval}; change "
            f"started {a.get('change_start_day')}; delivery {a.get('delivery')}."
        )
    table = [{k: a.get(k) for k in ("change_start_day", "rule", "metric", "slice", "observed",
                                     "expected", "lower", "upper", "unit", "delivery", "message")}
             for a in alerts]  # fmt: skip
    st.dataframe(table, hide_index=True, width="stretch")
