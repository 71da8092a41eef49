"""Values the sidebar offers for each slice, read from the snapshot (cached on its key)."""

from __future__ import annotations

import streamlit as st

from codex_metrics.dashboard.data import LakeState

__all__ = ["known_values"]

#: Where each sidebar dimension's values live: (table, column).
_HOMES = {
    "org": ("usage_daily", "org"),
    "team": ("team_members", "team"),
    "language": ("suggestions", "language"),
    "editor": ("suggestions", "editor"),
    "model": ("suggestions", "model_version"),
    "feature": ("suggestions", "feature"),
}


@st.cache_data(max_entries=64, show_spinner=False)
def _known(root: str, key: str, sources: str | None) -> dict[str, list[str]]:
    from codex_metrics.dashboard.data import _reader
    from codex_metrics.metrics.explain import known_values as values_of

    _, engine, lock = _reader(root, key, sources)
    with lock:
        return {dim: sorted(values_of(engine, t, c)) for dim, (t, c) in _HOMES.items()}


def known_values(state: LakeState) -> dict[str, list[str]]:
    """Dimension -> the values it takes in the lake (empty when its table is empty)."""
    return _known(state.root, state.key, state.sources)
