"""``codex-metrics ab``: A/B experiments between model versions."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from codex_metrics.cli.options import (
    DATA_FORMATS,
    REPORT_FORMATS,
    AsOfOption,
    DataFormatOption,
    LakeOption,
    OutputOption,
    ReportFormatOption,
    SinceOption,
    SourceOption,
    UntilOption,
    open_snapshot,
    parse_choice,
    parse_day,
)
from codex_metrics.cli.output import emit, emit_rows, spinner

if TYPE_CHECKING:
    import duckdb

app = typer.Typer(
    rich_markup_mode=None,
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


@app.command("list")
def list_cmd(
    output_format: DataFormatOption = "table",
    output: OutputOption = None,
    source: SourceOption = None,
    as_of: AsOfOption = None,
    lake: LakeOption = None,
) -> None:
    """Experiments in the lake with their arms, period and metrics.

    Example: codex-metrics ab list --format json
    """
    from codex_metrics.experiments import list_experiments

    parse_choice(output_format, "--format", DATA_FORMATS)
    designs = list_experiments(_connect(lake, source, as_of))
    emit_rows(
        [d.summary_row() for d in designs],
        output_format,
        output,
        title="experiments",
        columns=("experiment", "arms", "period", "primary", "guardrails"),
        document=[d.to_dict() for d in designs],
    )


@app.command("analyze")
def analyze_cmd(
    experiment: Annotated[str, typer.Argument(help="Experiment id (see `ab list`).")],
    metric: Annotated[
        list[str] | None,
        typer.Option("--metric", help="Only these metrics (repeatable).", show_default=False),
    ] = None,
    cuped: Annotated[
        bool, typer.Option("--cuped/--no-cuped", help="CUPED with the pre-period.")
    ] = True,
    sequential: Annotated[
        bool,
        typer.Option("--sequential/--no-sequential", help="Always-valid (mSPRT) intervals."),
    ] = False,
    bootstrap: Annotated[
        bool, typer.Option("--bootstrap/--no-bootstrap", help="Add a Poisson bootstrap.")
    ] = False,
    mixed: Annotated[
        bool,
        typer.Option(
            "--mixed/--no-mixed", help="Add a developer random-effects model (subsampled)."
        ),
    ] = False,
    fieller: Annotated[
        bool, typer.Option("--fieller/--no-fieller", help="Fieller relative intervals.")
    ] = False,
    slices: Annotated[bool, typer.Option("--slices/--no-slices", help="Per-slice results.")] = True,
    bayesian: Annotated[
        bool,
        typer.Option(
            "--bayesian/--no-bayesian", help="Add chance to beat control and expected loss."
        ),
    ] = False,
    prior_sd: Annotated[
        float,
        typer.Option("--prior-sd", help="SD of the normal prior on the relative lift (Bayesian)."),
    ] = 0.3,
    flat_prior: Annotated[
        bool,
        typer.Option("--flat-prior/--proper-prior", help="Use the flat (improper) prior instead."),
    ] = False,
    cap: Annotated[
        float | None,
        typer.Option(
            "--cap",
            help="Winsorise developer means of mean metrics at this pooled percentile (0.99).",
            show_default=False,
        ),
    ] = None,
    planned_developers: Annotated[
        int | None,
        typer.Option(
            "--planned-developers",
            help="N* of --sequential (default: the experiment's planned developers).",
            show_default=False,
        ),
    ] = None,
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level.")] = 0.05,
    output_format: ReportFormatOption = "markdown",
    output: OutputOption = None,
    source: SourceOption = None,
    as_of: AsOfOption = None,
    lake: LakeOption = None,
) -> None:
    """Report on an experiment: health, metrics, lifts, verdict.

    Example: codex-metrics ab analyze exp-model-b-vs-a --sequential --format json
    """
    from codex_metrics.experiments import (
        AnalysisOptions,
        BayesianPrior,
        analyze_experiment,
        render_experiment_html,
        render_experiment_json,
        render_experiment_markdown,
    )

    parse_choice(output_format, "--format", REPORT_FORMATS)
    options = AnalysisOptions(
        alpha=alpha,
        cuped=cuped,
        sequential=sequential,
        bootstrap=bootstrap,
        mixed=mixed,
        slices=slices,
        relative_ci="fieller" if fieller else "delta",
        bayesian=bayesian,
        prior=BayesianPrior.flat() if flat_prior else BayesianPrior(0.0, prior_sd),
        cap=cap,
        planned_developers=planned_developers,
        metrics=tuple(metric) if metric else None,
    )
    with spinner(f"analysing {experiment}"):
        report = analyze_experiment(_connect(lake, source, as_of), experiment, options)
    render = {
        "markdown": render_experiment_markdown,
        "html": render_experiment_html,
        "json": render_experiment_json,
    }[output_format]
    emit(render(report), output)


@app.command("power")
def power_cmd(
    mde: Annotated[
        float,
        typer.Option("--mde", help="Relative minimum detectable effect: 0.02 means +2%."),
    ],
    metric: MetricOption = "acceptance_rate_by_count",
    power: Annotated[float, typer.Option("--power", help="Target power.")] = 0.8,
    developers: Annotated[
        int | None,
        typer.Option(
            "--developers", help="Report the power at this many developers.", show_default=False
        ),
    ] = None,
    share: Annotated[float, typer.Option("--share", help="Treatment share.")] = 0.5,
    variance_reduction: Annotated[
        float, typer.Option("--variance-reduction", help="Expected CUPED variance reduction.")
    ] = 0.0,
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level.")] = 0.05,
    days: Annotated[
        int, typer.Option("--days", help="Planned duration of the experiment, days.")
    ] = 14,
    since: SinceOption = None,
    until: UntilOption = None,
    source: SourceOption = None,
    as_of: AsOfOption = None,
    lake: LakeOption = None,
) -> None:
    """Developers needed (or power reached) for a planned test, from the lake's variance.

    The baseline is the planned number of days before the latest experiment (or --since and
    --until); the answer counts assigned developers, as the analysis does.

    Example: codex-metrics ab power --metric acceptance_rate_by_count --mde 0.02 --days 14
    """
    from codex_metrics.experiments import plan_power

    with spinner("reading the baseline"):
        result = plan_power(
            _connect(lake, source, as_of),
            metric,
            relative_mde=mde,
            power=power,
            developers=developers,
            alpha=alpha,
            treatment_share=share,
            variance_reduction=variance_reduction,
            days=days,
            since=parse_day(since, "--since"),
            until=parse_day(until, "--until"),
        )
    typer.echo(result.describe())


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
    from codex_metrics.experiments import aa_check

    with spinner(f"{replicates:,} A/A splits"):
        result = aa_check(
            _connect(lake, source, as_of),
            metric,
            replicates=replicates,
            alpha=alpha,
            seed=seed,
            since=parse_day(since, "--since"),
            until=parse_day(until, "--until"),
        )
    typer.echo(f"{metric}: {result.describe()}")
