"""Pure chart functions: plain data in, a Plotly figure out (no lake, no page code).

Every figure has axis titles with units, a legend when colour carries meaning, and the same
palette, so the dashboard and the HTML reports read alike:

* :func:`forest_plot`: estimates with intervals on a shared axis (relative lifts of an
  experiment, with non-inferiority margins);
* :func:`time_series`: one or more series over time, each with an optional band (a CI or a
  P10-P90 range);
* :func:`histogram`: counts over bins (e.g. latency buckets), optionally on a log axis;
* :func:`bar_with_ci`: one bar per category with an error bar.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

__all__ = [
    "PALETTE",
    "ForestRow",
    "Series",
    "bar_with_ci",
    "forest_plot",
    "histogram",
    "time_series",
]

#: Colours by meaning: good, bad, neutral, untrusted, reference, accent.
PALETTE: dict[str, str] = {
    "better": "#1a7f37",
    "worse": "#cf222e",
    "neutral": "#57606a",
    "untrusted": "#afb8c1",
    "reference": "#8c959f",
    "margin": "#bf8700",
    "accent": "#0969da",
}
_FONT = {"family": "system-ui, sans-serif", "size": 12}


def _layout(fig: go.Figure, *, title: str, x_title: str, y_title: str, height: int) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left"},
        xaxis_title=x_title,
        yaxis_title=y_title,
        height=height,
        margin={"l": 10, "r": 10, "t": 50, "b": 40},
        font=_FONT,
        plot_bgcolor="white",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
    )
    fig.update_xaxes(showgrid=True, gridcolor="#eaeef2", zeroline=False, automargin=True)
    fig.update_yaxes(showgrid=True, gridcolor="#eaeef2", zeroline=False, automargin=True)
    return fig


@dataclass(frozen=True)
class ForestRow:
    """One row of a forest plot.

    Attributes:
        label: the row's name on the y axis.
        estimate: point estimate.
        low: lower interval bound.
        high: upper interval bound.
        group: legend group (a key of ``colours``), e.g. ``better``, ``worse``, ``neutral``.
        margin: a non-inferiority bound to mark on the row (``None``: none).
        hover: extra text shown on hover.
    """

    label: str
    estimate: float
    low: float
    high: float
    group: str = "neutral"
    margin: float | None = None
    hover: str = ""


def forest_plot(
    rows: Sequence[ForestRow],
    *,
    title: str = "",
    x_title: str = "relative lift (treatment vs control)",
    percent: bool = True,
    legend: Mapping[str, str] | None = None,
    colours: Mapping[str, str] | None = None,
    reference: float = 0.0,
) -> go.Figure:
    """Estimates with intervals, one row each, top to bottom in the given order.

    Args:
        rows: the rows.
        title: figure title.
        x_title: x-axis title (with its unit).
        percent: format the x axis as percentages (values are fractions).
        legend: legend text per group (default: the group name).
        colours: colour per group (default: :data:`PALETTE`).
        reference: the x of the "no effect" line.
    """
    colours = {**PALETTE, **(colours or {})}
    legend = legend or {}
    fig = go.Figure()
    labels = [r.label for r in rows]
    for group in dict.fromkeys(r.group for r in rows):
        mine = [r for r in rows if r.group == group]
        fig.add_trace(
            go.Scatter(
                x=[r.estimate for r in mine],
                y=[r.label for r in mine],
                mode="markers",
                name=legend.get(group, group),
                marker={"color": colours.get(group, PALETTE["neutral"]), "size": 9},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [r.high - r.estimate for r in mine],
                    "arrayminus": [r.estimate - r.low for r in mine],
                    "thickness": 2,
                    "width": 4,
                },
                customdata=[r.hover for r in mine],
                hovertemplate="%{y}: %{x" + (":+.1%" if percent else "") + "}<br>%{customdata}"
                "<extra></extra>",
            )
        )
    margins = [r for r in rows if r.margin is not None]
    if margins:
        fig.add_trace(
            go.Scatter(
                x=[r.margin for r in margins],
                y=[r.label for r in margins],
                mode="markers",
                name=legend.get("margin", "non-inferiority margin"),
                marker={"symbol": "line-ns-open", "size": 18, "color": PALETTE["margin"]},
                hovertemplate="%{y}: margin %{x"
                + (":+.0%" if percent else "")
                + "}<extra></extra>",
            )
        )
    fig.add_vline(x=reference, line={"color": PALETTE["reference"], "dash": "dot"})
    _layout(fig, title=title, x_title=x_title, y_title="", height=120 + 34 * max(len(rows), 1))
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(labels)))
    if percent:
        fig.update_xaxes(tickformat="+.0%")
    return fig


@dataclass(frozen=True)
class Series:
    """One line of a time series, with an optional band (same length as ``y``)."""

    y: Sequence[float]
    low: Sequence[float] | None = None
    high: Sequence[float] | None = None


def _fill(colour: str) -> str:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},0.15)"


def time_series(
    x: Sequence[Any],
    series: Mapping[str, Series],
    *,
    title: str = "",
    x_title: str = "day (UTC)",
    y_title: str = "",
    band_label: str = "95% CI",
) -> go.Figure:
    """Lines over time, each with a shaded band between ``low`` and ``high`` when given."""
    fig = go.Figure()
    cycle = [PALETTE["accent"], PALETTE["better"], PALETTE["worse"], PALETTE["margin"]]
    for i, (name, s) in enumerate(series.items()):
        colour = cycle[i % len(cycle)]
        if s.low is not None and s.high is not None:
            fig.add_trace(
                go.Scatter(
                    x=[*x, *reversed(x)],
                    y=[*s.high, *reversed(s.low)],
                    fill="toself",
                    fillcolor=_fill(colour),
                    line={"width": 0},
                    name=f"{name} ({band_label})",
                    hoverinfo="skip",
                )
            )
        fig.add_trace(
            go.Scatter(
                x=list(x), y=list(s.y), mode="lines+markers", name=name, line={"color": colour}
            )
        )
    return _layout(fig, title=title, x_title=x_title, y_title=y_title, height=360)


def histogram(
    x: Sequence[float],
    counts: Mapping[str, Sequence[float]],
    *,
    title: str = "",
    x_title: str = "",
    y_title: str = "count",
    log_x: bool = False,
    normalise: bool = False,
) -> go.Figure:
    """Counts per bin (``x``: bin centres or representatives), one trace per group."""
    fig = go.Figure()
    cycle = [PALETTE["accent"], PALETTE["better"], PALETTE["worse"], PALETTE["margin"]]
    for i, (name, c) in enumerate(counts.items()):
        total = float(sum(c)) or 1.0
        y = [v / total for v in c] if normalise else list(c)
        fig.add_trace(
            go.Scatter(
                x=list(x),
                y=y,
                mode="lines",
                line={"shape": "hvh", "color": cycle[i % 4]},
                name=name,
            )
        )
    _layout(
        fig, title=title, x_title=x_title, y_title="share" if normalise else y_title, height=340
    )
    if log_x:
        fig.update_xaxes(type="log")
    return fig


def bar_with_ci(
    categories: Sequence[str],
    values: Sequence[float],
    low: Sequence[float],
    high: Sequence[float],
    *,
    title: str = "",
    x_title: str = "",
    y_title: str = "",
    colour: str = PALETTE["accent"],
) -> go.Figure:
    """One bar per category with an asymmetric error bar from ``low`` to ``high``."""
    fig = go.Figure(
        go.Bar(
            x=list(categories),
            y=list(values),
            marker_color=colour,
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [h - v for v, h in zip(values, high, strict=True)],
                "arrayminus": [v - lo for v, lo in zip(values, low, strict=True)],
            },
            name=y_title or "value",
        )
    )
    return _layout(fig, title=title, x_title=x_title, y_title=y_title, height=340)
