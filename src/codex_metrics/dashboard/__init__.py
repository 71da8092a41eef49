"""The Streamlit + Plotly dashboard over the lake (``codex-metrics dashboard``).

UI only: pages call library functions through :mod:`codex_metrics.dashboard.data` (cached on the
lake snapshot) and draw figures from :mod:`codex_metrics.charts`.
"""

from pathlib import Path

__all__ = ["APP_FILE"]

#: The file ``streamlit run`` executes.
APP_FILE = Path(__file__).with_name("app.py")
