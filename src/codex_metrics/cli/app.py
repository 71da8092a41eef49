"""The ``codex-metrics`` command: a root Typer app with one sub-app per command group.

Every command parses its options, calls one library function and renders the result. Errors
the library raises on purpose become one line on stderr and exit code 2 (docs/cli.md lists the
codes); a query engine failing on a damaged lake file names the table and file instead of
printing a traceback. Command modules import no data library at module level, so ``--help``
answers at once.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from codex_metrics.cli import ab as ab_cmd
from codex_metrics.cli import alerts as alerts_cmd
from codex_metrics.cli import annotate as annotate_cmd
from codex_metrics.cli import collect as collect_cmd
from codex_metrics.cli import dashboard as dashboard_cmd
from codex_metrics.cli import evaluate as evaluate_cmd
from codex_metrics.cli import ingest as ingest_cmd
from codex_metrics.cli import lake as lake_cmd
from codex_metrics.cli import metrics as metrics_cmd
from codex_metrics.cli import productivity as productivity_cmd
from codex_metrics.cli import simulate as simulate_cmd
from codex_metrics.cli.exit_codes import ExitCode
from codex_metrics.cli.state import STATE
from codex_metrics.errors import CodexMetricsError

__all__ = ["CONTEXT_SETTINGS", "app", "main"]

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
_ENGINE_MODULES = ("duckdb", "_duckdb", "pyspark", "py4j")


def _explained(exc: BaseException) -> CodexMetricsError | None:
    """A library error for an engine's failure on a lake data file, else ``None``."""
    if type(exc).__module__.split(".")[0] not in _ENGINE_MODULES:
        return None
    from codex_metrics.lake import explain_read_error

    return explain_read_error(exc)


class _Commands(TyperGroup):
    """The root group: turns library errors into one line and an exit code, in any caller."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except CodexMetricsError as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(ExitCode.USAGE) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None
        except Exception as exc:
            explained = _explained(exc)
            if explained is None:
                raise
            typer.echo(f"Error: {explained}", err=True)
            raise typer.Exit(ExitCode.USAGE) from None


app = typer.Typer(
    rich_markup_mode=None,
    name="codex-metrics",
    cls=_Commands,
    help="Measure AI coding assistants: simulate or ingest telemetry, compute metrics, "
    "analyse experiments, evaluate code.\n\nExample: codex-metrics simulate --developers 500 --days 30",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings=CONTEXT_SETTINGS,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"codex-metrics {version('codex-metrics')}")
        raise typer.Exit()


@app.callback()
def root(
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print results only: no progress, no notes.")
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="Also show engine logs (Spark's JVM output)."),
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Settings file (default: ./codex-metrics.toml, then the user config folder).",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Measure AI coding assistants (options that apply to every command)."""
    if config is not None and not config.is_file():
        raise typer.BadParameter(f"{config} is not a file", param_hint="--config")
    STATE.reset(quiet=quiet, verbose=verbose, config=config)


@app.command("docs")
def docs(
    output_dir: Annotated[
        Path, typer.Option("--output-dir", help="Folder of the generated documents.")
    ] = Path("docs"),
) -> None:
    """Regenerate every generated document: cli.md, schema.md, simulator.md and metrics.md.

    Example: codex-metrics docs --output-dir docs
    """
    from codex_metrics.cli.output import write_text
    from codex_metrics.cli.reference import render_cli_markdown
    from codex_metrics.lake.schema_docs import render_schema_markdown
    from codex_metrics.metrics import render_metrics_markdown
    from codex_metrics.metrics.index import INDEX_FILE, render_catalogue_index
    from codex_metrics.telemetry.simulator_docs import render_simulator_markdown

    write_text(output_dir / "cli.md", render_cli_markdown(app))
    write_text(output_dir / "schema.md", render_schema_markdown())
    write_text(output_dir / "simulator.md", render_simulator_markdown())
    write_text(output_dir / "metrics.md", render_metrics_markdown())
    write_text(INDEX_FILE, render_catalogue_index())
    typer.echo(f"wrote cli.md, schema.md, simulator.md and metrics.md in {output_dir}")


app.command("simulate")(simulate_cmd.simulate)
app.command("summary")(simulate_cmd.summary)
app.command("dashboard")(dashboard_cmd.dashboard)
app.command("annotate")(annotate_cmd.annotate)
app.command("productivity")(productivity_cmd.productivity)
app.add_typer(lake_cmd.app, name="lake")
app.add_typer(metrics_cmd.app, name="metrics")
app.add_typer(ab_cmd.app, name="ab")
app.add_typer(alerts_cmd.app, name="alerts")
app.add_typer(evaluate_cmd.app, name="eval")
app.add_typer(ingest_cmd.app, name="ingest")
app.add_typer(collect_cmd.app, name="collect")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``codex-metrics`` script."""
    try:
        app(args=argv, standalone_mode=True)
    except CodexMetricsError as exc:  # raised outside a command (e.g. while parsing)
        typer.echo(f"Error: {exc}", err=True)
        sys.exit(ExitCode.USAGE)
