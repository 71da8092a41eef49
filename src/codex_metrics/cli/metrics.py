"""``codex-metrics metrics``: list the catalogue, compute a metric, regenerate its docs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from codex_metrics.cli.options import (
    DATA_FORMATS,
    GRAINS,
    AsOfOption,
    ByOption,
    DataFormatOption,
    EngineOption,
    FilterOption,
    GrainOption,
    LakeOption,
    OutputOption,
    SinceOption,
    SourceOption,
    UntilOption,
    open_snapshot,
    parse_by,
    parse_choice,
    parse_day,
    parse_filters,
    settings_for,
)
from codex_metrics.cli.output import emit, emit_rows, print_table, spinner
from codex_metrics.cli.state import STATE

if TYPE_CHECKING:
    from codex_metrics.lake import LakeSnapshot
    from codex_metrics.metrics import MetricResult

app = typer.Typer(
    rich_markup_mode=None,
    help="The metric catalogue: list it, compute a metric.\n\n"
    "Example: codex-metrics metrics show acceptance_rate_by_count --by language --grain week",
    no_args_is_help=True,
)

_LIST_COLUMNS = ("name", "family", "unit", "basis", "grain", "kind", "description")


@app.command("list")
def list_(
    family: Annotated[
        str | None,
        typer.Option(
            help="Only this family: adoption, quality, performance, ...", show_default=False
        ),
    ] = None,
    output_format: DataFormatOption = "table",
    output: OutputOption = None,
) -> None:
    """List every metric with its unit, basis, grain and description (names never cut).

    Example: codex-metrics metrics list --family quality --format json
    """
    from codex_metrics.metrics.index import catalogue_index

    parse_choice(output_format, "--format", DATA_FORMATS)
    entries = catalogue_index(family)
    rows = [{c: e[c] for c in _LIST_COLUMNS} for e in entries]
    if output_format != "table":
        emit_rows(rows, output_format, output, document=entries)
        return
    print_table(_catalogue_table(rows), output)


def _catalogue_table(rows: list[dict[str, str]]) -> Table:
    """The catalogue as a table whose names are never cut (a name is what users type)."""
    table = Table(title=f"{len(rows)} metrics")
    width = max((len(r["name"]) for r in rows), default=4)
    table.add_column("name", no_wrap=True, min_width=width)
    for col in _LIST_COLUMNS[1:-1]:
        table.add_column(col, overflow="fold")
    table.add_column("description", overflow="fold", ratio=1)
    for r in rows:
        table.add_row(*(str(r[c]) for c in _LIST_COLUMNS))
    return table


def _table(result: MetricResult) -> Table:
    m = result.metric
    title = f"{m.name} ({m.unit}, by {m.basis}): {m.formula}"
    table = Table(title=title, caption=_caption(result))
    for col in result.columns:
        table.add_column(
            col, justify="right" if col in ("value", "numerator", "denominator", "n") else "left"
        )
    for rec in result.records():
        table.add_row(
            *(
                ""
                if rec[c] is None
                else f"{rec[c]:.6g}"
                if isinstance(rec[c], float)
                else str(rec[c])
                for c in result.columns
            )
        )
    return table


def _caption(result: MetricResult) -> str:
    if result.status == "unavailable":
        return f"unavailable: {result.reason}"
    gaps = ", ".join(d.isoformat() for d in result.gaps) or "none"
    snap = result.lake_snapshot
    sources = ", ".join(snap.get("sources", [])) or "none"
    note = f"{result.reason}; " if result.reason else ""
    partial = ", ".join(d.isoformat() for d in result.partial_periods)
    partial = f"; partial periods: {partial}" if partial else ""
    return (
        f"{note}engine {result.engine}; sources: {sources}; lake snapshot "
        f"{snap.get('hash', '-')}; gaps (days without data): {gaps}{partial}"
    )


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Metric name (see `metrics list`).")],
    by: ByOption = None,
    filters: FilterOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    grain: GrainOption = "day",
    output_format: DataFormatOption = "table",
    output: OutputOption = None,
    engine: EngineOption = None,
    source: SourceOption = None,
    as_of: AsOfOption = None,
    lake: LakeOption = None,
    min_group_size: Annotated[
        int | None,
        typer.Option(
            "--min-group-size",
            help="Withhold rows of fewer developers (null_reason too_few_users); default 5 "
            "([privacy] min_group_size) when real sources are read, 0 for a simulated world.",
            show_default=False,
            min=0,
        ),
    ] = None,
    exclude_weekends: Annotated[
        bool,
        typer.Option(
            "--exclude-weekends",
            help="Drop Saturdays and Sundays (UTC days) before aggregating; weekend days are "
            "then never reported as gaps.",
        ),
    ] = False,
) -> None:
    """Compute one metric and print the result envelope (rows, null reasons, gaps, metadata).

    An empty result says why (no data in the window, a filter that matched nothing, an empty
    source table) and which command fills it.

    Example: codex-metrics metrics show acceptance_rate_by_count --by language --filter editor=vscode --since 2025-03-03 --grain week --format json
    """
    from codex_metrics.metrics import compute_metric, get_metric, open_engine

    parse_choice(output_format, "--format", DATA_FORMATS)
    parse_choice(grain, "--grain", GRAINS)
    get_metric(name)  # an unknown name fails before the lake is opened
    settings = settings_for(lake=lake, engine=engine)
    snapshot = open_snapshot(lake, source=source, as_of=as_of)
    with spinner(f"computing {name}"):
        query_engine = open_engine(snapshot, settings.engine, verbose=STATE.verbose)
        result = compute_metric(
            name,
            snapshot,
            since=parse_day(since, "--since"),
            until=parse_day(until, "--until"),
            grain=grain,
            by=parse_by(by),
            filters=parse_filters(filters),
            engine=query_engine,
            check_filters=True,
            min_group_size=_group_size(min_group_size, settings.min_group_size, snapshot, name),
            params={"seat_prices": dict(settings.seat_prices)},
            exclude_weekends=exclude_weekends,
        )
    if output_format == "json":
        emit(result.to_json(), output)
    elif output_format == "csv":
        emit(result.to_csv(), output)
    else:
        print_table(_table(result), output)
    if result.status == "empty" and output_format != "table":
        typer.echo(f"note: {result.reason}", err=True)


def _group_size(asked: int | None, configured: int, snapshot: LakeSnapshot, name: str) -> int:
    """``--min-group-size``, else the configured size when real-source rows are read."""
    if asked is not None:
        return asked
    from codex_metrics.metrics.slices import default_group_size

    return default_group_size(snapshot, name, configured)


@app.command("docs")
def docs(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the catalogue.")
    ] = Path("docs/metrics.md"),
) -> None:
    """Regenerate docs/metrics.md and the package's catalogue index from the catalogue.

    Example: codex-metrics metrics docs --output docs/metrics.md
    """
    from codex_metrics.cli.output import write_text
    from codex_metrics.metrics import render_metrics_markdown
    from codex_metrics.metrics.index import INDEX_FILE, render_catalogue_index

    write_text(output, render_metrics_markdown())
    write_text(INDEX_FILE, render_catalogue_index())
    typer.echo(f"wrote {output} and {INDEX_FILE.name}")
