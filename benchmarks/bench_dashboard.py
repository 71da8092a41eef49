"""Dashboard speed in a real headless Chromium, against a minimal Streamlit + Plotly app.

Claims (issue 17): with 10 million events in the lake, our Overview's first chart appears within
1.5x the minimal two-page app's time cold (fresh server) and within 1.25x warm (a second load in
a new browser context), median of 5; page switches take under 1.5 s; with 100 million events
the Overview still renders within 3x the minimal app (pages read the daily tables, not raw
events, where a daily definition exists). Baseline: benchmarks/dashboard_minimal/app.py, one
Plotly line chart and two metrics per page, measured in the same run. The time from starting
each server to its first healthy answer is printed too: ours renders the Overview once, headless,
before it listens (``dashboard/server.py``), so its first visitor reads warm caches.

    python benchmarks/bench_dashboard.py --lake /tmp/lake10m [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.dashboard.browser import CHROMIUM, CHROMIUM_ARGS, served_app, wait_rendered  # noqa: E402

MINIMAL = Path(__file__).with_name("dashboard_minimal") / "app.py"


def first_chart_seconds(url: str, *, contexts: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for _ in range(contexts):
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            start = time.perf_counter()
            page.goto(url + "/", wait_until="domcontentloaded")
            page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=300_000)
            times.append(time.perf_counter() - start)
            page.context.close()
        browser.close()
    return times


def page_switches(url: str, titles: list[str]) -> list[float]:
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url + "/", wait_until="domcontentloaded")
        wait_rendered(page)
        for _ in range(2):  # the second round is what a person clicking around sees
            for title in titles:
                start = time.perf_counter()
                page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
                page.wait_for_function(
                    "t => document.querySelector('[data-testid=\"stMain\"] h1')?.textContent === t",
                    arg=title, timeout=300_000,
                )  # fmt: skip
                wait_rendered(page, charts=False)
                out.append(time.perf_counter() - start)
        browser.close()
    return out[len(titles) :]


def cold_and_warm(app: Path, lake: Path | None, repeat: int) -> tuple[float, float, float]:
    """Medians: first chart of a fresh server, of a second browser context, server start."""
    cold, warm, start = [], [], []
    for _ in range(repeat):
        started = time.perf_counter()
        with served_app(app, lake) as url:
            start.append(time.perf_counter() - started)
            first, second = first_chart_seconds(url, contexts=2)
        cold.append(first)
        warm.append(second)
    return statistics.median(cold), statistics.median(warm), statistics.median(start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lake", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from codex_metrics.dashboard import APP_FILE
    from codex_metrics.dashboard.app import PAGES
    from codex_metrics.lake import Lake

    events = Lake.open(args.lake, create=False).snapshot().tables["suggestions"]
    n = sum(f.rows or 0 for f in events.files)
    print(f"lake {args.lake}: {n:,} suggestion events")
    base_cold, base_warm, base_start = cold_and_warm(MINIMAL, None, args.repeat)
    ours_cold, ours_warm, ours_start = cold_and_warm(APP_FILE, args.lake, args.repeat)
    with served_app(APP_FILE, args.lake) as url:
        switches = page_switches(url, [t for t, _, _ in PAGES])
    print(f"{'first chart':24} {'minimal app':>12} {'Overview':>10} {'ratio':>7} target")
    print(
        f"{'cold (fresh server)':24} {base_cold:12.2f} {ours_cold:10.2f} {ours_cold / base_cold:7.2f} <= 1.5"
    )
    print(
        f"{'warm (new context)':24} {base_warm:12.2f} {ours_warm:10.2f} {ours_warm / base_warm:7.2f} <= 1.25"
    )
    print(
        f"{'server start to healthy':24} {base_start:12.2f} {ours_start:10.2f} "
        f"{ours_start / base_start:7.2f} (ours renders the Overview once before it listens)"
    )
    print(
        f"page switches: median {statistics.median(switches):.2f} s, max {max(switches):.2f} s (target < 1.5 s)"
    )


if __name__ == "__main__":
    main()
