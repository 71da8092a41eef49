"""``codex-metrics productivity``: the productivity analysis, published to the lake."""

from __future__ import annotations

from typing import Annotated

import typer

from codex_metrics.cli.options import (
    AsOfOption,
    LakeOption,
    OutputOption,
    SourceOption,
    open_snapshot,
    parse_choice,
)
from codex_metrics.cli.output import emit, progress

FORMATS = ("html", "json")


def productivity(
    output_format: Annotated[
        str, typer.Option("--format", help="Report format: html or json.")
    ] = "html",
    model_rows: Annotated[
        int,
        typer.Option(
            "--model-rows", help="Shown suggestions the acceptance models are fitted on (<= 1M)."
        ),
    ] = 200_000,
    publish: Annotated[
        bool,
        typer.Option("--publish/--no-publish", help="Write the estimates to analysis_results."),
    ] = True,
    output: OutputOption = None,
    source: SourceOption = None,
    as_of: AsOfOption = None,
    lake: LakeOption = None,
) -> None:
    """Productivity analysis: what AI does to speed, for whom, and what gets accepted.

    Acceptance models, latency vs satisfaction, the causal effect of AI on task duration
    (AIPW, staggered DiD) and, on real data, of Copilot adoption on PR cycle time (from
    ingested per-user reports and collected PRs), developer segments and the failure
    taxonomy; the estimates are published to analysis_results for the dashboard.

    Example: codex-metrics productivity --format html --output productivity.html
    """
    from codex_metrics.analysis.productivity import publish_results, run_productivity
    from codex_metrics.analysis.report_html import (
        render_productivity_html,
        render_productivity_json,
    )
    from codex_metrics.errors import ParameterError

    parse_choice(output_format, "--format", FORMATS)
    if not 1_000 <= model_rows <= 1_000_000:
        raise ParameterError(
            "--model-rows", f"must be between 1,000 and 1,000,000, got {model_rows}"
        )
    snapshot = open_snapshot(lake, source=source, as_of=as_of)
    steps = (
        "causal effect",
        "latency and satisfaction",
        "acceptance model",
        "segments",
        "failure taxonomy",
    )
    with progress("productivity analysis", total=len(steps)) as update:
        report = run_productivity(
            snapshot,
            model_rows=model_rows,
            on_step=lambda name: update(steps.index(name), description=name),
        )
        update(len(steps))
    if publish:
        rows = publish_results(snapshot.lake, report)
        typer.echo(f"published {rows} estimates to analysis_results ({report.run_id})", err=True)
    render = render_productivity_html if output_format == "html" else render_productivity_json
    emit(render(report), output)
