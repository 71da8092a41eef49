"""Rendering helpers shared by commands."""

from __future__ import annotations

from rich.console import Console

__all__ = ["console"]


def console() -> Console:
    """A console for tables: the terminal's width, or 130 columns when output is piped."""
    terminal = Console()
    return terminal if terminal.is_terminal else Console(width=130)
