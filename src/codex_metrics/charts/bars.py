"""Grouped bars: one bar per (category, series), optionally with an interval on each bar.

For comparisons of a few models over a few categories (pass@k per model, failure categories,
binned distributions), where a line would suggest an order the categories do not have.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from codex_metrics.charts.figures import PALETTE, _layout

__all__ = ["SERIES_COLOURS", "grouped_bars"]

#: Colours of successive series (models, arms), the palette's distinguishable ones first.
SERIES_COLOURS = (
    PALETTE["accent"],
    PALETTE["margin"],
    PALETTE["better"],
    PALETTE["worse"],
    PALETTE["neutral"],
)


def _span(low: float | None, high: float | None) -> float | None:
    return None if low is None or high is None else high - low


def grouped_bars(
    categories: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    title: str,
    x_title: str,
    y_title: str,
    percent: bool = True,
    intervals: Mapping[str, tuple[Sequence[float | None], Sequence[float | None]]] | None = None,
) -> go.Figure:
    """Bars grouped by category, one trace (and legend entry) per series.

    Args:
        categories: the x categories, in order.
        series: series name -> one value per category (fractions when ``percent``; ``None``
            leaves a gap).
        title: figure title.
        x_title: x-axis title.
        y_title: y-axis title with its unit.
        percent: format the y axis as percentages (values are fractions).
        intervals: series name -> (lows, highs), drawn as error bars (e.g. a 95% CI).
    """
    fig = go.Figure()
    for i, (name, values) in enumerate(series.items()):
        error = None
        if intervals and name in intervals:
            lows, highs = intervals[name]
            error = {
                "type": "data",
                "symmetric": False,
                "array": [_span(v, h) for v, h in zip(values, highs, strict=True)],
                "arrayminus": [_span(lo, v) for v, lo in zip(values, lows, strict=True)],
            }
        fig.add_trace(
            go.Bar(
                x=list(categories),
                y=list(values),
                name=name,
                marker_color=SERIES_COLOURS[i % len(SERIES_COLOURS)],
                error_y=error,
                hovertemplate=f"{name}<br>%{{x}}: %{{y{':.1%' if percent else ''}}}<extra></extra>",
            )
        )
    _layout(fig, title=title, x_title=x_title, y_title=y_title, height=340)
    fig.update_layout(barmode="group", showlegend=True)
    if percent:
        fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return fig
