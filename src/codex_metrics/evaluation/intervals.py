"""pass@k with a confidence interval: a bootstrap over tasks.

The tasks of a suite are a sample of the problems a model could be asked, so the uncertainty of
a run's pass@k is mostly between tasks: resample tasks with replacement and recompute the mean
of the per-task unbiased estimates (:func:`~codex_metrics.evaluation.pass_at_k.pass_at_k`).
Percentile interval; the seed makes it repeatable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from codex_metrics.evaluation.pass_at_k import pass_at_k, possible_ks
from codex_metrics.evaluation.results import EvalRun

__all__ = ["PassAtK", "pass_at_k_intervals"]


@dataclass(frozen=True)
class PassAtK:
    """pass@k of a run with its bootstrap interval over tasks."""

    k: int
    value: float
    ci_low: float
    ci_high: float
    tasks: int
    confidence: float = 0.95


def pass_at_k_intervals(
    run: EvalRun,
    ks: Sequence[int] = (1, 10, 100),
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> list[PassAtK]:
    """pass@k for every k all tasks allow, each with a task-bootstrap interval."""
    import numpy as np

    counts = run.counts()
    if not counts:
        return []
    tasks = sorted(counts)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(tasks), size=(resamples, len(tasks)))
    alpha = (1 - confidence) / 2
    out = []
    for k in possible_ks(counts, ks):
        per_task = np.array([pass_at_k(*counts[t], k) for t in tasks])
        means = per_task[picks].mean(axis=1)
        low, high = np.quantile(means, [alpha, 1 - alpha])
        out.append(
            PassAtK(k, float(per_task.mean()), float(low), float(high), len(tasks), confidence)
        )
    return out
