"""Experiments: every experiment's verdict, metric table with intervals, forest plot, SRM."""

from __future__ import annotations

import streamlit as st

from codex_metrics.charts import ForestRow, forest_plot
from codex_metrics.dashboard.context import context
from codex_metrics.dashboard.data import experiment_report, experiments
from codex_metrics.dashboard.widgets import missing_data


def render() -> None:
    """Pick an experiment; show its verdict, health, metrics and slices."""
    ctx = context()
    st.title("Experiments")
    found = experiments(ctx.state)
    if not found:
        missing_data("experiments")
        return
    ids = [e["experiment_id"] for e in found]
    chosen = st.selectbox("Experiment", ids, key="experiment")
    report = experiment_report(ctx.state, chosen)
    verdict = report["verdict"]
    decision = str(verdict["decision"]).upper()
    box = {"SHIP": st.success, "DONT_SHIP": st.error}.get(decision, st.warning)
    box(f"Verdict: {decision}. {verdict['reason']}")
    health = report.get("health", {})
    srm = health.get("srm", {})
    st.caption(
        f"Sample ratio check: {srm.get('level', 'n/a')} (p = {srm.get('p_value', 'n/a')}); "
        f"design: {report['design']['description']}"
    )
    rows = []
    for m in report["metrics"]:
        comp = m.get("comparison") or {}
        rel = comp.get("relative") or {}
        rows.append(
            {
                "metric": m["metric"],
                "role": m["role"],
                "status": m["status"],
                "value": rel.get("estimate"),
                "low": rel.get("ci_low"),
                "high": rel.get("ci_high"),
                "p": m.get("adjusted_p_value"),
            }
        )
    st.subheader("Relative change per metric (treatment vs control)",
                 help="Estimate and 95% interval of (B - A) / A per metric; adjusted p-values.")  # fmt: skip
    st.dataframe(rows, hide_index=True, width="stretch")
    plotted = [r for r in rows if r["value"] is not None and r["low"] is not None]
    if plotted:
        forest = [
            ForestRow(r["metric"], r["value"], r["low"], r["high"], group=_group(r))
            for r in plotted
        ]
        st.plotly_chart(
            forest_plot(forest, title="Relative change with 95% interval",
                        legend={"better": "better", "worse": "worse", "neutral": "no clear change"}),
            key="forest", width="stretch",
        )  # fmt: skip
        st.caption(
            "Each row is a metric's relative change (treatment vs control) with its 95% "
            "interval; colour says whether it is significantly better or worse."
        )
    slices = report.get("slices") or []
    if slices:
        st.subheader("Slices")
        st.dataframe([_slice_row(r) for r in slices], hide_index=True, width="stretch")
        st.caption(
            "Each slice's relative change (treatment vs control) with its 95% interval; p values "
            "adjusted for the number of slices (exploratory: a slice result is a lead, not a "
            "verdict)."
        )


def _slice_row(row: dict) -> dict:
    """One flat table row per slice of the report (the comparison's relative change)."""
    cmp = row.get("comparison") or {}
    rel = cmp.get("relative") or {}
    return {
        "metric": row.get("metric"),
        "arm": row.get("arm"),
        "slice": f"{row.get('dimension')} = {row.get('value')}",
        "control": cmp.get("control_mean"),
        "treatment": cmp.get("treatment_mean"),
        "developers (C / T)": f"{cmp.get('control_n')} / {cmp.get('treatment_n')}",
        "relative change": rel.get("estimate"),
        "low": rel.get("ci_low"),
        "high": rel.get("ci_high"),
        "adjusted p": row.get("adjusted_p_value"),
    }


def _group(row: dict) -> str:
    """Better / worse / neutral by the interval (direction from the metric's definition)."""
    from codex_metrics.dashboard.widgets import definition

    higher = definition(row["metric"]).get("higher_is_better")
    if row["low"] > 0 or row["high"] < 0:
        up = row["low"] > 0
        if higher is None:
            return "neutral"
        return "better" if up == bool(higher) else "worse"
    return "neutral"
