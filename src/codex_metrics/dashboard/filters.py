"""The sidebar filters: source, dates, slices and weekends, kept in the URL so views can be shared.

Every page reads one :class:`Filters`. A page passes a metric only the filters the metric can be
sliced by (:meth:`Filters.for_metric`) and lists the others as not applicable, so a chart never
silently ignores a filter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import streamlit as st

__all__ = ["DIMENSIONS", "Filters", "sidebar_filters"]

#: Sidebar slice filters: dimension -> label.
DIMENSIONS = {
    "org": "Org",
    "team": "Team",
    "language": "Language",
    "editor": "Editor",
    "model": "Model version",
    "feature": "Feature",
}


@dataclass(frozen=True)
class Filters:
    """What the sidebar asks for."""

    since: date
    until: date
    slices: dict[str, list[str]] = field(default_factory=dict)
    exclude_weekends: bool = False

    def for_metric(self, dimensions: list[str] | tuple[str, ...]) -> dict[str, list[str]]:
        """The slice filters ``dimensions`` allow."""
        return {d: v for d, v in self.slices.items() if v and d in dimensions}

    def not_applicable(self, dimensions: list[str] | tuple[str, ...]) -> list[str]:
        """Active filters a chart over ``dimensions`` cannot apply."""
        return [DIMENSIONS[d] for d, v in self.slices.items() if v and d not in dimensions]

    @property
    def days(self) -> int:
        """Days in the window."""
        return (self.until - self.since).days + 1


def _param_list(name: str) -> list[str]:
    value = st.query_params.get_all(name)
    return [v for item in value for v in item.split(",") if v]


def _param_day(name: str, default: date) -> date:
    try:
        return date.fromisoformat(st.query_params.get(name, "") or "")
    except ValueError:
        return default


def sidebar_filters(
    first_day: date | None, last_day: date | None, known: dict[str, list[str]]
) -> Filters:
    """Draw the filters in the sidebar (initial values from the URL) and write them back."""
    last = last_day or date.today()
    first = first_day or last - timedelta(days=27)
    default_since = max(first, last - timedelta(days=27))
    since = _param_day("since", default_since)
    until = _param_day("until", last)
    picked = st.sidebar.date_input(
        "Dates (UTC)",
        value=(since, until),
        min_value=first,
        max_value=last,
        key="dates",
        help="The window every chart and KPI covers; KPI deltas compare with the window before.",
    )
    if isinstance(picked, tuple | list) and len(picked) == 2:
        since, until = picked[0], picked[1]
    slices: dict[str, list[str]] = {}
    for dim, label in DIMENSIONS.items():
        options = known.get(dim, [])
        if not options:
            continue
        wanted = [v for v in _param_list(dim) if v in options]
        chosen = st.sidebar.multiselect(label, options, default=wanted, key=f"f_{dim}")
        if chosen:
            slices[dim] = list(chosen)
    weekends = st.sidebar.toggle(
        "Exclude weekends",
        value=st.query_params.get("weekends") == "exclude",
        key="weekends",
        help="Leave Saturdays and Sundays out of every series (UTC days).",
    )
    params: dict[str, Any] = {"since": since.isoformat(), "until": until.isoformat()}
    params |= {d: ",".join(v) for d, v in slices.items()}
    if weekends:
        params["weekends"] = "exclude"
    source = st.query_params.get("source")
    if source:
        params["source"] = source
    page = st.query_params.get("page")
    if page:
        params["page"] = page
    if dict(st.query_params) != params:
        st.query_params.from_dict(params)
    return Filters(since, until, slices, weekends)
