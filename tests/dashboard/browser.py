"""Helpers of the browser tests: serve the dashboard on a free port, drive Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from codex_metrics.dashboard import APP_FILE
from codex_metrics.dashboard.server import serve_command, wait_until_healthy

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(lake: Path) -> Iterator[str]:
    """The dashboard over ``lake`` on 127.0.0.1, stopped (by its PID) at the end."""
    with served_app(APP_FILE, lake) as url:
        yield url


@contextmanager
def served_app(app: Path, lake: Path | None) -> Iterator[str]:
    """Any Streamlit app file on a free loopback port (the lake in ``CODEX_METRICS_LAKE``)."""
    port = free_port()
    env = {**os.environ}
    if lake is not None:
        env["CODEX_METRICS_LAKE"] = str(lake)
    proc = subprocess.Popen(
        serve_command(app, host="127.0.0.1", port=port),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_until_healthy(url, timeout_s=90):
            proc.kill()
            raise RuntimeError(f"dashboard did not start: {proc.stderr.read().decode()[-2000:]}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_rendered(page: Any, *, charts: bool = True) -> None:
    """Wait until the script finished and (when expected) a Plotly chart is drawn."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]',
                           timeout=120_000)  # fmt: skip
    if charts:
        page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=120_000)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]',
                           timeout=120_000)  # fmt: skip
