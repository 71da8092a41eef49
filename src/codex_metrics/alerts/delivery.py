"""Delivery: a Slack-compatible incoming webhook and email over SMTP, with retries.

Guarantees, per (alert id, channel), read from and written to ``alert_events``:

* never re-sent after a recorded delivery (a 2xx, or an SMTP ``250``);
* a 5xx, a refused connection or an SMTP error is retried ``retries`` times with exponential
  backoff (``backoff_seconds · 2^k``), then recorded ``undelivered``;
* a timeout leaves the outcome unknown (the server may have posted it): the request is re-sent
  at most once, with the same alert id (Slack de-duplicates nothing, so a team may see it
  twice, never three times);
* every attempt is a ``delivery_attempt`` row; the channel's name is recorded, never its URL.
"""

from __future__ import annotations

import json
import smtplib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

import httpx

from codex_metrics.alerts.events import write_events
from codex_metrics.alerts.targets import AlertConfig, Channel

if TYPE_CHECKING:
    from codex_metrics.lake import Lake

__all__ = ["ALERT_ID_HEADER", "Transport", "deliver"]

Transport = httpx.BaseTransport
#: Header carrying the alert id on webhook requests (and on emails).
ALERT_ID_HEADER = "X-Codex-Metrics-Alert-Id"


def _outcome_webhook(
    channel: Channel, alert_id: str, payload: dict[str, Any], transport: Transport | None
) -> tuple[str, int | None, str | None]:
    """One POST: ``("ok" | "retry" | "timeout" | "fail", status, error)``."""
    body = {"text": payload.get("message", ""), "alert_id": alert_id, "codex_metrics": payload}
    try:
        with httpx.Client(transport=transport, timeout=channel.timeout_seconds) as client:
            r = client.post(
                channel.url or "",
                content=json.dumps(body, default=str),
                headers={"Content-Type": "application/json", ALERT_ID_HEADER: alert_id},
            )
    except httpx.TimeoutException as exc:
        return "timeout", None, f"timeout: {type(exc).__name__}"
    except httpx.HTTPError as exc:
        return "retry", None, f"{type(exc).__name__}: {exc}"
    if 200 <= r.status_code < 300:
        return "ok", r.status_code, None
    if r.status_code >= 500 or r.status_code == 429:
        return "retry", r.status_code, f"HTTP {r.status_code}"
    return "fail", r.status_code, f"HTTP {r.status_code} (not retried)"


def _outcome_email(
    channel: Channel, alert_id: str, subject: str, payload: dict[str, Any]
) -> tuple[str, int | None, str | None]:
    msg = EmailMessage()
    msg["Subject"] = f"[codex-metrics] {subject}"
    msg["From"] = channel.sender
    msg["To"] = ", ".join(channel.to)
    msg[ALERT_ID_HEADER] = alert_id
    msg.set_content(subject + "\n\n" + json.dumps(payload, indent=2, default=str))
    try:
        with smtplib.SMTP(channel.smtp_host, channel.smtp_port,
                          timeout=channel.timeout_seconds) as smtp:  # fmt: skip
            refused = smtp.send_message(msg)
    except TimeoutError as exc:
        return "timeout", None, f"timeout: {exc}"
    except smtplib.SMTPResponseException as exc:
        return "retry", None, f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"[:300]
    except (smtplib.SMTPException, OSError) as exc:
        return "retry", None, f"{type(exc).__name__}: {exc}"[:300]
    if refused:
        return "fail", 250, f"refused recipients: {len(refused)}"
    return "ok", 250, None


def deliver(
    lake: Lake,
    config: AlertConfig,
    alert_id: str,
    alert_kind: str,
    message: str,
    payload: dict[str, Any],
    *,
    history: list[dict[str, Any]],
    transport: Transport | None = None,
    sleep: Callable[[float], None] | None = None,
) -> bool:
    """Deliver to every channel; returns whether every channel has it (now or before)."""
    sleep = sleep or time.sleep
    everywhere = True
    for channel in config.channels:
        mine = [
            r for r in history if r["alert_id"] == alert_id and r.get("channel") == channel.name
        ]
        if any(r["event"] == "delivered" for r in mine):
            continue
        attempts = [r for r in mine if r["event"] == "delivery_attempt"]
        first_timeout = next(
            (i for i, r in enumerate(attempts) if (r.get("error") or "").startswith("timeout")),
            None,
        )
        resent_after_timeout = 0 if first_timeout is None else len(attempts) - first_timeout - 1
        attempt = len(attempts)
        delivered = False
        for k in range(config.retries + 1):
            if first_timeout is not None and resent_after_timeout >= 1:
                break  # an unknown outcome is re-sent once, never twice
            if first_timeout is not None:
                resent_after_timeout += 1
            attempt += 1
            if channel.kind == "webhook":
                outcome, status, error = _outcome_webhook(channel, alert_id, payload, transport)
            else:
                outcome, status, error = _outcome_email(channel, alert_id, message, payload)
            row = _row(alert_id, alert_kind, message, channel, attempt, status, error)
            attempts.append(row)
            write_events(lake, [row])
            if outcome == "ok":
                delivered = True
                break
            if outcome == "fail":
                break
            if outcome == "timeout" and first_timeout is None:
                first_timeout = len(attempts) - 1
            if k < config.retries:
                sleep(config.backoff_seconds * 2**k)
        final = _row(alert_id, alert_kind, message, channel, attempt, None, None)
        final["event"] = "delivered" if delivered else "undelivered"
        if not delivered:
            final["error"] = attempts[-1].get("error") if attempts else "no attempt"
        write_events(lake, [final])
        everywhere &= delivered
    return everywhere


def _row(
    alert_id: str,
    alert_kind: str,
    message: str,
    channel: Channel,
    attempt: int,
    status: int | None,
    error: str | None,
) -> dict[str, Any]:
    return {
        "alert_id": alert_id,
        "event": "delivery_attempt",
        "at": datetime.now(UTC),
        "alert_kind": alert_kind,
        "channel": channel.name,
        "channel_kind": channel.kind,
        "attempt": attempt,
        "http_status": status if channel.kind == "webhook" else None,
        "smtp_code": status if channel.kind == "email" else None,
        "error": error,
        "message": message,
    }
