"""Page script run by Streamlit's navigation (the drawing is in views/performance.py)."""

from codex_metrics.dashboard.views.performance import render

render()
