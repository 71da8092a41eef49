"""Community: stars, forks, issues, Stack Overflow questions, ecosystem adoption."""

from __future__ import annotations

import streamlit as st

from codex_metrics.charts.rows import rows_time_series
from codex_metrics.dashboard.context import context
from codex_metrics.dashboard.views._common import series
from codex_metrics.dashboard.widgets import chart_block, missing_data

METRICS = [
    ("stars_total", "Stars", "stars"),
    ("forks_total", "Forks", "forks"),
    ("issues_opened", "Issues opened", "issues"),
    ("issues_closed", "Issues closed", "issues"),
    ("issue_resolution_median_hours", "Median resolution time", "hours"),
    ("stackoverflow_questions", "Stack Overflow questions", "questions"),
]


def render() -> None:
    """Public signals collected by `codex-metrics collect`."""
    ctx = context()
    st.title("Community")
    shown = 0
    for name, title, unit in METRICS:
        doc = series(ctx, name, grain="month" if "issues" in name or "stack" in name else "day")
        if doc.get("status") in ("unavailable", "empty"):
            continue
        shown += 1
        chart_block(
            title=title, metric=name, doc=doc,
            figure=rows_time_series(doc.get("rows", []), title=title, unit=unit),
            caption=f"{title} of the collected repositories and tags.", key=name,
        )  # fmt: skip
    if not shown:
        missing_data("community")
