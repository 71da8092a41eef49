"""Serving the dashboard: ``streamlit run`` of the app in the foreground, on loopback by default.

Streamlit's usage statistics are off, the file watcher is off (nothing to reload in production),
the toolbar is minimal, and a host other than loopback is refused unless authentication is
configured (Streamlit's OIDC login, ``[auth]`` in ``.streamlit/secrets.toml``) or the caller
explicitly asks for none. The lake reaches the app through ``CODEX_METRICS_LAKE``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from codex_metrics.errors import ConfigError

__all__ = ["LOOPBACK", "auth_configured", "check_host", "serve_command", "wait_until_healthy"]

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def auth_configured(cwd: Path | None = None) -> bool:
    """Whether Streamlit's OIDC login is configured (an ``[auth]`` section in its secrets)."""
    import tomllib

    for folder in (cwd or Path.cwd(), Path.home()):
        secrets = folder / ".streamlit" / "secrets.toml"
        try:
            doc = tomllib.loads(secrets.read_text())
        except (OSError, tomllib.TOMLDecodeError):
            continue
        if isinstance(doc.get("auth"), dict) and doc["auth"]:
            return True
    return False


def check_host(host: str, *, no_auth: bool) -> None:
    """Refuse to serve beyond loopback without authentication (unless ``no_auth``).

    Raises:
        ConfigError: saying how to configure login, or that ``--no-auth`` opens it to anyone.
    """
    if host in LOOPBACK or no_auth or auth_configured():
        return
    raise ConfigError(
        f"--host {host}: the dashboard would be open to anyone who can reach this machine. "
        "Configure login ([auth] in .streamlit/secrets.toml, see docs/deploy.md) or pass "
        "--no-auth to serve it without one"
    )


def serve_command(app_file: Path, *, host: str, port: int) -> list[str]:
    """The ``streamlit run`` command line."""
    return [
        sys.executable,
        "-m",
        "codex_metrics.dashboard.server",
        "run",
        str(app_file),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "minimal",
        "--theme.base",
        "light",
    ]


def wait_until_healthy(url: str, *, timeout_s: float = 60.0) -> bool:
    """Poll ``/_stcore/health`` until the server answers ``ok``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def serve(app_file: Path, lake: Path, *, host: str, port: int) -> int:
    """Run the server in the foreground until interrupted; returns its exit code."""
    env = {
        **os.environ,
        "CODEX_METRICS_LAKE": str(lake),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    proc = subprocess.Popen(serve_command(app_file, host=host, port=port), env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        try:
            return proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()


#: Imported by the server process before it listens, so a session's first render does not pay
#: for them (the app runs in the server's process: modules stay in ``sys.modules``).
WARM_MODULES = (
    "duckdb",
    "ibis",
    "ibis.backends.duckdb",
    "deltalake",
    "plotly.graph_objects",
    "codex_metrics.lake",
    "codex_metrics.metrics.compute",
    "codex_metrics.charts.rows",
)


#: Seconds the server may spend rendering the default page before it listens (0: skip it).
WARM_RENDER_SECONDS = float(os.environ.get("CODEX_METRICS_DASHBOARD_WARM_SECONDS", "120"))


def _warm_render(app_file: str) -> None:
    """Render the app's default page once, headless, before listening.

    Streamlit's caches (``st.cache_data``, ``st.cache_resource``) belong to the process, not to
    a session, so the snapshot, the filter values and the Overview's queries computed here are
    what the first visitor's session reads: a fresh server answers its first visitor as fast
    as a warm one (the server takes that much longer to start). Nothing here writes to the lake;
    a failure or a time-out only costs the first visitor the time.
    """
    lake = os.environ.get("CODEX_METRICS_LAKE")
    if WARM_RENDER_SECONDS <= 0 or not lake or not (Path(lake) / "_lake.json").exists():
        return
    try:
        from streamlit.testing.v1 import AppTest

        print("codex-metrics: reading the lake for the first page...", file=sys.stderr)
        AppTest.from_file(app_file, default_timeout=WARM_RENDER_SECONDS).run()
    except Exception:  # noqa: BLE001 - a warm-up failure only costs the first visitor time
        return


def main() -> None:
    """Streamlit's CLI after importing :data:`WARM_MODULES` and one headless render.

    Usage: ``python -m codex_metrics.dashboard.server run APP [streamlit options]``.
    """
    import importlib

    for name in WARM_MODULES:
        importlib.import_module(name)
    if len(sys.argv) > 2 and sys.argv[1] == "run":
        _warm_render(sys.argv[2])
    from streamlit.web.cli import main as streamlit_main

    sys.argv = ["streamlit", *sys.argv[1:]]
    streamlit_main()


if __name__ == "__main__":
    main()
