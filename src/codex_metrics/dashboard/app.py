"""The Streamlit entry point: lake, sidebar filters, navigation over the pages.

Run by ``codex-metrics dashboard`` (``streamlit run`` on this file). The lake comes from the
settings (``--lake`` sets ``CODEX_METRICS_LAKE`` for the server). Each render resolves the lake
snapshot once; pages read it and the filters from ``st.session_state``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import streamlit as st

from codex_metrics.dashboard.context import Context, set_context
from codex_metrics.dashboard.data import snapshot_for
from codex_metrics.dashboard.filters import sidebar_filters
from codex_metrics.dashboard.known import known_values
from codex_metrics.dashboard.widgets import missing_data

PAGES_DIR = Path(__file__).with_name("app_pages")
ICON = Path(__file__).with_name("assets") / "icon.png"
#: (title, page script, icon); the script's stem is the page's URL path.
PAGES = [
    ("Overview", "overview", ":material/dashboard:"),
    ("Adoption & usage", "adoption", ":material/group:"),
    ("Performance", "performance", ":material/speed:"),
    ("Quality", "quality", ":material/verified:"),
    ("Teams and users", "teams", ":material/groups:"),
    ("Experiments", "experiments", ":material/science:"),
    ("Feedback & productivity", "feedback", ":material/mood:"),
    ("Community", "community", ":material/star:"),
    ("Data & freshness", "freshness", ":material/database:"),
]


def _lake_root() -> Path | None:
    from codex_metrics.config import load_settings

    path = load_settings().lake_path.expanduser().absolute()
    return path if (path / "_lake.json").exists() else None


def main() -> None:
    """Draw one render of the dashboard."""
    # A local icon: a ":material/...:" page icon would be fetched from fonts.gstatic.com.
    st.set_page_config(page_title="codex-metrics", page_icon=str(ICON), layout="wide")
    root = _lake_root()
    if root is None:
        st.title("codex-metrics")
        st.warning("No lake here yet.")
        missing_data("telemetry")
        return
    source = st.query_params.get("source") or None
    state = snapshot_for(str(root), source)
    st.sidebar.title("codex-metrics")
    st.sidebar.caption(
        f"Lake {root.name} · snapshot {state.key} · sources: {state.selection}"
        + (f" · data {state.first_day} to {state.last_day}" if state.first_day else "")
    )
    if st.sidebar.button("Refresh", help="Forget cached results and read the lake again."):
        st.cache_data.clear()
        st.rerun()
    known = known_values(state)
    filters = sidebar_filters(state.first_day, state.last_day, known)
    set_context(Context(state=state, filters=filters, today=date.today()))
    pages = [
        st.Page(PAGES_DIR / f"{name}.py", title=title, url_path=name, icon=icon,
                default=name == "overview")
        for title, name, icon in PAGES
    ]  # fmt: skip
    st.navigation(pages, position="sidebar").run()


main()
