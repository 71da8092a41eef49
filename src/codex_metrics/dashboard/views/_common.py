"""Shared page helpers: a metric over the window with the sidebar's applicable filters."""

from __future__ import annotations

from typing import Any

from codex_metrics.dashboard.context import Context
from codex_metrics.dashboard.data import metric
from codex_metrics.dashboard.widgets import definition

__all__ = ["series"]


def series(
    ctx: Context,
    name: str,
    *,
    grain: str = "day",
    by: tuple[str, ...] = (),
    extra: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """``name`` over the sidebar window, with the sidebar filters the metric allows."""
    f = ctx.filters
    dims = definition(name).get("dimensions", [])
    filters = {**f.for_metric(dims), **(extra or {})}
    return metric(
        ctx.state, name, since=f.since, until=f.until, grain=grain, by=by, filters=filters,
        exclude_weekends=f.exclude_weekends,
    )  # fmt: skip
