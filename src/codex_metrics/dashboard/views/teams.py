"""Teams and users: teams compared on the main metrics; small groups withheld."""

from __future__ import annotations

import streamlit as st

from codex_metrics.charts.rows import rows_bar
from codex_metrics.dashboard.context import context
from codex_metrics.dashboard.views._common import series
from codex_metrics.dashboard.widgets import chart_block, missing_data

METRICS = [
    ("active_users", "Active users", "users"),
    ("acceptance_rate_by_count", "Acceptance rate by count", "ratio"),
    ("latency_p90_ms", "P90 latency", "ms"),
    ("satisfaction_mean", "Satisfaction (1-5)", ""),
]


def render() -> None:
    """Every team on each main metric over the window."""
    ctx = context()
    st.title("Teams and users")
    if not ctx.state.has_data:
        missing_data("telemetry")
        return
    st.caption(
        "Per-user views are shown only for identities that opted in and to viewers on the "
        "config's allow-list; team slices under the minimum group size are withheld."
    )
    for name, title, unit in METRICS:
        doc = series(ctx, name, grain="all", by=("team",))
        chart_block(
            title=f"{title} by team", metric=name, doc=doc,
            figure=rows_bar(doc.get("rows", []), title=f"{title} by team", category="team",
                             unit=unit, horizontal=True),
            caption=f"{title} per team over the window (a developer in two teams counts in both).",
            key=f"team_{name}", filters=ctx.filters,
        )  # fmt: skip
