"""What a render hands its pages: the lake snapshot's state and the sidebar filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import streamlit as st

from codex_metrics.dashboard.data import LakeState
from codex_metrics.dashboard.filters import Filters

__all__ = ["Context", "context", "set_context"]


@dataclass(frozen=True)
class Context:
    """The lake as this render reads it, and the filters."""

    state: LakeState
    filters: Filters
    today: date


def set_context(ctx: Context) -> None:
    """Store the render's context for the page (called by the entry point)."""
    st.session_state["codex_metrics_context"] = ctx


def context() -> Context:
    """The render's context (set by the entry point before the page runs)."""
    ctx: Context = st.session_state["codex_metrics_context"]
    return ctx
