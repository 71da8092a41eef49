"""The dashboard in a real headless Chromium (Debian's package, driven by Playwright).

Every page is visited; its Plotly charts must be drawn with their titles; a filter is changed in
the page and the KPI follows to the library's value; a CSV is downloaded and compared with the
result envelope's; no page logs an error and no request leaves 127.0.0.1. Screenshots of every
page land in docs/screenshots/ when ``CODEX_METRICS_SCREENSHOTS`` is set (scripts/screenshots).
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from codex_metrics.dashboard.app import PAGES
from codex_metrics.lake import Lake
from codex_metrics.metrics import compute_metric

from .browser import CHROMIUM, CHROMIUM_ARGS, served, wait_rendered

pytestmark = [pytest.mark.slow, pytest.mark.browser]
SHOTS = os.environ.get("CODEX_METRICS_SCREENSHOTS")


@pytest.fixture(scope="module")
def browser_page(dash_lake: Lake):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: scripts/setup installs Debian's chromium package")
    with served(dash_lake.root) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 1400, "height": 2400}, accept_downloads=True
        )
        page = context.new_page()
        errors: list[str] = []
        requests: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("request", lambda r: requests.append(r.url))
        yield url, page, errors, requests
        browser.close()


def test_every_page_draws_its_charts(browser_page) -> None:  # type: ignore[no-untyped-def]
    url, page, errors, requests = browser_page
    page.goto(f"{url}/", wait_until="domcontentloaded")
    wait_rendered(page)
    for title, name, _ in PAGES:
        # Through the sidebar, as a person does (a deep link makes Streamlit probe the
        # page's path for its health endpoint first, a 404 it then recovers from).
        page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
        page.wait_for_function(
            "t => document.querySelector('[data-testid=\"stMain\"] h1')?.textContent === t",
            arg=title,
            timeout=120_000,
        )
        wait_rendered(page, charts=name not in ("freshness", "community"))
        heading = page.locator('[data-testid="stMain"] h1').first.text_content() or ""
        assert title.split(" ")[0].lower() in heading.lower(), (name, heading)
        charts = page.locator('[data-testid="stPlotlyChart"]')
        if name not in ("freshness", "community"):
            assert charts.count() >= 1, name
            first_title = charts.first.locator(".gtitle").text_content() or ""
            assert first_title.strip(), f"{name}: a chart without a title"
            traces = charts.first.locator(
                ".scatterlayer .trace, .barlayer .trace, .pielayer .trace"
            )
            assert traces.count() >= 1, name
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))
    assert not errors, errors[:5]
    outside = [r for r in requests if urlsplit(r).hostname not in ("127.0.0.1", None)]
    assert outside == [], outside[:5]


def test_a_filter_in_the_page_changes_the_kpi(browser_page, dash_lake: Lake) -> None:  # type: ignore[no-untyped-def]
    url, page, errors, _ = browser_page
    page.goto(f"{url}/", wait_until="domcontentloaded")
    wait_rendered(page)
    language = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Language")
    language.locator("input").first.click()
    page.keyboard.type("python")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.wait_for_function("() => location.search.includes('language=python')", timeout=60_000)
    wait_rendered(page)
    assert "language=python" in page.url
    days = sorted(dash_lake.snapshot().days("suggestions"))
    since, until = max(days[0], date.fromordinal(days[-1].toordinal() - 27)), days[-1]
    expected = compute_metric(
        "usage_completion_acceptance_rate_by_count", dash_lake.snapshot(), grain="all",
        since=since, until=until, filters={"language": ["python"]},
    ).records()[0]["value"]  # fmt: skip
    kpi = page.locator('[data-testid="stMetric"]').filter(has_text="Acceptance").first
    assert f"{expected:.1%}" in (kpi.text_content() or "")
    assert not errors, errors[:5]


def test_a_chart_downloads_exactly_its_rows(browser_page, dash_lake: Lake) -> None:  # type: ignore[no-untyped-def]
    url, page, _, _ = browser_page
    page.goto(f"{url}/adoption", wait_until="domcontentloaded")
    wait_rendered(page)
    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").first.click()
    text = Path(info.value.path()).read_text()
    days = sorted(dash_lake.snapshot().days("suggestions"))
    since, until = max(days[0], date.fromordinal(days[-1].toordinal() - 27)), days[-1]
    envelope = compute_metric("daily_active_users", dash_lake.snapshot(), since=since, until=until)
    assert text == envelope.to_csv()
    assert text.splitlines()[0].endswith("null_reason")
