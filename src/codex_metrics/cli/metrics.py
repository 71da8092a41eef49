"""``codex-metrics metrics``: list the catalogue, compute a metric, regenerate docs/metrics.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from codex_metrics.cli.options import (
    AsOfOption,
    ByOption,
    EngineOption,
    FilterOption,
    FormatOption,
    GrainOption,
    LakeOption,
    OutputOption,
    SinceOption,
    SourceOption,
    UntilOption,
    open_snapshot,
    parse_choice,
    parse_day,
    parse_filters,
    settings_for,
)
from codex_metrics.cli.output import console
from codex_metrics.metrics import (
    MetricResult,
    compute_metric,
    list_metrics,
    render_metrics_markdown,
)
from codex_metrics.metrics.result import metric_definition

app = typer.Typer(
    help="The metric catalogue: list it, compute a metric.\n\n"
    "Example: codex-metrics metrics show acceptance_rate_by_count --by language --grain week",
    no_args_is_help=True,
)


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
    else:
        output.write_text(text)
        typer.echo(f"wrote {output}", err=True)


@app.command("list")
def list_(
    family: Annotated[
        str | None, typer.Option(help="Only this family (adoption, quality, ...).")
    ] = None,
    output_format: FormatOption = "table",
    output: OutputOption = None,
) -> None:
    """List every metric with its unit, basis, grain and description.

    Example: codex-metrics metrics list --family quality --format json
    """
    parse_choice(output_format, "--format", ("table", "csv", "json"))
    metrics = list_metrics(family)
    if output_format == "json":
        _emit(json.dumps([metric_definition(m) for m in metrics], indent=2), output)
        return
    if output_format == "csv":
        lines = ["name,family,unit,basis,grain,kind,description"]
        lines += [
            ",".join(
                [m.name, m.family, m.unit, m.basis, m.grain, m.kind, json.dumps(m.description)]
            )
            for m in metrics
        ]
        _emit("\n".join(lines) + "\n", output)
        return
    table = Table(title=f"{len(metrics)} metrics")
    for col in ("name", "family", "unit", "basis", "grain", "description"):
        table.add_column(col)
    for m in metrics:
        table.add_row(m.name, m.family, m.unit, m.basis, m.grain, m.description)
    console().print(table)


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
    if result.status != "ok":
        return f"unavailable: {result.reason}"
    gaps = ", ".join(d.isoformat() for d in result.gaps) or "none"
    snap = result.lake_snapshot
    sources = ", ".join(snap.get("sources", [])) or "none"
    return (
        f"engine {result.engine}; sources: {sources}; lake snapshot {snap.get('hash', '-')}; "
        f"gaps (days without data): {gaps}"
    )


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Metric name (see `metrics list`).")],
    by: ByOption = None,
    filters: FilterOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    grain: GrainOption = "day",
    output_format: FormatOption = "table",
    output: OutputOption = None,
    engine: EngineOption = None,
    source: SourceOption = None,
    as_of: AsOfOption = None,
    lake: LakeOption = None,
) -> None:
    """Compute one metric and print the result envelope (rows, null reasons, gaps, metadata).

    Example: codex-metrics metrics show acceptance_rate_by_count --by language --filter editor=vscode --since 2025-03-03 --grain week --format json
    """
    parse_choice(output_format, "--format", ("table", "csv", "json"))
    parse_choice(grain, "--grain", ("day", "week", "month"))
    settings = settings_for(lake=lake, engine=engine)
    result = compute_metric(
        name,
        open_snapshot(lake, source=source, as_of=as_of),
        since=parse_day(since, "--since"),
        until=parse_day(until, "--until"),
        grain=grain,
        by=[d.strip() for d in by.split(",") if d.strip()] if by else [],
        filters=parse_filters(filters),
        engine=settings.engine,
    )
    if output_format == "json":
        _emit(result.to_json(), output)
    elif output_format == "csv":
        _emit(result.to_csv(), output)
    elif output is not None:
        Console(file=output.open("w"), width=200).print(_table(result))
    else:
        console().print(_table(result))


@app.command("docs")
def docs(
    output: Annotated[Path, typer.Option(help="Where to write the catalogue.")] = Path(
        "docs/metrics.md"
    ),
) -> None:
    """Regenerate docs/metrics.md from the catalogue.

    Example: codex-metrics metrics docs --output docs/metrics.md
    """
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_metrics_markdown())
    typer.echo(f"wrote {output}")
