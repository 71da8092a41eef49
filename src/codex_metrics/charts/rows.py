"""Figures from result rows: the result envelope's ``rows`` in, a Plotly figure out.

The dashboard's adapters over the chart stack (same palette and layout as
:mod:`codex_metrics.charts.figures`): every figure has a title, axis titles with units, hover
values and drawn gaps (a missing day is a gap in the line, never interpolated); milestones
(deploys, releases, experiment starts) are labelled vertical lines. Plain rows in, so they are
tested without Streamlit and reused by the HTML reports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import plotly.graph_objects as go

from codex_metrics.charts.figures import PALETTE

__all__ = [
    "rows_bar",
    "rows_histogram",
    "survey_radar",
    "rows_scatter",
    "rows_share",
    "rows_time_series",
]

_LAYOUT: dict[str, Any] = {
    "margin": {"l": 60, "r": 20, "t": 50, "b": 90},
    "hovermode": "x unified",
    "legend": {"orientation": "h", "y": -0.3},
    "height": 400,
    "font": {"family": "system-ui, sans-serif", "size": 12},
    "colorway": [
        PALETTE["accent"],
        PALETTE["better"],
        PALETTE["worse"],
        PALETTE["margin"],
        PALETTE["neutral"],
        "#8250df",
        "#1b7c83",
        "#953800",
    ],
}


def _axis_unit(unit: str) -> str:
    return {"ratio": "share", "ms": "milliseconds", "s": "seconds"}.get(unit, unit)


def rows_time_series(
    rows: Sequence[Mapping[str, Any]],
    *,
    title: str,
    unit: str,
    by: str | None = None,
    y: str = "value",
    milestones: Sequence[Mapping[str, Any]] = (),
    y_label: str | None = None,
) -> go.Figure:
    """One line per ``by`` value over ``period``; rows without a value are gaps.

    Args:
        rows: result rows with ``period``, ``value`` and optionally the ``by`` column.
        title: chart title.
        unit: the metric's unit (axis title; ``ratio`` shows as a percentage).
        by: the column that splits lines (``None``: one line).
        y: the value column.
        milestones: rows with ``day`` and ``text`` (and ``kind``) drawn as vertical lines.
        y_label: axis title instead of the unit.
    """
    fig = go.Figure()
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        groups.setdefault(str(r.get(by)) if by else title, []).append(r)
    for name, items in sorted(groups.items()):
        items = sorted(items, key=lambda r: str(r["period"]))
        fig.add_trace(
            go.Scatter(
                x=[str(r["period"]) for r in items],
                y=[r.get(y) for r in items],
                mode="lines+markers",
                name=name,
                connectgaps=False,
                hovertemplate="%{x}: %{y}<extra>" + name + "</extra>",
            )
        )
    for m in milestones:
        fig.add_vline(x=str(m["day"]), line_dash="dot", line_color="#888")
        fig.add_annotation(
            x=str(m["day"]), y=1, yref="paper", text=str(m["text"]), showarrow=False,
            textangle=-90, xanchor="left", font={"size": 10},
        )  # fmt: skip
    fig.update_layout(
        title=title,
        xaxis_title="day (UTC)",
        yaxis_title=y_label or _axis_unit(unit),
        showlegend=by is not None,
        **_LAYOUT,
    )
    if unit == "ratio":
        fig.update_yaxes(tickformat=".0%")
    return fig


def rows_bar(
    rows: Sequence[Mapping[str, Any]],
    *,
    title: str,
    category: str,
    unit: str,
    y: str = "value",
    low: str | None = None,
    high: str | None = None,
    horizontal: bool = False,
    by: str | None = None,
) -> go.Figure:
    """Bars per ``category`` (error bars from ``low``/``high``; grouped by ``by`` when given)."""
    if by is not None:
        return _grouped_bars(rows, title=title, category=category, unit=unit, y=y, by=by)
    items = [r for r in rows if r.get(y) is not None]
    cats = [str(r[category]) for r in items]
    vals = [float(r[y]) for r in items]
    error: dict[str, Any] | None = None
    if low and high:
        error = {
            "type": "data",
            "symmetric": False,
            "array": [float(r[high]) - float(r[y]) for r in items],
            "arrayminus": [float(r[y]) - float(r[low]) for r in items],
        }
    bar = (
        go.Bar(y=cats, x=vals, orientation="h", error_x=error, name=title)
        if horizontal
        else go.Bar(x=cats, y=vals, error_y=error, name=title)
    )
    fig = go.Figure(bar)
    value_axis = _axis_unit(unit)
    fig.update_layout(
        title=title,
        xaxis_title=value_axis if horizontal else category,
        yaxis_title=category if horizontal else value_axis,
        showlegend=False,
        **_LAYOUT,
    )
    if unit == "ratio":
        (fig.update_xaxes if horizontal else fig.update_yaxes)(tickformat=".0%")
    return fig


def _grouped_bars(
    rows: Sequence[Mapping[str, Any]], *, title: str, category: str, unit: str, y: str, by: str
) -> go.Figure:
    fig = go.Figure()
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        if r.get(y) is not None:
            groups.setdefault(str(r[by]), []).append(r)
    for name, items in groups.items():
        fig.add_trace(
            go.Bar(x=[str(r[category]) for r in items], y=[float(r[y]) for r in items], name=name)
        )
    fig.update_layout(
        title=title, barmode="group", xaxis_title=category, yaxis_title=_axis_unit(unit),
        showlegend=True, **_LAYOUT,
    )  # fmt: skip
    if unit == "ratio":
        fig.update_yaxes(tickformat=".0%")
    return fig


def rows_share(
    rows: Sequence[Mapping[str, Any]], *, title: str, category: str, y: str = "value"
) -> go.Figure:
    """A pie of the share of each category (the mix of one period)."""
    items = [r for r in rows if r.get(y)]
    fig = go.Figure(
        go.Pie(
            labels=[str(r[category]) for r in items],
            values=[float(r[y]) for r in items],
            hole=0.45,
            hovertemplate="%{label}: %{percent}<extra></extra>",
        )
    )
    fig.update_layout(title=title, **{k: v for k, v in _LAYOUT.items() if k != "hovermode"})
    return fig


def rows_histogram(
    rows: Sequence[Mapping[str, Any]], *, title: str, bucket: str, unit: str, y: str = "value"
) -> go.Figure:
    """Bars of a bucketed distribution (buckets sorted by name, shares on the y axis)."""
    items = sorted((r for r in rows if r.get(y) is not None), key=lambda r: str(r[bucket]))
    fig = go.Figure(go.Bar(x=[str(r[bucket]) for r in items], y=[float(r[y]) for r in items]))
    fig.update_layout(
        title=title, xaxis_title=f"bucket ({_axis_unit(unit)})", yaxis_title="share",
        showlegend=False, **_LAYOUT,
    )  # fmt: skip
    fig.update_yaxes(tickformat=".0%")
    return fig


def rows_scatter(
    rows: Sequence[Mapping[str, Any]],
    *,
    title: str,
    x: str,
    y: str,
    label: str,
    x_title: str,
    y_title: str,
) -> go.Figure:
    """One labelled point per row (e.g. a team's satisfaction against its usage)."""
    items = [r for r in rows if r.get(x) is not None and r.get(y) is not None]
    fig = go.Figure(
        go.Scatter(
            x=[float(r[x]) for r in items],
            y=[float(r[y]) for r in items],
            mode="markers",
            text=[str(r[label]) for r in items],
            hovertemplate="%{text}: %{x:.3g}, %{y:.3g}<extra></extra>",
        )
    )
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, showlegend=False,
                      **{k: v for k, v in _LAYOUT.items() if k != "hovermode"})  # fmt: skip
    return fig


def survey_radar(
    values: Mapping[str, float | None], *, title: str, scale: float = 5.0
) -> go.Figure:
    """A radar of survey dimensions on a 1..``scale`` scale."""
    names = [k for k, v in values.items() if v is not None]
    fig = go.Figure(
        go.Scatterpolar(
            r=[values[n] for n in names] + [values[names[0]]] if names else [],
            theta=names + names[:1],
            fill="toself",
            name=title,
        )
    )
    fig.update_layout(
        title=title,
        polar={
            "radialaxis": {
                "range": [1, scale],
                "dtick": 1,
                "angle": 90,
                "tickangle": 90,
                "tickfont": {"size": 10},
            },
        },
        annotations=[
            {
                "text": f"mean answer, 1-{scale:g}",
                "showarrow": False,
                "x": 0.5,
                "y": -0.12,
                "xref": "paper",
                "yref": "paper",
            }
        ],
        showlegend=False,
        height=380,
    )
    return fig


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)
