"""``codex-metrics lake``: inspect and maintain the Delta lake."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from codex_metrics.cli.options import (
    DATA_FORMATS,
    AsOfOption,
    DataFormatOption,
    LakeOption,
    OutputOption,
    open_lake,
    open_snapshot,
    parse_choice,
    settings_for,
)
from codex_metrics.cli.output import emit_rows, progress, spinner, write_text
from codex_metrics.errors import LakeCorruptError

app = typer.Typer(
    rich_markup_mode=None,
    help="Inspect and maintain the lake.\n\nExample: codex-metrics lake info",
    no_args_is_help=True,
)


@app.command("info")
def info(
    output_format: DataFormatOption = "table",
    output: OutputOption = None,
    as_of: AsOfOption = None,
    lake: LakeOption = None,
) -> None:
    """Tables with their version, files, rows, date range and last update per source.

    Reads only the transaction logs: works even when a data file is damaged.

    Example: codex-metrics lake info --lake ./codex-metrics-lake --format json
    """
    parse_choice(output_format, "--format", DATA_FORMATS)
    snapshot = open_snapshot(lake, source="all", as_of=as_of)
    rows = [i.to_dict() for i in snapshot.lake.info(snapshot=snapshot)]
    world = snapshot.world
    document = {
        "lake": str(snapshot.lake.root),
        "snapshot": snapshot.to_dict(),
        "simulated_world": None if world is None else world.to_dict(),
        "tables": rows,
    }
    title = f"lake {snapshot.lake.root} (snapshot {snapshot.key})"
    emit_rows(
        rows,
        output_format,
        output,
        title=title,
        document=document,
        right=("version", "files", "rows"),
    )


@app.command("history")
def history(
    table: Annotated[str, typer.Argument(help="Table name (see `lake info`).")],
    limit: Annotated[
        int | None, typer.Option(help="Show the newest N versions only.", show_default=False)
    ] = None,
    output_format: DataFormatOption = "table",
    output: OutputOption = None,
    lake: LakeOption = None,
) -> None:
    """Versions of a table: time, operation, source, scope, rows added and removed.

    Example: codex-metrics lake history suggestions --limit 10
    """
    parse_choice(output_format, "--format", DATA_FORMATS)
    rows = [c.to_dict() for c in open_lake(lake).history(table, limit=limit)]
    emit_rows(rows, output_format, output, title=f"{table}: {len(rows)} version(s)")


@app.command("check")
def check(as_of: AsOfOption = None, lake: LakeOption = None) -> None:
    """Read every data file of the snapshot; name the missing or corrupt ones (exit code 2).

    Example: codex-metrics lake check --lake ./codex-metrics-lake
    """
    snapshot = open_snapshot(lake, source="all", as_of=as_of)
    with spinner("reading every data file"):
        problems = snapshot.lake.check(snapshot=snapshot)
    files = sum(len(t.files) for t in snapshot.tables.values())
    if not problems:
        typer.echo(f"ok: {files} data file(s) of {len(snapshot.versions)} table(s) read")
        return
    for p in problems[1:]:
        typer.echo(f"{p}", err=True)
    first = problems[0]
    raise LakeCorruptError(first.table, first.file, f"{first.problem} ({len(problems)} in all)")


@app.command("vacuum")
def vacuum(
    retain_hours: Annotated[
        float, typer.Option("--retain-hours", help="Keep unreferenced files younger than this.")
    ] = 168,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run/--no-dry-run", help="List what would be removed; remove nothing."),
    ] = False,
    lake: LakeOption = None,
) -> None:
    """Delete files no version needs any more (and crashed writers' files) past the retention.

    Versions the simulated world and stored analyses name are kept, so they stay readable.

    Example: codex-metrics lake vacuum --retain-hours 24 --dry-run
    """
    with spinner("vacuuming"):
        report = open_lake(lake).vacuum(retain_hours=retain_hours, dry_run=dry_run)
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
    with spinner("compacting"):
        done = open_lake(lake).compact()
    for table, n in done.items():
        typer.echo(f"{table}: merged {n} file(s)")
    typer.echo(f"compacted {len(done)} table(s)")


@app.command("migrate")
def migrate(lake: LakeOption = None) -> None:
    """Convert a lake of the previous layout (plain Parquet folders) to Delta tables, in place.

    The original files are kept until every table is converted.

    Example: codex-metrics lake migrate --lake ./codex-metrics-lake
    """
    from codex_metrics.lake import migrate_lake

    with progress("converting files") as update:
        report = migrate_lake(
            settings_for(lake=lake).lake_path, on_progress=lambda d, t: update(d, t)
        )
    typer.echo(report.summary())


@app.command("forget")
def forget(
    people: Annotated[
        list[str], typer.Argument(help="Logins (or emails, ids) of the people to forget.")
    ],
    output_format: DataFormatOption = "table",
    output: OutputOption = None,
    lake: LakeOption = None,
) -> None:
    """Delete a person's rows from every table and its history, and from the raw archives.

    The login is hashed with the lake's pseudonym key (privacy.py) into the id the tables
    store; versions older than this command can no longer be read in full (docs/privacy.md).

    Example: codex-metrics lake forget octocat
    """
    from codex_metrics.privacy import KEY_FILE, Pseudonymiser, lake_key
    from codex_metrics.telemetry.ingest import forget_in_archives
    from codex_metrics.telemetry.ingest.archive import RAW_DIR

    parse_choice(output_format, "--format", DATA_FORMATS)
    opened = open_lake(lake)
    settings = settings_for(lake=lake)
    ids = {p.strip() for p in people if p.strip()}  # stored in clear when identities are
    if (opened.hidden_dir / KEY_FILE).is_file() or settings.pseudonym_key:
        key = lake_key(settings, opened.hidden_dir).key
        ids |= {Pseudonymiser(key)(p) for p in people if p.strip()}
    with spinner("forgetting"):
        report = opened.forget(ids)
        records = forget_in_archives(opened.hidden_dir / RAW_DIR, people)
    rows = [
        {
            "table": t,
            "rows_removed": n,
            "files_rewritten": report.files_rewritten.get(t, 0),
            "history_files_deleted": report.history_files_deleted.get(t, 0),
        }
        for t, n in sorted(report.rows_removed.items())
    ]
    document = {**report.to_dict(), "archive_records_removed": records}
    emit_rows(rows, output_format, output, title=f"forgot {len(people)} person(s)",
              columns=("table", "rows_removed", "files_rewritten", "history_files_deleted"),
              document=document)  # fmt: skip
    if output_format == "table":
        typer.echo(f"removed {report.rows} row(s) and {records} raw archive record(s)", err=True)


@app.command("docs")
def docs(
    output_dir: Annotated[
        Path, typer.Option(help="Directory for schema.md and simulator.md.")
    ] = Path("docs"),
) -> None:
    """Regenerate docs/schema.md and docs/simulator.md from the code.

    Example: codex-metrics lake docs --output-dir docs
    """
    from codex_metrics.lake.schema_docs import render_schema_markdown
    from codex_metrics.telemetry.simulator_docs import render_simulator_markdown

    write_text(output_dir / "schema.md", render_schema_markdown())
    write_text(output_dir / "simulator.md", render_simulator_markdown())
    typer.echo(f"wrote {output_dir / 'schema.md'} and {output_dir / 'simulator.md'}")
