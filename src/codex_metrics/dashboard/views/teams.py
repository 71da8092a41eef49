"""Teams and users: teams compared on the main metrics; small groups withheld."""

from __future__ import annotations

import streamlit as st

from codex_metrics.charts.rows import rows_bar
from codex_metrics.dashboard.context import Context, context, viewer_allowed
from codex_metrics.dashboard.data import per_user_activity
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

    _per_user(ctx)


def _per_user(ctx: Context) -> None:
    from codex_metrics.config import load_settings

    st.subheader("Per-user activity (opted in)")
    settings = load_settings()
    if not viewer_allowed(settings.per_user_viewers):
        st.info(
            "Per-user views are off for this viewer: list the viewer under `[dashboard] "
            "per_user_viewers` in codex-metrics.toml (a signed-in email, or `localhost` for the "
            "operator of a loopback server)."
        )
        return
    if not settings.per_user_opt_in:
        st.info(
            "No developer has opted in: list logins under `[privacy] per_user_opt_in` in "
            "codex-metrics.toml once they agreed."
        )
        return
    f = ctx.filters
    rows = per_user_activity(ctx.state, list(settings.per_user_opt_in), f.since, f.until)
    st.dataframe(rows, hide_index=True, width="stretch")
    st.caption(
        f"Code completions shown and accepted per opted-in login, {f.since} to {f.until} "
        "(UTC); logins are matched through the lake's pseudonyms, never stored in clear."
    )
