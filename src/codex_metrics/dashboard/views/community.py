"""Community: stars, forks, issues, response times, feature requests, Stack Overflow, ecosystem."""

from __future__ import annotations

from datetime import date
from typing import Any

import streamlit as st

from codex_metrics.charts.rows import rows_bar, rows_time_series
from codex_metrics.dashboard.context import Context, context, viewer_allowed
from codex_metrics.dashboard.data import collect_repository_now, metric, milestones
from codex_metrics.dashboard.widgets import chart_block, missing_data

#: (metric, title, unit, grain, split by): long-run signals, drawn over the whole history.
SERIES = [
    ("stars_total", "Star history", "stars", "day", "repo"),
    ("forks_total", "Forks", "forks", "day", "repo"),
    ("open_issues", "Open issues", "issues", "day", "repo"),
    ("issues_opened", "Issues opened per month", "issues", "month", "repo"),
    ("issues_closed", "Issues closed per month", "issues", "month", "repo"),
    ("issue_resolution_median_hours", "Median resolution time", "hours", "month", "repo"),
    ("issue_first_response_median_hours", "Median first-response time", "hours", "month", "repo"),
    ("pr_cycle_time_median_hours", "Median PR cycle time", "hours", "month", "repo"),
    ("stackoverflow_questions", "Stack Overflow questions per month", "questions", "month", "tag"),
    ("stackoverflow_answered_share", "Stack Overflow questions answered", "ratio", "month", "tag"),
]


def render() -> None:
    """Public signals collected by `codex-metrics collect`, over everything collected."""
    ctx = context()
    st.title("Community")
    st.caption(
        "Everything collected so far (star history and monthly trends are long-run signals, so "
        "the sidebar's dates do not apply here); one line per repository or tag."
    )
    shown = 0
    marks: list[dict[str, Any]] = []
    for name, title, unit, grain, by in SERIES:
        doc = metric(ctx.state, name, grain=grain, by=(by,))
        if doc.get("status") in ("unavailable", "empty"):
            continue
        if not shown and doc.get("rows"):
            days = sorted(str(r["period"]) for r in doc["rows"])
            marks = milestones(ctx.state, date.fromisoformat(days[0]), date.fromisoformat(days[-1]))
        shown += 1
        chart_block(
            title=title, metric=name, doc=doc,
            figure=rows_time_series(doc.get("rows", []), title=title, unit=unit, by=by,
                                    milestones=marks if name == "stars_total" else ()),
            caption=f"{title}, per {by}" + (" (annotated events as vertical lines)."
                                            if name == "stars_total" else "."),
            key=name,
        )  # fmt: skip
    shown += _feature_requests(ctx)
    shown += _ecosystem(ctx)
    if not shown:
        missing_data("community")
    _add_repository(ctx)


def _feature_requests(ctx: Context) -> int:
    doc = metric(ctx.state, "top_feature_requests", grain="all", by=("repo",))
    rows = [r for r in doc.get("rows", []) if r.get("value") is not None]
    if not rows:
        return 0
    st.subheader("Top feature requests", help="The most-reacted open feature requests.")
    table = [
        {"repo": r.get("repo"), "rank": r.get("rank"), "issue": r.get("number"),
         "title": r.get("title"), "reactions": r.get("value")}
        for r in rows
    ]  # fmt: skip
    st.dataframe(table, hide_index=True, width="stretch")
    st.download_button(
        "Download CSV", doc.get("csv", ""), file_name="top_feature_requests.csv",
        mime="text/csv", key="csv_top_feature_requests",
    )  # fmt: skip
    return 1


def _ecosystem(ctx: Context) -> int:
    doc = metric(ctx.state, "ecosystem_search_total", grain="all")
    rows = [r for r in doc.get("rows", []) if r.get("value") is not None]
    if not rows:
        return 0
    chart_block(
        title="Ecosystem adoption", metric="ecosystem_search_total", doc=doc,
        figure=rows_bar(rows, title="Ecosystem adoption", category="label", unit="results",
                        horizontal=True),
        caption="GitHub search totals of assistant adoption signals at the last collection "
                "(GitHub's estimates; code-search counts are capped samples).",
        key="ecosystem",
    )  # fmt: skip
    return 1


def _add_repository(ctx: Context) -> None:
    """Collect a repository now: only with a token, within the budget, for allowed viewers."""
    from codex_metrics.config import load_settings

    st.subheader("Track another repository")
    settings = load_settings()
    collect = settings.collect
    if not (settings.github_token or collect.github_app_id):
        st.info(
            "Adding a repository here needs GitHub credentials: set `GITHUB_TOKEN` (or a GitHub "
            "App under `[github]`) in the dashboard's environment, or run "
            "`codex-metrics collect github OWNER/REPO`."
        )
        return
    if not viewer_allowed(settings.collect_viewers):
        st.info(
            "Only viewers listed under `[dashboard] collect_viewers` in codex-metrics.toml may "
            "start a collection from here."
        )
        return
    with st.form("add_repo"):
        repo = st.text_input("Repository (OWNER/REPO)", placeholder="openai/codex")
        submitted = st.form_submit_button("Collect")
    if not submitted or not repo.strip():
        return
    with st.spinner(f"collecting {repo.strip()} (budget {collect.request_budget:,} requests)"):
        outcome = collect_repository_now(ctx.state, repo.strip())
    if outcome["status"] == "error":
        st.error(outcome["message"])
    else:
        st.success(outcome["message"])
