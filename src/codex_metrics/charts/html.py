"""Figures into self-contained HTML: plotly.js is embedded from the installed package.

A report is one file that opens offline, years later: the plotly.js of the installed ``plotly``
package is inlined once per page (about 4.8 MB), never loaded from a CDN.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import plotly.io as pio

__all__ = ["figures_html", "plotly_script"]

_CONFIG = {"displaylogo": False, "responsive": True}


def plotly_script() -> str:
    """A ``<script>`` element holding the installed plotly.js (no network needed)."""
    from plotly.offline import get_plotlyjs

    return f'<script type="text/javascript">{get_plotlyjs()}</script>'


def figures_html(figures: Sequence[go.Figure], *, include_plotlyjs: bool = True) -> list[str]:
    """Each figure as an HTML ``<div>``; plotly.js is inlined before the first one.

    Args:
        figures: the figures, in page order.
        include_plotlyjs: inline plotly.js (``False`` when the page already has it).
    """
    out = []
    for i, fig in enumerate(figures):
        div = pio.to_html(fig, full_html=False, include_plotlyjs=False, config=_CONFIG)
        out.append((plotly_script() if include_plotlyjs and i == 0 else "") + div)
    return out
