"""Scoring a samples file: run every sample in the sandbox, measure quality, build the run.

Quality is measured while the samples execute (:class:`~codex_metrics.evaluation.quality.
QualityJob`, in its own sandboxed process, plus one ruff run), so it adds little wall-clock time.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from codex_metrics.errors import InputFormatError
from codex_metrics.evaluation.execution import default_workers, run_programs
from codex_metrics.evaluation.outcomes import ExecutionResult
from codex_metrics.evaluation.quality import QualityJob
from codex_metrics.evaluation.results import EvalRun, SampleRecord, clean_text
from codex_metrics.evaluation.samples import Sample
from codex_metrics.evaluation.sandbox import ExecutionLimits, Program, SandboxConfig
from codex_metrics.evaluation.tasks import Task, TaskSet

__all__ = ["evaluate", "new_run_id", "sample_code_for_quality"]

# progress(phase, done, total), phase "execution" then "quality"
ProgressCallback = Callable[[str, int, int], None]


def new_run_id(model_version: str) -> str:
    """A fresh run id: ``<model>-<UTC timestamp>-<random>``."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", model_version).strip("-") or "run"
    return f"{slug}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def sample_code_for_quality(task: Task, sample: Sample) -> str:
    """The sample as a whole function: completions that repeat the signature stand alone."""
    if sample.whole_program or re.search(
        rf"^\s*def\s+{re.escape(task.entry_point)}\s*\(", sample.code, re.M
    ):
        return sample.code
    return task.prompt + sample.code


def _record(sample: Sample, result: ExecutionResult, quality: Any) -> SampleRecord:
    extra = asdict(quality) if quality is not None else {}
    return SampleRecord.sanitised(
        task_id=sample.task_id,
        sample_index=sample.sample_index,
        completion=sample.code,
        whole_program=sample.whole_program,
        outcome=result.outcome,
        error_type=result.error_type,
        error_message=result.error_message,
        traceback=result.traceback,
        duration_s=result.duration_s,
        peak_memory_kb=result.peak_memory_kb,
        exit_code=result.exit_code,
        detail=result.detail,
        generation_latency_s=sample.latency_s,
        prompt_tokens=sample.prompt_tokens,
        completion_tokens=sample.completion_tokens,
        **extra,
    )


def evaluate(
    samples: Sequence[Sample],
    tasks: TaskSet,
    *,
    model_version: str | None = None,
    provider: str = "replay",
    run_id: str | None = None,
    limits: ExecutionLimits | None = None,
    sandbox: SandboxConfig | None = None,
    workers: int | None = None,
    quality: bool = True,
    settings: dict[str, Any] | None = None,
    progress: ProgressCallback | None = None,
) -> EvalRun:
    """Run every sample against its task's tests in the sandbox and score the run.

    Args:
        samples: the samples (see :func:`~codex_metrics.evaluation.samples.read_samples`).
        tasks: the suite they answer.
        model_version: model version string (default: the samples' own, else ``unknown``).
        provider: where the samples came from (``replay``, ``openai``).
        run_id: run id (default: a fresh one).
        limits: per-sample limits.
        sandbox: isolation settings.
        workers: parallel sandboxed workers.
        quality: also compute edit distances, ruff findings, complexity and the score.
        settings: extra settings recorded with the run (model parameters).
        progress: called as ``progress(phase, done, total)`` while samples finish
            (phase ``execution``) and while quality is measured (phase ``quality``).

    Raises:
        InputFormatError: a sample names a task that is not in ``tasks``.
        SandboxError: the sandbox is unavailable.
    """
    limits = limits or ExecutionLimits()
    sandbox = sandbox or SandboxConfig()
    missing = sorted({s.task_id for s in samples if s.task_id not in tasks})
    if missing:
        raise InputFormatError(
            "samples", f"unknown task_id(s) for suite {tasks.name!r}: {', '.join(missing[:5])}"
        )
    started = datetime.now(UTC)
    programs: list[Program | None] = [
        tasks[s.task_id].sandbox_program(s.code, whole_program=s.whole_program)
        if s.extracted
        else None
        for s in samples
    ]
    total = len(samples)
    job = None
    if quality:
        codes = [sample_code_for_quality(tasks[s.task_id], s) for s in samples]
        refs = [
            tasks[s.task_id].reference_code if tasks[s.task_id].canonical_solution else None
            for s in samples
        ]
        job = QualityJob(codes, refs, sandbox=sandbox if sandbox.enabled else None)
    done = 0

    def on_result(_index: int, _result: ExecutionResult) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress("execution", done, total)

    results = run_programs(
        programs, limits=limits, sandbox=sandbox, workers=workers, on_result=on_result
    )
    qualities: list[Any] = [None] * total
    if job is not None:
        if progress is not None:
            progress("quality", total, total)
        measured = job.result()
        qualities = [q if s.extracted else None for q, s in zip(measured, samples, strict=True)]
    model = (
        model_version
        or next((s.model_version for s in samples if s.model_version), None)
        or "unknown"
    )
    run_settings = {
        "timeout_s": limits.timeout_s,
        "memory_mb": limits.memory_mb,
        "max_processes": limits.max_processes,
        "workers": workers or default_workers(),
        "sandbox": "bubblewrap" if sandbox.enabled else "none (unsafe)",
        **(settings or {}),
    }
    return EvalRun(
        run_id=clean_text(run_id or new_run_id(model)),
        model_version=clean_text(model),
        suite=clean_text(tasks.name),
        provider=clean_text(provider),
        records=tuple(
            _record(s, r, q) for s, r, q in zip(samples, results, qualities, strict=True)
        ),
        settings=run_settings,
        started_at=started,
        finished_at=datetime.now(UTC),
    )
