"""Page script run by Streamlit's navigation (the drawing is in views/quality.py)."""

from codex_metrics.dashboard.views.quality import render

render()
