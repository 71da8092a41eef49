"""One chart stack: pure functions from data to Plotly figures, shared by the dashboard and reports.

Nothing here reads the lake or renders a page: callers pass plain numbers and get a
``plotly.graph_objects.Figure`` (:mod:`.figures`, :mod:`.bars`; :mod:`.rows` builds them from
result rows),
or self-contained HTML with plotly.js embedded from the installed package (:mod:`.html`).
"""

from codex_metrics.charts.bars import SERIES_COLOURS, grouped_bars
from codex_metrics.charts.figures import (
    PALETTE,
    ForestRow,
    Series,
    bar_with_ci,
    forest_plot,
    histogram,
    time_series,
)
from codex_metrics.charts.html import figures_html, plotly_script
from codex_metrics.charts.rows import (
    rows_bar,
    rows_histogram,
    rows_scatter,
    rows_share,
    rows_time_series,
    survey_radar,
)

__all__ = [
    "PALETTE",
    "SERIES_COLOURS",
    "ForestRow",
    "Series",
    "bar_with_ci",
    "figures_html",
    "forest_plot",
    "grouped_bars",
    "histogram",
    "plotly_script",
    "rows_bar",
    "rows_histogram",
    "rows_scatter",
    "rows_share",
    "rows_time_series",
    "survey_radar",
    "time_series",
]
