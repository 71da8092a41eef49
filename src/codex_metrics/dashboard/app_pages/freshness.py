"""Page script run by Streamlit's navigation (the drawing is in views/freshness.py)."""

from codex_metrics.dashboard.views.freshness import render

render()
