"""Analyses over the lake: today the simulated world against its truth (``summary``).

The productivity analysis (acceptance model, latency vs satisfaction, causal effects, segments,
failure taxonomy) joins this package.
"""

from codex_metrics.analysis.world_summary import SummaryRow, summarize_simulation

__all__ = ["SummaryRow", "summarize_simulation"]
