"""``codex-metrics lake``: inspect and maintain the Delta lake."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from codex_metrics.cli.options import (
    AsOfOption,
    FormatOption,
    LakeOption,
    open_snapshot,
    parse_choice,
    settings_for,
)
from codex_metrics.cli.output import console
from codex_metrics.errors import LakeCorruptError
from codex_metrics.lake import Lake
from codex_metrics.lake.schema_docs import render_schema_markdown
from codex_metrics.telemetry.simulator_docs import render_simulator_markdown

app = typer.Typer(
    help="Inspect and maintain the lake.\n\nExample: codex-metrics lake info", no_args_is_help=True
)


def _print_rows(rows: list[dict[str, Any]], output_format: str, title: str) -> None:
    if output_format == "json":
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    if output_format == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else [], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        typer.echo(buf.getvalue(), nl=False)
        return
    table = Table(title=title)
    for col in rows[0] if rows else []:
        table.add_column(col, justify="right" if col in ("version", "files", "rows") else "left")
    for row in rows:
        table.add_row(*("-" if v is None or v == "" else str(v) for v in row.values()))
    console().print(table)


@app.command("info")
def info(
    lake: LakeOption = None, output_format: FormatOption = "table", as_of: AsOfOption = None
) -> None:
    """Tables with their version, files, rows, date range and last update per source.

    Example: codex-metrics lake info --lake ./codex-metrics-lake --format json
    """
    parse_choice(output_format, "--format", ("table", "csv", "json"))
    snapshot = open_snapshot(lake, source="all", as_of=as_of)
    rows = [
        {
            "table": i.name,
            "version": i.version,
            "files": i.files,
            "rows": i.rows,
            "first_day": i.first_day and i.first_day.isoformat(),
            "last_day": i.last_day and i.last_day.isoformat(),
            "last_update_by_source": ", ".join(
                f"{k} {v:%Y-%m-%d %H:%M}" for k, v in sorted(i.last_update_by_source.items())
            ),
        }
        for i in snapshot.lake.info(snapshot=snapshot)
    ]
    if output_format == "json":
        world = snapshot.world
        doc = {
            "lake": str(snapshot.lake.root),
            "snapshot": snapshot.to_dict(),
            "simulated_world": None
            if world is None
            else {"run_id": world.run_id, "table_versions": dict(world.versions)},
            "tables": rows,
        }
        typer.echo(json.dumps(doc, indent=2, default=str))
        return
    _print_rows(rows, output_format, f"lake {snapshot.lake.root} (snapshot {snapshot.key})")


@app.command("history")
def history(
    table: Annotated[str, typer.Argument(help="Table name (see `lake info`).")],
    limit: Annotated[int | None, typer.Option(help="Show the newest N versions only.")] = None,
    lake: LakeOption = None,
    output_format: FormatOption = "table",
) -> None:
    """Versions of a table: time, operation, source, scope, rows added and removed.

    Example: codex-metrics lake history suggestions --limit 10
    """
    parse_choice(output_format, "--format", ("table", "csv", "json"))
    opened = Lake.open(settings_for(lake=lake).lake_path, create=False)
    rows = [c.to_dict() for c in opened.history(table, limit=limit)]
    _print_rows(rows, output_format, f"{table}: {len(rows)} version(s)")


@app.command("check")
def check(lake: LakeOption = None, as_of: AsOfOption = None) -> None:
    """Read every data file of the snapshot; name the missing or corrupt ones (exit code 2).

    Example: codex-metrics lake check --lake ./codex-metrics-lake
    """
    snapshot = open_snapshot(lake, source="all", as_of=as_of)
    problems = snapshot.lake.check(snapshot=snapshot)
    files = sum(len(t.files) for t in snapshot.tables.values())
    if not problems:
        typer.echo(f"ok: {files} data file(s) of {len(snapshot.versions)} table(s) read")
        return
    for p in problems:
        typer.echo(f"{p}", err=True)
    first = problems[0]
    raise LakeCorruptError(first.table, first.file, f"{first.problem} ({len(problems)} in all)")


@app.command("vacuum")
def vacuum(
    lake: LakeOption = None,
    retain_hours: Annotated[
        float, typer.Option("--retain-hours", help="Keep unreferenced files younger than this.")
    ] = 168,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be removed; remove nothing.")
    ] = False,
) -> None:
    """Delete files no version needs any more (and crashed writers' files) past the retention.

    Versions the simulated world and stored analyses name are kept, so they stay readable.

    Example: codex-metrics lake vacuum --retain-hours 24 --dry-run
    """
    opened = Lake.open(settings_for(lake=lake).lake_path, create=False)
    report = opened.vacuum(retain_hours=retain_hours, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for table, files in report.removed.items():
        if files:
            typer.echo(f"{table}: {verb} {len(files)} file(s)")
    for table, why in report.skipped.items():
        typer.echo(f"{table}: skipped ({why})", err=True)
    typer.echo(f"{verb} {report.files} file(s) in all")


@app.command("compact")
def compact(lake: LakeOption = None) -> None:
    """Merge the small files collectors leave (per day, source and scope); numbers never change.

    Example: codex-metrics lake compact
    """
    opened = Lake.open(settings_for(lake=lake).lake_path, create=False)
    done = opened.compact()
    for table, n in done.items():
        typer.echo(f"{table}: merged {n} file(s)")
    typer.echo(f"compacted {len(done)} table(s)")


@app.command("migrate")
def migrate(lake: LakeOption = None) -> None:
    """Convert a lake of the previous layout (plain Parquet folders) to Delta tables, in place.

    The original files are kept until every table is converted.

    Example: codex-metrics lake migrate --lake ./codex-metrics-lake
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from codex_metrics.lake import migrate_lake

    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("converting files", total=None)

        def report_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = migrate_lake(settings_for(lake=lake).lake_path, on_progress=report_progress)
    typer.echo(report.summary())


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
