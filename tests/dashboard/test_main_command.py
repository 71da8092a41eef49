"""The README's main command (scripts/run) builds the demo and serves a working dashboard."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from codex_metrics.dashboard.server import wait_until_healthy

from .browser import CHROMIUM, CHROMIUM_ARGS, free_port, wait_rendered

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_scripts_run_serves_the_overview(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    port = free_port()
    lake = tmp_path / "demo"
    proc = subprocess.Popen(
        [str(ROOT / "scripts" / "run"), "--lake", str(lake), "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_until_healthy(url, timeout_s=600), proc.stdout.read().decode()[-3000:]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.goto(url + "/", wait_until="domcontentloaded")
            wait_rendered(page)
            heading = page.locator('[data-testid="stMain"] h1').first.text_content()
            kpis = page.locator('[data-testid="stMetric"]').count()
            browser.close()
        assert heading == "Overview" and kpis == 5
        assert (lake / "_lake.json").exists()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # stop the server by its PID (and its group)
        proc.wait(timeout=30)
    out = proc.stdout.read().decode()
    assert f"dashboard: {url}" in out and "demo lake" in out
