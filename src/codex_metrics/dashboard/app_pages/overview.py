"""Page script run by Streamlit's navigation (the drawing is in views/overview.py)."""

from codex_metrics.dashboard.views.overview import render

render()
