"""The few building blocks every page uses: a chart block, a KPI, an empty-data notice."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from codex_metrics.dashboard.data import Kpi
from codex_metrics.dashboard.filters import Filters

__all__ = ["chart_block", "definition", "kpi_metric", "missing_data", "not_applicable_note"]

#: What fills each kind of data, for pages whose source is empty.
FILL_COMMANDS = {
    "telemetry": [
        "codex-metrics ingest copilot-report FILE   # GitHub Copilot usage reports",
        "codex-metrics ingest codex-otel FILE       # Codex CLI OpenTelemetry logs",
        "codex-metrics dashboard --demo             # a simulated demo world in its own lake",
    ],
    "eval": ["codex-metrics eval run SAMPLES.jsonl --output results.jsonl"],
    "experiments": [
        "codex-metrics simulate --scenario ab_test --lake ./demo-lake",
        "codex-metrics ingest experiment FILE.toml",
    ],
    "community": [
        "codex-metrics collect github OWNER/REPO",
        "codex-metrics collect stackoverflow --tag TAG",
    ],
    "analysis": ["codex-metrics productivity"],
    "alerts": ["codex-metrics alerts check"],
}


@st.cache_data(show_spinner=False)
def _index() -> dict[str, dict[str, Any]]:
    from codex_metrics.metrics import catalogue_index

    return {e["name"]: e for e in catalogue_index()}


def definition(name: str) -> dict[str, Any]:
    """The catalogue entry of a metric (description, formula, unit, dimensions)."""
    return _index().get(name, {"name": name, "description": "", "formula": "", "unit": "",
                               "dimensions": []})  # fmt: skip


def _tooltip(name: str) -> str:
    d = definition(name)
    return f"**{d['name']}**: {d['description']}\n\nFormula: {d['formula']}\n\nUnit: {d['unit']}"


def missing_data(what: str, detail: str = "") -> None:
    """Say what is missing and the exact command that produces it."""
    st.info(f"No {what} in this lake yet{': ' + detail if detail else ''}. Fill it with:")
    st.code("\n".join(FILL_COMMANDS.get(what, [])), language="bash")


def not_applicable_note(filters: Filters, dimensions: list[str]) -> None:
    """A caption listing sidebar filters this chart cannot apply."""
    skipped = filters.not_applicable(dimensions)
    if skipped:
        st.caption(f"Not applicable here: {', '.join(skipped)} filter(s).")


def chart_block(
    *,
    title: str,
    metric: str,
    doc: Mapping[str, Any],
    figure: go.Figure | None,
    caption: str,
    key: str,
    filters: Filters | None = None,
) -> None:
    """A titled chart with the metric's definition as tooltip, a caption and its CSV."""
    st.subheader(title, help=_tooltip(metric))
    if doc.get("status") == "unavailable":
        st.warning(f"{metric}: {doc.get('reason')}")
        return
    rows = doc.get("rows") or []
    if figure is None or not rows:
        st.info(doc.get("reason") or "No rows for this selection.")
        return
    if all(r.get("value") is None for r in rows):
        reasons = sorted({r.get("null_reason") or "no value" for r in rows})
        st.info(f"No value to draw for this window: {', '.join(reasons)}.")
        return
    st.plotly_chart(figure, key=key, width="stretch")
    notes = sorted({r["null_reason"] for r in doc["rows"] if r.get("null_reason")})
    extra = f" Empty points: {', '.join(notes)}." if notes else ""
    gaps = doc.get("gaps") or []
    if gaps:
        extra += f" {len(gaps)} day(s) without data are drawn as gaps."
    st.caption(caption + extra)
    if filters is not None:
        not_applicable_note(filters, definition(metric).get("dimensions", []))
    st.download_button(
        "Download CSV",
        data=doc.get("csv", ""),
        file_name=f"{key}.csv",
        mime="text/csv",
        key=f"csv_{key}",
        on_click="ignore",
    )


def kpi_metric(label: str, kpi: Kpi, *, unit: str, better: bool | None = True) -> None:
    """A KPI card: value, delta against the previous period, sparkline."""
    if kpi.value is None:
        st.metric(label, "n/a", help=kpi.reason or _tooltip(kpi.name), border=True)
        return
    fmt = {"ratio": "{:.1%}", "ms": "{:,.0f} ms", "users": "{:,.0f}"}.get(unit, "{:,.2f}")
    delta = None
    if kpi.delta is not None:
        delta = {
            "ratio": f"{100 * kpi.delta:+.1f} pts",
            "ms": f"{kpi.delta:+,.0f} ms",
            "users": f"{kpi.delta:+,.0f}",
        }.get(unit, f"{kpi.delta:+,.2f}")
    st.metric(
        label,
        fmt.format(kpi.value),
        delta=delta,
        delta_color="normal" if better is not False else "inverse",
        chart_data=kpi.spark or None,
        chart_type="line",
        border=True,
        help=_tooltip(kpi.name) + (f"\n\n{kpi.note}" if kpi.note else ""),
    )
