"""Adoption & usage: active users, volumes, AI-written lines, mixes, breakdowns, seats."""

from __future__ import annotations

import streamlit as st

from codex_metrics.charts.rows import rows_bar, rows_share, rows_time_series
from codex_metrics.dashboard.context import context
from codex_metrics.dashboard.data import milestones
from codex_metrics.dashboard.views._common import series
from codex_metrics.dashboard.widgets import chart_block, missing_data


def render() -> None:
    """Active users daily/weekly/monthly, suggestions vs accepted, lines, mixes, seats."""
    ctx = context()
    f = ctx.filters
    marks = milestones(ctx.state, f.since, f.until)
    st.title("Adoption & usage")
    if not ctx.state.has_data:
        missing_data("telemetry")
        return
    for name, title in (
        ("daily_active_users", "Daily active users"),
        ("weekly_active_users", "Weekly active users (7 days ending each day)"),
        ("monthly_active_users", "Monthly active users (28 days ending each day)"),
    ):
        doc = series(ctx, name)
        chart_block(
            title=title, metric=name, doc=doc,
            figure=rows_time_series(doc.get("rows", []), title=title, unit="users", y_label="developers",
                               milestones=marks),
            caption="Distinct developers active on the assistant; a gap is a day without data.",
            key=name, filters=f,
        )  # fmt: skip
    shown = series(ctx, "suggestions_shown")
    accepted = series(ctx, "acceptance_rate_by_count")
    rows = [
        {"period": r["period"], "kind": "shown", "value": r["value"]} for r in shown.get("rows", [])
    ]
    rows += [
        {"period": r["period"], "kind": "accepted", "value": r.get("numerator")}
        for r in accepted.get("rows", [])
    ]
    chart_block(
        title="Suggestions shown and accepted per day", metric="suggestions_shown", doc=shown,
        figure=rows_time_series(rows, title="Suggestions shown and accepted", unit="suggestions", by="kind"),
        caption="Suggestions served and shown (status ok), and those accepted.",
        key="shown_accepted", filters=f,
    )  # fmt: skip
    lines = series(ctx, "ai_lines_added")
    chart_block(
        title="AI-written lines added", metric="ai_lines_added", doc=lines,
        figure=rows_time_series(lines.get("rows", []), title="Lines added from AI suggestions", unit="lines"),
        caption="Lines added from accepted suggestions and edits (daily report).",
        key="ai_lines", filters=f,
    )  # fmt: skip
    for name, title, by in (
        ("requests_served", "Requests by feature", "feature"),
        ("requests_served", "Requests by model version", "model"),
        ("active_users", "Active users by org", "org"),
        ("active_users", "Active users by editor", "editor"),
        ("active_users", "Active users by language", "language"),
    ):
        doc = series(ctx, name, grain="all", by=(by,))
        fig = (
            rows_share(doc.get("rows", []), title=title, category=by)
            if name == "requests_served"
            else rows_bar(doc.get("rows", []), title=title, category=by, unit="users")
        )
        chart_block(
            title=title, metric=name, doc=doc, figure=fig,
            caption=f"The window's {name.replace('_', ' ')} split by {by}.",
            key=f"{name}_{by}", filters=f,
        )  # fmt: skip
    assigned = series(ctx, "seats_assigned", grain="week")
    active = series(ctx, "seats_active", grain="week")
    rows = [
        {"period": r["period"], "kind": "assigned", "value": r["value"]}
        for r in assigned.get("rows", [])
    ]
    rows += [
        {"period": r["period"], "kind": "active", "value": r["value"]}
        for r in active.get("rows", [])
    ]
    chart_block(
        title="Seats assigned and active per week", metric="seats_assigned", doc=assigned,
        figure=rows_time_series(rows, title="Seats assigned vs active", unit="seats", by="kind"),
        caption="Seats held at the end of each week, and the holders active in it.",
        key="seats", filters=f,
    )  # fmt: skip
