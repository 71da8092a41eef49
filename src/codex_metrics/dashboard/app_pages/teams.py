"""Page script run by Streamlit's navigation (the drawing is in views/teams.py)."""

from codex_metrics.dashboard.views.teams import render

render()
