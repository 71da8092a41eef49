"""Page script run by Streamlit's navigation (the drawing is in views/adoption.py)."""

from codex_metrics.dashboard.views.adoption import render

render()
