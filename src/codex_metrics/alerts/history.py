"""Alerts as recorded in ``alert_events``: the list, the open ones, their delivery state."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from codex_metrics.alerts.events import recorded_events

if TYPE_CHECKING:
    from codex_metrics.lake import Lake, LakeSnapshot

__all__ = ["list_alerts", "open_alerts"]


def list_alerts(
    snapshot_or_lake: LakeSnapshot | Lake, *, only_open: bool = False, since: date | None = None
) -> list[dict[str, Any]]:
    """Every alert fired (newest first): its fired row plus ``status`` and ``delivery``.

    ``status`` is ``open`` until a check records it ``resolved``; ``delivery`` is ``delivered``
    (every channel took it), ``undelivered`` (some channel did not) or ``none`` (no channel).
    """
    snapshot = (
        snapshot_or_lake.snapshot() if hasattr(snapshot_or_lake, "snapshot") else snapshot_or_lake
    )
    rows = recorded_events(snapshot)
    fired = {r["alert_id"]: r for r in rows if r["event"] == "fired" and r["alert_kind"] == "alert"}
    resolved = {r["alert_id"] for r in rows if r["event"] == "resolved"}
    outcomes: dict[str, set[str]] = {}
    for r in rows:
        if r["event"] in ("delivered", "undelivered"):
            outcomes.setdefault(r["alert_id"], set()).add(r["event"])
    out = []
    for alert_id, r in fired.items():
        if (
            since is not None
            and r["change_start_day"] is not None
            and r["change_start_day"] < since
        ):
            continue
        status = "resolved" if alert_id in resolved else "open"
        if only_open and status != "open":
            continue
        got = outcomes.get(alert_id, set())
        delivery = "undelivered" if "undelivered" in got else ("delivered" if got else "none")
        out.append({**r, "status": status, "delivery": delivery})
    return sorted(out, key=lambda r: r["at"], reverse=True)


def open_alerts(snapshot_or_lake: LakeSnapshot | Lake) -> list[dict[str, Any]]:
    """Alerts not yet resolved, newest first (for the dashboard's Overview)."""
    return list_alerts(snapshot_or_lake, only_open=True)
