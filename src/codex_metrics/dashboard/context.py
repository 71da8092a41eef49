"""What a render hands its pages: the lake snapshot's state and the sidebar filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import streamlit as st

from codex_metrics.dashboard.data import LakeState
from codex_metrics.dashboard.filters import Filters

__all__ = ["Context", "context", "set_context", "viewer_allowed"]


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


def viewer_allowed(listed: tuple[str, ...]) -> bool:
    """Whether the person looking is on ``listed``.

    The person is their signed-in email, or ``localhost`` for the operator of a server bound to
    loopback (no login there); anyone else is nobody and is never allowed.
    """
    from codex_metrics.dashboard.server import LOOPBACK

    user = st.user
    if user.get("is_logged_in"):
        email = user.get("email")
        viewer = str(email).lower() if email else None
    else:  # AppTest runs with no address: the operator's own process
        address = str(st.get_option("server.address") or "")
        viewer = "localhost" if address in ("", *LOOPBACK) else None
    return viewer is not None and viewer in {v.lower() for v in listed}
