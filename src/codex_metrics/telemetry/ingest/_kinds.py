"""What a JSON object is, told by its keys: so each command can say "this file is X, use Y".

Every vendor file handed to the wrong command gets a one-line answer naming what it is and the
command that reads it, instead of a field error deep inside it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["KINDS", "kind_of", "wrong_kind_message"]

#: kind -> (what it is, the command that reads it, or ``None`` when nothing does)
KINDS: dict[str, tuple[str, str | None]] = {
    "user_row": ("rows of GitHub's per-user Copilot usage report", "copilot-report"),
    "user_team_row": ("rows of GitHub's user-teams Copilot report", "copilot-report"),
    "user_wrapper": ("a per-user Copilot usage report (day_totals of user rows)", "copilot-report"),
    "entity": ("a Copilot usage-metrics entity report (day_totals)", "copilot-report"),
    "viewer_user_totals": (
        "copilot-metrics-viewer's pre-aggregated user_totals export (totals per user over the "
        "whole period, not GitHub's per-user day rows); download GitHub's users-1-day or "
        "users-28-day report instead",
        None,
    ),
    "legacy": ("a legacy Copilot Metrics API export (day objects)", "copilot-legacy"),
    "usage_api": (
        "an export of the older Copilot Usage API (/copilot/usage, shut down in February "
        "2025), which codex-metrics does not read",
        None,
    ),
    "seats": ("a Copilot seats export (/copilot/billing/seats)", "seats"),
    "download_links": (
        "a download-links response, not a report; download the files its download_links name",
        None,
    ),
    "otlp": ("an OpenTelemetry (OTLP/JSON) log export", "codex-otel"),
}

_USER_KEYS = ("user_login", "user_id")
_TEAM_KEYS = ("team_id", "slug")


def kind_of(obj: Any) -> str | None:
    """The kind of a decoded JSON value (an object, or an array of objects), or ``None``."""
    if isinstance(obj, list):
        kinds = {kind_of(x) for x in obj[:50]} - {None}
        if len(kinds) == 1:
            only = kinds.pop()
            return "legacy" if only == "legacy" else only
        return None
    if not isinstance(obj, dict):
        return None
    if "user_totals" in obj:
        return "viewer_user_totals"
    if "download_links" in obj:
        return "download_links"
    if "resourceLogs" in obj:
        return "otlp"
    if "seats" in obj and "total_seats" in obj:
        return "seats"
    if "date" in obj and any(k.startswith("copilot_") for k in obj):
        return "legacy"
    if "day" in obj and "breakdown" in obj and "total_suggestions_count" in obj:
        return "usage_api"
    if "day_totals" in obj:
        rows = obj.get("day_totals") or []
        first = rows[0] if rows and isinstance(rows[0], dict) else {}
        return "user_wrapper" if any(k in first for k in _USER_KEYS) else "entity"
    if any(k in obj for k in _USER_KEYS):
        return "user_team_row" if any(k in obj for k in _TEAM_KEYS) else "user_row"
    return None


def wrong_kind_message(kind: str | None, command: str, keys: list[str] | None = None) -> str:
    """The one-line message for a file of ``kind`` given to ``ingest command``."""
    if kind is None:
        seen = f" (its first object has keys {', '.join(sorted(keys)[:8])})" if keys else ""
        return f"not a file `codex-metrics ingest {command}` reads{seen}"
    what, reader = KINDS[kind]
    if reader is None:
        return f"this is {what}"
    return f"this is {what}; use `codex-metrics ingest {reader}`"
