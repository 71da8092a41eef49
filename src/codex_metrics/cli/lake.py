"""``codex-metrics lake``: inspect and maintain the Parquet lake."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from codex_metrics.cli.options import FormatOption, LakeOption, parse_choice, settings_for
from codex_metrics.cli.output import console
from codex_metrics.lake import Lake
from codex_metrics.telemetry.schema_docs import render_schema_markdown, render_simulator_markdown

app = typer.Typer(
    help="Inspect and maintain the lake.\n\nExample: codex-metrics lake info", no_args_is_help=True
)


@app.command("info")
def info(lake: LakeOption = None, output_format: FormatOption = "table") -> None:
    """Tables, rows, date range and last update per source.

    Example: codex-metrics lake info --lake ./codex-metrics-lake --format json
    """
    parse_choice(output_format, "--format", ("table", "json"))
    opened = Lake.open(settings_for(lake=lake).lake_path, create=False)
    infos = opened.info()
    if output_format == "json":
        rows = [
            {
                "table": i.name,
                "files": i.files,
                "rows": i.rows,
                "first_day": i.first_day and i.first_day.isoformat(),
                "last_day": i.last_day and i.last_day.isoformat(),
                "last_update_by_source": {
                    k: v.isoformat() for k, v in i.last_update_by_source.items()
                },
            }
            for i in infos
        ]
        typer.echo(json.dumps({"lake": str(opened.root), "tables": rows}, indent=2))
        return
    table = Table(title=f"lake {opened.root}")
    for col in ("table", "files", "rows", "first day", "last day", "last update by source"):
        table.add_column(col, justify="right" if col in ("files", "rows") else "left")
    for i in infos:
        updates = ", ".join(
            f"{k} {v:%Y-%m-%d %H:%M}" for k, v in sorted(i.last_update_by_source.items())
        )
        table.add_row(
            i.name,
            str(i.files),
            f"{i.rows:,}",
            str(i.first_day or "-"),
            str(i.last_day or "-"),
            updates or "-",
        )
    console().print(table)


@app.command("vacuum")
def vacuum(lake: LakeOption = None) -> None:
    """Remove staging leftovers of crashed writers and empty partition folders.

    Example: codex-metrics lake vacuum --lake ./codex-metrics-lake
    """
    removed = Lake.open(settings_for(lake=lake).lake_path, create=False).vacuum()
    typer.echo(f"removed {removed} leftover item(s)")


@app.command("docs")
def docs(
    output_dir: Annotated[
        Path, typer.Option(help="Directory for schema.md and simulator.md.")
    ] = Path("docs"),
) -> None:
    """Regenerate docs/schema.md and docs/simulator.md from the code.

    Example: codex-metrics lake docs --output-dir docs
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "schema.md").write_text(render_schema_markdown())
    (output_dir / "simulator.md").write_text(render_simulator_markdown())
    typer.echo(f"wrote {output_dir / 'schema.md'} and {output_dir / 'simulator.md'}")
