"""Page script run by Streamlit's navigation (the drawing is in views/experiments.py)."""

from codex_metrics.dashboard.views.experiments import render

render()
