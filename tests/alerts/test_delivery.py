"""Delivery to a local webhook server and a local SMTP server (aiosmtpd), both started here."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from codex_metrics.alerts import ALERT_ID_HEADER, AlertConfig, Channel, deliver
from codex_metrics.alerts.events import recorded_events
from codex_metrics.lake import Lake


class Hook:
    """A webhook server answering a scripted list of statuses (``"sleep"``: never in time)."""

    def __init__(self, script: list[int | str]) -> None:
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.requests.append(
                    {"id": self.headers[ALERT_ID_HEADER], "body": json.loads(body)}
                )
                step = hook.script.pop(0) if hook.script else 200
                if step == "sleep":
                    time.sleep(0.6)
                    step = 200
                self.send_response(int(step))
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def hook_factory() -> Iterator[Any]:
    hooks: list[Hook] = []

    def make(script: list[int | str]) -> Hook:
        hooks.append(Hook(script))
        return hooks[-1]

    yield make
    for h in hooks:
        h.close()


class Inbox:
    """An aiosmtpd handler that keeps messages and can answer 5xx a few times."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:  # noqa: N802
        if self.failures > 0:
            self.failures -= 1
            return "554 transaction failed"
        self.messages.append(envelope.content)
        return "250 OK"


def _config(*channels: Channel, retries: int = 3) -> AlertConfig:
    return AlertConfig(channels=channels, retries=retries, backoff_seconds=0.5)


def _events(lake: Lake, alert_id: str) -> list[dict[str, Any]]:
    return [r for r in recorded_events(lake.snapshot()) if r["alert_id"] == alert_id]


def _send(lake: Lake, config: AlertConfig, alert_id: str, sleeps: list[float]) -> bool:
    return deliver(lake, config, alert_id, "alert", "p90 up", {"message": "p90 up"},
                   history=recorded_events(lake.snapshot()), sleep=sleeps.append)  # fmt: skip


def test_webhook_5xx_is_retried_with_backoff_then_delivered_once(
    tmp_lake: Lake, hook_factory: Any
) -> None:
    hook = hook_factory([503, 500, 200])
    config = _config(Channel("slack", "webhook", url=hook.url))
    sleeps: list[float] = []
    assert _send(tmp_lake, config, "alert-1", sleeps)
    assert [r["id"] for r in hook.requests] == ["alert-1"] * 3
    assert hook.requests[0]["body"]["alert_id"] == "alert-1"
    assert sleeps == [0.5, 1.0]  # exponential backoff
    rows = _events(tmp_lake, "alert-1")
    attempts = [(r["attempt"], r["http_status"]) for r in rows if r["event"] == "delivery_attempt"]
    assert attempts == [(1, 503), (2, 500), (3, 200)]
    assert [r["event"] for r in rows].count("delivered") == 1
    # a later run never re-sends what a 2xx took
    assert _send(tmp_lake, config, "alert-1", sleeps)
    assert len(hook.requests) == 3


def test_webhook_always_5xx_is_recorded_undelivered(tmp_lake: Lake, hook_factory: Any) -> None:
    hook = hook_factory([500] * 10)
    config = _config(Channel("slack", "webhook", url=hook.url), retries=2)
    assert not _send(tmp_lake, config, "alert-2", [])
    assert len(hook.requests) == 3
    events = [r["event"] for r in _events(tmp_lake, "alert-2")]
    assert events.count("delivery_attempt") == 3 and events.count("undelivered") == 1


def test_timeout_is_resent_at_most_once_with_the_same_id(tmp_lake: Lake, hook_factory: Any) -> None:
    hook = hook_factory(["sleep", "sleep", "sleep", "sleep"])
    config = _config(Channel("slack", "webhook", url=hook.url, timeout_seconds=0.2))
    assert not _send(tmp_lake, config, "alert-3", [])
    time.sleep(1.5)  # let the server finish the slow requests
    assert [r["id"] for r in hook.requests] == ["alert-3", "alert-3"]
    rows = _events(tmp_lake, "alert-3")
    assert all(r["error"].startswith("timeout") for r in rows if r["event"] == "delivery_attempt")
    # and never a third time, even from a later run
    assert not _send(tmp_lake, config, "alert-3", [])
    time.sleep(0.2)
    assert len(hook.requests) == 2


def test_email_over_smtp_with_a_5xx_retried(tmp_lake: Lake) -> None:
    inbox = Inbox(failures=1)
    with socket.socket() as probe:  # a free port (aiosmtpd's ready check cannot use 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        channel = Channel("team-mail", "email", smtp_host="127.0.0.1", smtp_port=port,
                          to=("team@example.com",), timeout_seconds=5)  # fmt: skip
        sleeps: list[float] = []
        assert _send(tmp_lake, _config(channel), "alert-4", sleeps)
    finally:
        controller.stop()
    assert len(inbox.messages) == 1
    text = inbox.messages[0].decode()
    assert f"{ALERT_ID_HEADER}: alert-4" in text and "p90 up" in text
    rows = _events(tmp_lake, "alert-4")
    attempts = [r for r in rows if r["event"] == "delivery_attempt"]
    assert attempts[0]["error"].startswith("SMTP 554") and attempts[1]["smtp_code"] == 250
    assert sleeps == [0.5]


def test_unreachable_smtp_server_is_undelivered(tmp_lake: Lake) -> None:
    channel = Channel("mail", "email", smtp_host="127.0.0.1", smtp_port=9, to=("a@b.c",),
                      timeout_seconds=1)  # fmt: skip
    assert not _send(tmp_lake, _config(channel, retries=1), "alert-5", [])
    events = [r["event"] for r in _events(tmp_lake, "alert-5")]
    assert events == ["delivery_attempt", "delivery_attempt", "undelivered"]
