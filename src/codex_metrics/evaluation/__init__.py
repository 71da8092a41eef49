"""Code evaluation: tasks, providers, sandboxed execution, scoring, comparison and reports.

Typical use::

    tasks = load_tasks("humaneval")
    samples = read_samples(Path("samples.jsonl"), tasks=tasks)
    run = evaluate(samples, tasks, model_version="my-model-2025-01")
    write_results(Path("results.jsonl"), run)
    print(run.pass_at_k())

Importing this package loads no data library (numpy, pyarrow, the lake): those are imported by
the functions that need them, so the CLI starts fast.
"""

from codex_metrics.evaluation.compare import RunComparison, compare_runs, mcnemar_exact
from codex_metrics.evaluation.execution import default_workers, run_programs
from codex_metrics.evaluation.extraction import extract_code
from codex_metrics.evaluation.openai_provider import GenerationConfig, OpenAIProvider
from codex_metrics.evaluation.outcomes import (
    TAMPER_REASONS,
    ExecutionResult,
    Outcome,
    classify_report,
)
from codex_metrics.evaluation.pass_at_k import pass_at_k, pass_at_k_table
from codex_metrics.evaluation.quality import (
    CodeQuality,
    QualityJob,
    levenshtein,
    quality_of_samples,
    sample_quality,
)
from codex_metrics.evaluation.report import render_eval_html, render_eval_markdown
from codex_metrics.evaluation.results import (
    EvalRun,
    SampleRecord,
    clean_text,
    read_results,
    write_results,
)
from codex_metrics.evaluation.runner import evaluate
from codex_metrics.evaluation.samples import Sample, read_samples, write_samples
from codex_metrics.evaluation.sandbox import (
    ExecutionLimits,
    Program,
    SandboxConfig,
    SandboxWorker,
    bounded_sandbox,
)
from codex_metrics.evaluation.store import publish, run_from_lake, runs_from_lake
from codex_metrics.evaluation.tasks import (
    Task,
    TaskSet,
    load_builtin,
    load_humaneval,
    load_suite,
    load_tasks,
)

__all__ = [
    "TAMPER_REASONS",
    "CodeQuality",
    "EvalRun",
    "ExecutionLimits",
    "ExecutionResult",
    "GenerationConfig",
    "OpenAIProvider",
    "Outcome",
    "Program",
    "QualityJob",
    "RunComparison",
    "Sample",
    "SampleRecord",
    "SandboxConfig",
    "SandboxWorker",
    "Task",
    "TaskSet",
    "bounded_sandbox",
    "classify_report",
    "clean_text",
    "compare_runs",
    "default_workers",
    "evaluate",
    "extract_code",
    "levenshtein",
    "load_builtin",
    "load_humaneval",
    "load_suite",
    "load_tasks",
    "mcnemar_exact",
    "pass_at_k",
    "pass_at_k_table",
    "publish",
    "quality_of_samples",
    "read_results",
    "read_samples",
    "render_eval_html",
    "render_eval_markdown",
    "run_from_lake",
    "run_programs",
    "runs_from_lake",
    "sample_quality",
    "write_results",
    "write_samples",
]
