"""The ``codex-metrics`` command: a root Typer app with one sub-app per command group.

Library errors become one line on stderr and exit code 2; no traceback.
"""

from __future__ import annotations

import sys

import typer

from codex_metrics.cli import ab as ab_cmd
from codex_metrics.cli import evaluate as evaluate_cmd
from codex_metrics.cli import lake as lake_cmd
from codex_metrics.cli import metrics as metrics_cmd
from codex_metrics.cli import simulate as simulate_cmd
from codex_metrics.errors import CodexMetricsError

app = typer.Typer(
    name="codex-metrics",
    help="Measure AI coding assistants: simulate or ingest telemetry, compute metrics, "
    "analyse experiments, evaluate code.\n\nExample: codex-metrics simulate --developers 500 --days 30",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("simulate")(simulate_cmd.simulate)
app.command("summary")(simulate_cmd.summary)
app.add_typer(lake_cmd.app, name="lake")
app.add_typer(metrics_cmd.app, name="metrics")
app.add_typer(ab_cmd.app, name="ab")
app.add_typer(evaluate_cmd.app, name="eval")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``codex-metrics`` script."""
    try:
        app(args=argv, standalone_mode=True)
    except CodexMetricsError as exc:
        typer.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except Exception as exc:
        # A query engine failing on a lake data file: name the table and file, not a traceback.
        if type(exc).__module__.split(".")[0] not in ("duckdb", "_duckdb", "pyspark", "py4j"):
            raise
        from codex_metrics.lake import explain_read_error

        explained = explain_read_error(exc)
        if explained is None:
            raise
        typer.echo(f"Error: {explained}", err=True)
        sys.exit(2)
