"""The shared chart stack: pure data -> figure functions with titles, units and legends."""

from __future__ import annotations

import re

import pytest

from codex_metrics.charts import (
    ForestRow,
    Series,
    bar_with_ci,
    figures_html,
    forest_plot,
    histogram,
    plotly_script,
    time_series,
)

ROWS = [
    ForestRow("acceptance (primary)", 0.12, 0.05, 0.19, "better"),
    ForestRow("latency p90 (guardrail)", -0.13, -0.18, -0.08, "better", margin=0.05),
    ForestRow("edit distance", 0.02, -0.05, 0.09, "neutral"),
]


def test_forest_plot_has_axis_title_legend_margins_and_order():
    fig = forest_plot(
        ROWS, x_title="relative lift (%), 95% CI", legend={"better": "significantly better"}
    )
    assert fig.layout.xaxis.title.text == "relative lift (%), 95% CI"
    names = [t.name for t in fig.data]
    assert names == ["significantly better", "neutral", "non-inferiority margin"]
    better = fig.data[0]
    assert list(better.x) == [0.12, -0.13]
    assert list(better.error_x.array) == pytest.approx([0.07, 0.05])
    assert list(better.error_x.arrayminus) == pytest.approx([0.07, 0.05])
    assert list(fig.data[-1].x) == [0.05]  # the margin mark of the guardrail row
    # Rows read top to bottom in the order given.
    assert list(fig.layout.yaxis.categoryarray) == [r.label for r in reversed(ROWS)]
    assert fig.layout.xaxis.tickformat == "+.0%"


def test_time_series_with_bands_histogram_and_bars():
    ts = time_series(
        ["2025-03-03", "2025-03-04"],
        {"P90": Series([500.0, 520.0], [480.0, 500.0], [520.0, 540.0])},
        y_title="latency (ms)",
    )
    assert [t.name for t in ts.data] == ["P90 (95% CI)", "P90"]
    assert ts.data[0].fill == "toself" and list(ts.data[0].y) == [520.0, 540.0, 500.0, 480.0]
    assert (
        ts.layout.yaxis.title.text == "latency (ms)" and ts.layout.xaxis.title.text == "day (UTC)"
    )
    h = histogram(
        [100.0, 200.0],
        {"A": [1, 3], "B": [2, 2]},
        x_title="latency (ms)",
        log_x=True,
        normalise=True,
    )
    assert list(h.data[0].y) == [0.25, 0.75] and h.layout.xaxis.type == "log"
    assert h.layout.yaxis.title.text == "share"
    b = bar_with_ci(["A", "B"], [0.3, 0.35], [0.28, 0.32], [0.32, 0.38], y_title="acceptance rate")
    assert list(b.data[0].error_y.array) == pytest.approx([0.02, 0.03])
    assert list(b.data[0].error_y.arrayminus) == pytest.approx([0.02, 0.03])


def test_html_embeds_plotly_js_from_the_package_never_a_cdn():
    from plotly.offline import get_plotlyjs

    first, second = figures_html([forest_plot(ROWS), forest_plot(ROWS[:1])])
    page = first + second
    assert get_plotlyjs() in first and get_plotlyjs() not in second  # inlined once per page
    assert plotly_script().startswith('<script type="text/javascript">')
    assert not re.search(r"<script[^>]+src=", page)  # nothing is fetched
    assert page.count('class="plotly-graph-div"') == 2
