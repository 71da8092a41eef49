"""``codex-metrics dashboard``: serve the Streamlit dashboard over a lake (or a demo lake)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from codex_metrics.cli.options import LakeOption, settings_for
from codex_metrics.cli.output import progress

__all__ = ["dashboard"]

DEMO_LAKE = Path("codex-metrics-demo")


def dashboard(
    demo: Annotated[
        bool,
        typer.Option(
            "--demo/--no-demo",
            help="Build a demo world in its own lake (./codex-metrics-demo) and serve it.",
        ),
    ] = False,
    port: Annotated[int, typer.Option("--port", help="Port to serve on.")] = 8501,
    host: Annotated[
        str, typer.Option("--host", help="Address to serve on (loopback unless login is set up).")
    ] = "127.0.0.1",
    no_auth: Annotated[
        bool,
        typer.Option(
            "--no-auth/--auth", help="Serve beyond loopback without login (anyone can read it)."
        ),
    ] = False,
    lake: LakeOption = None,
) -> None:
    """Serve the dashboard in the foreground and print its URL (Ctrl-C stops it).

    With --demo, first builds a demo world (adoption rollout, an A/B test of two model versions,
    a latency regression, survey rounds, and eval runs of real model outputs) in its own lake.

    Example: codex-metrics dashboard --demo
    """
    from codex_metrics.dashboard import APP_FILE
    from codex_metrics.dashboard.server import check_host, serve

    check_host(host, no_auth=no_auth)
    if demo:
        from codex_metrics.dashboard.demo import build_demo

        root = lake or DEMO_LAKE
        with progress("building the demo world") as update:
            built = build_demo(
                root, on_progress=lambda done, total, what: update(done, total, what)
            )
        typer.echo(built.summary())
    else:
        root = settings_for(lake=lake).lake_path
    url = f"http://{host}:{port}"
    typer.echo(f"dashboard: {url}  (lake {Path(root).absolute()}; Ctrl-C stops it)")
    raise typer.Exit(serve(APP_FILE, Path(root).absolute(), host=host, port=port))
