"""The experiment's HTML report: Plotly forest plot with axis title and legend, embedded
plotly.js, intervals on one line, and an untrustworthy verdict greying out significance."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from codex_metrics.experiments import (
    AnalysisOptions,
    Decision,
    Verdict,
    analyze_experiment,
    render_experiment_html,
    render_experiment_markdown,
)
from codex_metrics.experiments.report_html import forest_rows

from .simulated import experiment_id


@pytest.fixture(scope="module")
def report(ab_lake):
    lake, _ = ab_lake
    con = lake.connect()
    return analyze_experiment(con, experiment_id(con), AnalysisOptions(bayesian=True, slices=False))


def _figure(page: str) -> dict:
    """The forest plot's figure JSON as Plotly.newPlot receives it."""
    call = page[page.rindex("Plotly.newPlot(") :]
    args = call[call.index("[") :]
    decoder = json.JSONDecoder()
    data, end = decoder.raw_decode(args)
    rest = args[end:]
    layout, _ = decoder.raw_decode(rest[rest.index("{") :])
    return {"data": data, "layout": layout}


def test_forest_plot_has_an_axis_title_a_legend_and_the_margins(report):
    page = render_experiment_html(report)
    fig = _figure(page)
    assert fig["layout"]["xaxis"]["title"]["text"] == "relative lift vs control A (%), 95% CI"
    names = {t["name"] for t in fig["data"]}
    assert "significantly better" in names and "guardrail margin (non-inferiority bound)" in names
    rows = forest_rows(report)
    assert len(rows) == 8 and {r.group for r in rows} <= {"better", "worse", "neutral"}
    margins = {r.label: r.margin for r in rows if r.margin is not None}
    assert margins["latency_mean_ms (guardrail)"] == 0.05  # lower is better: the bound is +5%


def test_the_page_is_self_contained_and_intervals_stay_on_one_line(report):
    from plotly.offline import get_plotlyjs

    page = render_experiment_html(report)
    assert get_plotlyjs() in page and not re.search(r"<script[^>]+src=", page)
    assert "white-space:nowrap" in page
    assert "<h2>Bayesian view (prior N(0, 0.3²) on the relative lift)</h2>" in page
    assert "<h2>Quantile metrics (developer-clustered)</h2>" in page


def test_an_untrustworthy_verdict_greys_out_significance(report):
    bad = replace(report, verdict=Verdict(Decision.UNTRUSTWORTHY, "Sample-ratio mismatch."))
    assert {r.group for r in forest_rows(bad)} == {"untrusted"}
    page = render_experiment_html(bad)
    names = {t["name"] for t in _figure(page)["data"]}
    assert "not trustworthy (see verdict)" in names and "significantly better" not in names
    assert 'class="metrics untrusted"' in page and "per-metric significance" in page
    assert "per-metric significance below is not evidence" in render_experiment_markdown(bad)
