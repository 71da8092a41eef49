"""Data & freshness: every table and source with its last update, rows and days."""

from __future__ import annotations

import streamlit as st

from codex_metrics.dashboard.context import context
from codex_metrics.dashboard.data import freshness, rows_csv, source_runs


def render() -> None:
    """Tables with version, rows, days and last update per source; the snapshot read."""
    ctx = context()
    st.title("Data & freshness")
    st.caption(
        f"Snapshot {ctx.state.key}; sources read: {', '.join(ctx.state.sources_read) or 'none'} "
        f"({ctx.state.selection}). Versions change when data lands; the charts follow on the "
        "next render."
    )
    st.subheader("Sources", help="Every ingest and collect run is recorded; the last success and "
                 "the last error of each source and scope.")  # fmt: skip
    runs = source_runs(ctx.state)
    if runs:
        st.dataframe(runs, hide_index=True, width="stretch")
        failing = [r for r in runs if r["last_error_at"] and (
            r["last_success"] is None or r["last_error_at"] > r["last_success"])]  # fmt: skip
        for r in failing:
            st.warning(f"{r['source']} {r['scope']}: the last run failed: {r['last_error']}")
    else:
        st.info("No ingest or collect run yet: the tables below come from the simulator or "
                "from files written directly. `codex-metrics ingest ...` and "
                "`codex-metrics collect ...` record their runs here.")  # fmt: skip
    st.subheader("Tables", help="Delta version, files, rows, days and last update per source.")
    rows = [r for r in freshness(ctx.state) if r["version"] is not None]
    st.dataframe(rows, hide_index=True, width="stretch")
    st.download_button("Download CSV", data=rows_csv(rows), file_name="freshness.csv",
                       mime="text/csv", key="csv_freshness", on_click="ignore")  # fmt: skip
