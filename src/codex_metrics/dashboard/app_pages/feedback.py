"""Page script run by Streamlit's navigation (the drawing is in views/feedback.py)."""

from codex_metrics.dashboard.views.feedback import render

render()
