"""Analyses over the lake: ``summary`` and the productivity analysis.

``summary`` puts the simulated world beside its truth; ``productivity`` estimates the causal
effect of AI on speed, latency against acceptance and satisfaction, acceptance models,
developer segments and the failure taxonomy.
"""

from codex_metrics.analysis.estimates import Estimate
from codex_metrics.analysis.productivity import (
    ProductivityReport,
    latest_results,
    publish_results,
    run_productivity,
)
from codex_metrics.analysis.report_html import render_productivity_html, render_productivity_json
from codex_metrics.analysis.status import AnalysisStatus, analysis_status_message
from codex_metrics.analysis.world_summary import SummaryRow, summarize_simulation

__all__ = [
    "AnalysisStatus",
    "Estimate",
    "ProductivityReport",
    "SummaryRow",
    "analysis_status_message",
    "latest_results",
    "publish_results",
    "render_productivity_html",
    "render_productivity_json",
    "run_productivity",
    "summarize_simulation",
]
