"""``codex-metrics ab``: A/B experiments between model versions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.table import Table

from codex_metrics.cli.options import (
    AsOfOption,
    FormatOption,
    LakeOption,
    OutputOption,
    SinceOption,
    SourceOption,
    UntilOption,
    open_snapshot,
    parse_choice,
    parse_day,
)
from codex_metrics.cli.output import console
from codex_metrics.errors import ParameterError
from codex_metrics.experiments import (
    AnalysisOptions,
    aa_false_positive_rate,
    analyze_experiment,
    default_window,
    list_experiments,
    power_at,
    render_experiment_html,
    render_experiment_json,
    render_experiment_markdown,
    required_developers,
    window_values,
)
from codex_metrics.experiments.sufficient_stats import RatioStats

app = typer.Typer(
    help="Analyse A/B experiments between model versions.\n\n"
    "Example: codex-metrics ab analyze exp-model-b-vs-a --format html --output report.html",
    no_args_is_help=True,
)

MetricOption = Annotated[
    str, typer.Option("--metric", help="Catalogue metric (per-developer numerator/denominator).")
]


def _connect(
    lake: Path | None, source: str | None = None, as_of: str | None = None
) -> duckdb.DuckDBPyConnection:
    return open_snapshot(lake, source=source, as_of=as_of).connect()


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)


def _window(
    con: duckdb.DuckDBPyConnection, since: str | None, until: str | None
) -> tuple[datetime, datetime]:
    start, end = default_window(con)
    first, last = parse_day(since, "--since"), parse_day(until, "--until")
    if first is not None:
        start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    if last is not None:
        end = datetime.fromordinal(last.toordinal() + 1).replace(tzinfo=UTC)
    if end <= start:
        raise ParameterError("--since", "must be before --until")
    return start, end


@app.command("list")
def list_cmd(
    lake: LakeOption = None,
    output_format: FormatOption = "table",
    source: SourceOption = None,
    as_of: AsOfOption = None,
) -> None:
    """Experiments in the lake with their arms, period and metrics.

    Example: codex-metrics ab list --format json
    """
    parse_choice(output_format, "--format", ("table", "json"))
    designs = list_experiments(_connect(lake, source, as_of))
    if output_format == "json":
        rows = [
            {
                "experiment_id": d.experiment_id,
                "description": d.description,
                "arms": [
                    {"arm": a.name, "model_version": a.model_version, "weight": a.weight}
                    for a in d.arms
                ],
                "start": d.start.isoformat(),
                "end": d.end.isoformat() if d.end else None,
                "primary_metrics": list(d.primary_metrics),
                "guardrails": {g.metric: g.margin for g in d.guardrails},
                "planned_developers": d.planned_developers,
            }
            for d in designs
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="experiments")
    for col in ("experiment", "arms", "period", "primary", "guardrails"):
        table.add_column(col)
    for d in designs:
        arms = ", ".join(f"{a.name}={a.model_version} ({a.weight:.0%})" for a in d.arms)
        period = f"{d.start:%Y-%m-%d} – {d.end:%Y-%m-%d}" if d.end else f"since {d.start:%Y-%m-%d}"
        guards = ", ".join(f"{g.metric} ±{g.margin:.0%}" for g in d.guardrails)
        table.add_row(d.experiment_id, arms, period, ", ".join(d.primary_metrics), guards)
    console().print(table)


@app.command("analyze")
def analyze_cmd(
    experiment: Annotated[str, typer.Argument(help="Experiment id (see `ab list`).")],
    metric: Annotated[
        list[str] | None, typer.Option("--metric", help="Only these metrics (repeatable).")
    ] = None,
    sequential: Annotated[
        bool, typer.Option("--sequential", help="Always-valid intervals for daily peeking.")
    ] = False,
    cuped: Annotated[
        bool, typer.Option("--cuped/--no-cuped", help="Pre-period adjustment.")
    ] = True,
    bootstrap: Annotated[
        bool, typer.Option("--bootstrap", help="Add a Poisson bootstrap.")
    ] = False,
    mixed: Annotated[
        bool, typer.Option("--mixed", help="Add a developer random-effects model (subsampled).")
    ] = False,
    fieller: Annotated[bool, typer.Option("--fieller", help="Fieller relative intervals.")] = False,
    slices: Annotated[bool, typer.Option("--slices/--no-slices", help="Per-slice results.")] = True,
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level.")] = 0.05,
    output_format: Annotated[
        str, typer.Option("--format", help="Output format: markdown, html or json.")
    ] = "markdown",
    output: OutputOption = None,
    source: SourceOption = None,
    as_of: AsOfOption = None,
    lake: LakeOption = None,
) -> None:
    """Report on an experiment: health, metrics, lifts, verdict.

    Example: codex-metrics ab analyze exp-model-b-vs-a --sequential --format json
    """
    parse_choice(output_format, "--format", ("markdown", "html", "json"))
    options = AnalysisOptions(
        alpha=alpha,
        cuped=cuped,
        sequential=sequential,
        bootstrap=bootstrap,
        mixed=mixed,
        slices=slices,
        relative_ci="fieller" if fieller else "delta",
        metrics=tuple(metric) if metric else None,
    )
    report = analyze_experiment(_connect(lake, source, as_of), experiment, options)
    render = {
        "markdown": render_experiment_markdown,
        "html": render_experiment_html,
        "json": render_experiment_json,
    }[output_format]
    _emit(render(report), output)


@app.command("power")
def power_cmd(
    mde: Annotated[float, typer.Option("--mde", help="Relative minimum detectable effect.")],
    metric: MetricOption = "acceptance_rate_by_count",
    power: Annotated[float, typer.Option("--power", help="Target power.")] = 0.8,
    developers: Annotated[
        int | None, typer.Option("--developers", help="Report the power at this many developers.")
    ] = None,
    share: Annotated[float, typer.Option("--share", help="Treatment share.")] = 0.5,
    variance_reduction: Annotated[
        float, typer.Option("--variance-reduction", help="Expected CUPED variance reduction.")
    ] = 0.0,
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level.")] = 0.05,
    since: SinceOption = None,
    until: UntilOption = None,
    source: SourceOption = None,
    as_of: AsOfOption = None,
    lake: LakeOption = None,
) -> None:
    """Developers needed (or power reached) for a planned test, from the lake's variance.

    Example: codex-metrics ab power --metric acceptance_rate_by_count --mde 0.02 --power 0.9
    """
    con = _connect(lake, source, as_of)
    start, end = _window(con, since, until)
    baseline = RatioStats.from_arrays(*window_values(con, metric, start=start, end=end))
    common = {
        "relative_mde": mde,
        "alpha": alpha,
        "treatment_share": share,
        "variance_reduction": variance_reduction,
    }
    if developers is None:
        plan = required_developers(baseline, power=power, **common)
    else:
        plan = power_at(baseline, developers=developers, **common)
    typer.echo(
        f"{metric}: baseline {plan.baseline:.4g} over {baseline.n:,} developers "
        f"({start:%Y-%m-%d} to {end:%Y-%m-%d}); to detect {mde:+.1%} at alpha {alpha}: "
        f"{plan.developers:,} developers in total give power {plan.power:.3f}"
    )


@app.command("aa-check")
def aa_check_cmd(
    metric: MetricOption = "acceptance_rate_by_count",
    replicates: Annotated[int, typer.Option("--replicates", help="A/A splits to simulate.")] = 2000,
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level.")] = 0.05,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    since: SinceOption = None,
    until: UntilOption = None,
    source: SourceOption = None,
    as_of: AsOfOption = None,
    lake: LakeOption = None,
) -> None:
    """A/A simulation on the lake's own developers: the false-positive rate of the test.

    Example: codex-metrics ab aa-check --metric acceptance_rate_by_count --replicates 2000
    """
    con = _connect(lake, source, as_of)
    start, end = _window(con, since, until)
    result = aa_false_positive_rate(
        *window_values(con, metric, start=start, end=end),
        replicates=replicates,
        alpha=alpha,
        seed=seed,
    )
    low, high = result.delta_fpr_ci
    naive = (
        ""
        if result.naive_fpr is None
        else (
            f"; the naive per-suggestion z-test (never used) would reject in {result.naive_fpr:.1%}"
        )
    )
    typer.echo(
        f"{metric}, {result.developers:,} developers, {result.replicates:,} A/A splits: delta-method "
        f"false-positive rate {result.delta_fpr:.1%} (95% CI {low:.1%}-{high:.1%}) at nominal "
        f"{alpha:.0%}{naive}"
    )
