"""Feedback & productivity: satisfaction and NPS, happiness dimensions, time saved with AI."""

from __future__ import annotations

import math

import streamlit as st

from codex_metrics.charts import ForestRow, forest_plot
from codex_metrics.charts.rows import (
    rows_bar,
    rows_scatter,
    rows_time_series,
    survey_radar,
)
from codex_metrics.dashboard.context import Context, context
from codex_metrics.dashboard.data import analysis_results
from codex_metrics.dashboard.views._common import series
from codex_metrics.dashboard.widgets import chart_block, missing_data

#: Published reference figures, shown as external and labelled as such, never as our data.
EXTERNAL = [
    {
        "figure": "55% faster on a coding task with Copilot",
        "source": "GitHub / Peng et al. 2023, controlled experiment (n=95)",
    },
    {
        "figure": "21-26% more tasks completed",
        "source": "Cui et al. 2024, field experiments at Microsoft and Accenture",
    },
]


def render() -> None:
    """Survey trends, time with and without AI, and published references."""
    ctx = context()
    f = ctx.filters
    st.title("Feedback & productivity")
    if not ctx.state.has_data:
        missing_data("telemetry")
        return
    for name, title, unit in (
        ("satisfaction_mean", "Satisfaction (1-5)", "score"),
        ("nps", "Net promoter score", "points"),
        ("developer_happiness_score", "Developer happiness (0-100)", "score"),
    ):
        doc = series(ctx, name, grain="week")
        chart_block(
            title=title, metric=name, doc=doc,
            figure=rows_time_series(doc.get("rows", []), title=title, unit=unit),
            caption=f"{title} from survey answers, per ISO week.", key=name, filters=f,
        )  # fmt: skip
    radar = {"satisfaction": _value(series(ctx, "satisfaction_mean", grain="all"))}
    for item in ("perceived_productivity", "flow", "ease_of_use", "trust", "frustration"):
        radar[item] = _value(series(ctx, f"survey_{item}_mean", grain="all"))
    st.subheader("Happiness dimensions", help="Mean answer to each survey item over the window, "
                 "1-5 (frustration: higher is worse).")  # fmt: skip
    if any(v is not None for v in radar.values()):
        st.plotly_chart(survey_radar(radar, title="Survey items (1-5)"), key="radar",
                        width="stretch")  # fmt: skip
        st.caption("Mean of each 1-5 survey item over the window; unanswered items are skipped.")
    else:
        st.info("No survey answers in this window.")
    by_team = [
        {"team": t, "value": sat, "usage": use}
        for t, sat, use in _joined(
            series(ctx, "satisfaction_mean", grain="all", by=("team",)),
            series(ctx, "acceptance_rate_by_count", grain="all", by=("team",)),
            "team",
        )
    ]
    st.subheader("Satisfaction against acceptance, per team",
                 help="Each point is a team: its mean satisfaction and its acceptance rate.")  # fmt: skip
    if by_team:
        st.plotly_chart(rows_scatter(by_team, title="Satisfaction vs acceptance by team",
                                      x="usage", y="value", label="team",
                                      x_title="acceptance rate by count",
                                      y_title="satisfaction (1-5)"),
                        key="sat_vs_usage", width="stretch")  # fmt: skip
        st.caption("Teams that accept more suggestions tend to be more satisfied, or not: "
                   "a correlation across teams, not an effect.")  # fmt: skip
    rows = []
    for name, label in (
        ("task_duration_with_ai_mean_s", "with AI"),
        ("task_duration_without_ai_mean_s", "without AI"),
    ):
        doc = series(ctx, name, grain="all")
        rows += [{"kind": label, "value": r["value"]} for r in doc.get("rows", [])]
    chart_block(
        title="Time to complete a coding task", metric="task_duration_with_ai_mean_s",
        doc={"rows": rows, "csv": ""},
        figure=rows_bar(rows, title="Mean task time, seconds", category="kind", unit="s"),
        caption="Observed means; not a causal estimate (who uses AI differs from who does not). "
        "The causal estimates come from `codex-metrics productivity`.",
        key="task_times", filters=f,
    )  # fmt: skip
    _causal(ctx)
    st.subheader("Published reference figures (external, not our data)")
    st.dataframe(EXTERNAL, hide_index=True, width="stretch")


def _causal(ctx: Context) -> None:
    """Causal effects of AI on speed from the newest productivity run, with their intervals."""
    st.subheader(
        "Causal speed-up estimates",
        help="From `codex-metrics productivity`: effects of using AI on task time, adjusted for "
        "who adopts (estimand, method and subgroup per row; 95% intervals).",
    )
    results = [r for r in analysis_results(ctx.state) if r.get("analysis") == "causal_effect"]
    if not results:
        missing_data("analysis", "no causal estimate yet")
        return
    # Log-ratio effects drawn as the change in task time (exp(x) - 1); usable estimates only.
    usable = [
        r for r in results
        if r.get("status") == "ok" and r.get("unit") == "log ratio"
        and None not in (r.get("estimate"), r.get("ci_low"), r.get("ci_high"))
    ]  # fmt: skip
    rows = [
        ForestRow(
            label=" · ".join(str(x) for x in (r["estimand"], r["method"], r.get("subgroup")) if x),
            estimate=math.expm1(r["estimate"]), low=math.expm1(r["ci_low"]),
            high=math.expm1(r["ci_high"]),
            group="better" if r["ci_high"] < 0 else "worse" if r["ci_low"] > 0 else "neutral",
            hover=f"n = {r.get('n_units')}",
        )
        for r in usable
    ]  # fmt: skip
    if rows:
        fig = forest_plot(rows, title="Effect of AI on task time (negative = faster)",
                          x_title="change in task time", percent=True,
                          legend={"better": "faster with AI", "worse": "slower with AI",
                                  "neutral": "no clear change"})  # fmt: skip
        st.plotly_chart(fig, key="causal_forest", width="stretch")
    table = [
        {k: r.get(k) for k in ("analysis_run_id", "estimand", "method", "subgroup", "estimate",
                               "ci_low", "ci_high", "unit", "n_units", "status", "status_reason",
                               "truth")}
        for r in results
    ]  # fmt: skip
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption(
        "Each row is one estimate of the newest productivity run; `truth` is the simulator's own "
        "value (simulated worlds only). Not our data: the external figures below."
    )


def _value(doc: dict) -> float | None:
    values = [r["value"] for r in doc.get("rows", []) if r.get("value") is not None]
    return float(values[0]) if len(values) == 1 else None


def _joined(a: dict, b: dict, key: str) -> list[tuple[str, float, float]]:
    right = {r[key]: r["value"] for r in b.get("rows", []) if r.get("value") is not None}
    return [
        (r[key], r["value"], right[r[key]])
        for r in a.get("rows", [])
        if r.get("value") is not None and r[key] in right
    ]
