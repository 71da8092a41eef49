"""Page script run by Streamlit's navigation (the drawing is in views/community.py)."""

from codex_metrics.dashboard.views.community import render

render()
