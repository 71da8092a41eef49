"""Comparing two evaluation runs on the same tasks.

Tasks are the unit: each run gives every task a pass rate (passed samples / samples), and the
comparison works on the per-task paired differences ``rate_B - rate_A`` over the tasks both runs
answered. It reports

* the mean difference with a paired bootstrap confidence interval over tasks (tasks resampled
  with replacement, percentile interval), valid for any number of samples per task;
* an exact McNemar test on per-task pass@1 when both runs have exactly one sample per task:
  with ``b`` tasks passed only by A and ``c`` only by B, ``p = min(1, 2 * P[X <= min(b, c)])``
  for ``X ~ Binomial(b + c, 1/2)``;
* the tasks that flipped each way (a task is *solved* when at least half its samples pass, which
  for one sample per task is simply pass or fail);
* per-outcome deltas: each failure category's share of samples in A and in B (``tampered``
  always listed);
* a **regression gate** for release pipelines (``eval compare A B --fail-on-regression``): B
  regresses when its paired pass@1 is significantly lower than A's at ``1 - confidence`` (5% by
  default). With one sample per task in both runs the test is the two-sided exact McNemar test
  above (``p < 0.05`` and more tasks lost than gained); otherwise it is the paired bootstrap
  interval of the mean per-task pass@1 difference (``c / n`` per task, the unbiased pass@1
  estimate), which must lie entirely below zero.

Bad inputs (no task in common) give a result with ``status`` set instead of an exception.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from codex_metrics.errors import ParameterError
from codex_metrics.evaluation.outcomes import Outcome
from codex_metrics.evaluation.results import EvalRun

if TYPE_CHECKING:
    import numpy as np

__all__ = ["CategoryDelta", "RunComparison", "TaskDelta", "compare_runs", "mcnemar_exact"]

RunComparisonStatus = Literal["ok", "no_common_tasks"]


@dataclass(frozen=True)
class TaskDelta:
    """One task in both runs."""

    task_id: str
    samples_a: int
    passed_a: int
    samples_b: int
    passed_b: int

    @property
    def rate_a(self) -> float:
        """Pass rate in run A."""
        return self.passed_a / self.samples_a

    @property
    def rate_b(self) -> float:
        """Pass rate in run B."""
        return self.passed_b / self.samples_b

    @property
    def difference(self) -> float:
        """``rate_b - rate_a``."""
        return self.rate_b - self.rate_a


@dataclass(frozen=True)
class CategoryDelta:
    """Share of samples (0..1) with one outcome in each run."""

    outcome: Outcome
    count_a: int
    count_b: int
    share_a: float
    share_b: float

    @property
    def delta(self) -> float:
        """``share_b - share_a``."""
        return self.share_b - self.share_a


@dataclass(frozen=True)
class RunComparison:
    """Result of :func:`compare_runs` (``status`` says whether the numbers are defined)."""

    status: RunComparisonStatus
    run_a: str
    run_b: str
    model_a: str
    model_b: str
    tasks: int
    pass_rate_a: float | None = None
    pass_rate_b: float | None = None
    mean_difference: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    confidence: float = 0.95
    bootstrap_resamples: int = 0
    mcnemar_p: float | None = None
    only_a: int | None = None
    only_b: int | None = None
    flipped_to_pass: tuple[str, ...] = ()
    flipped_to_fail: tuple[str, ...] = ()
    per_task: tuple[TaskDelta, ...] = ()
    categories: tuple[CategoryDelta, ...] = ()
    tasks_only_in_a: tuple[str, ...] = ()
    tasks_only_in_b: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    regression: bool = False
    regression_test: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data (``eval compare --format json``)."""
        data = asdict(self)
        for cat in data["categories"]:
            cat["outcome"] = cat["outcome"].value
        return data

    def summary_rows(self) -> list[dict[str, str]]:
        """The comparison as (measure, value) rows, for a table or CSV."""
        if self.status != "ok":
            return [{"measure": "status", "value": self.status}]

        def pct(value: float | None) -> str:
            return "n/a" if value is None else f"{100 * value:.1f}%"

        def points(value: float | None) -> str:
            return "n/a" if value is None else f"{100 * value:+.1f}"

        rows = [
            {"measure": "tasks", "value": str(self.tasks)},
            {"measure": f"pass rate A ({self.model_a})", "value": pct(self.pass_rate_a)},
            {"measure": f"pass rate B ({self.model_b})", "value": pct(self.pass_rate_b)},
            {
                "measure": "difference B - A (points)",
                "value": f"{points(self.mean_difference)} [{points(self.ci_low)}, "
                f"{points(self.ci_high)}] {self.confidence:.0%} bootstrap",
            },
            {
                "measure": "McNemar exact p",
                "value": "n/a" if self.mcnemar_p is None else f"{self.mcnemar_p:.4f}",
            },
            {"measure": "flipped to pass", "value": ", ".join(self.flipped_to_pass) or "none"},
            {"measure": "flipped to fail", "value": ", ".join(self.flipped_to_fail) or "none"},
        ]
        rows.append(
            {
                "measure": "regression (B worse than A)",
                "value": f"{'yes' if self.regression else 'no'} ({self.regression_test})",
            }
        )
        rows += [
            {
                "measure": f"  {cat.outcome.value}",
                "value": f"{cat.count_a} -> {cat.count_b} ({100 * cat.delta:+.1f} points)",
            }
            for cat in self.categories
        ]
        rows += [{"measure": "note", "value": note} for note in self.notes]
        return rows


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts (binomial, computed exactly)."""
    discordant = only_a + only_b
    if discordant == 0:
        return 1.0
    tail = sum(math.comb(discordant, i) for i in range(min(only_a, only_b) + 1))
    return min(1.0, 2 * tail / 2**discordant)


def _bootstrap_ci(
    diffs: np.ndarray, resamples: int, confidence: float, seed: int
) -> tuple[float, float]:
    import numpy as np

    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    chunk = max(1, 2_000_000 // max(1, diffs.size))
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        idx = rng.integers(0, diffs.size, size=(stop - start, diffs.size))
        means[start:stop] = diffs[idx].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return float(low), float(high)


def _category_deltas(a: EvalRun, b: EvalRun, common: set[str]) -> tuple[CategoryDelta, ...]:
    ca = [r.outcome for r in a.records if r.task_id in common]
    cb = [r.outcome for r in b.records if r.task_id in common]
    out = []
    for outcome in Outcome:
        na, nb = ca.count(outcome), cb.count(outcome)
        if na or nb or outcome is Outcome.TAMPERED:
            out.append(CategoryDelta(outcome, na, nb, na / len(ca), nb / len(cb)))
    return tuple(out)


def compare_runs(
    a: EvalRun,
    b: EvalRun,
    *,
    resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> RunComparison:
    """Compare run ``b`` against run ``a`` on the tasks both answered (see module docstring).

    Raises:
        ParameterError: ``confidence`` outside (0, 1) or ``resamples`` below 100.
    """
    if not 0 < confidence < 1:
        raise ParameterError("confidence", f"must be between 0 and 1, not {confidence}")
    if resamples < 100:
        raise ParameterError("resamples", f"must be at least 100, not {resamples}")
    counts_a, counts_b = a.counts(), b.counts()
    common = sorted(set(counts_a) & set(counts_b), key=_task_order)
    base = {
        "run_a": a.run_id,
        "run_b": b.run_id,
        "model_a": a.model_version,
        "model_b": b.model_version,
        "tasks_only_in_a": tuple(sorted(set(counts_a) - set(counts_b), key=_task_order)),
        "tasks_only_in_b": tuple(sorted(set(counts_b) - set(counts_a), key=_task_order)),
        "confidence": confidence,
    }
    if not common:
        return RunComparison(status="no_common_tasks", tasks=0, **base)  # type: ignore[arg-type]
    import numpy as np

    per_task = tuple(TaskDelta(t, *counts_a[t], *counts_b[t]) for t in common)
    diffs = np.array([d.difference for d in per_task])
    low, high = _bootstrap_ci(diffs, resamples, confidence, seed)
    solved_a = {d.task_id for d in per_task if d.rate_a >= 0.5}
    solved_b = {d.task_id for d in per_task if d.rate_b >= 0.5}
    one_sample = all(d.samples_a == 1 and d.samples_b == 1 for d in per_task)
    only_a = len(solved_a - solved_b)
    only_b = len(solved_b - solved_a)
    notes = []
    if not one_sample:
        notes.append(
            "McNemar needs one sample per task in both runs; only the bootstrap interval is given"
        )
    if base["tasks_only_in_a"] or base["tasks_only_in_b"]:
        notes.append("the runs answered different tasks; compared on the tasks both answered")
    alpha = 1 - confidence
    if one_sample:
        p_value = mcnemar_exact(only_a, only_b)
        regression = p_value < alpha and only_a > only_b
        test = f"exact McNemar p = {p_value:.4f}, threshold {alpha:.2f}"
    else:
        regression = high < 0
        test = f"paired bootstrap {confidence:.0%} interval entirely below 0"
    return RunComparison(
        status="ok",
        tasks=len(common),
        pass_rate_a=float(np.mean([d.rate_a for d in per_task])),
        pass_rate_b=float(np.mean([d.rate_b for d in per_task])),
        mean_difference=float(diffs.mean()),
        ci_low=low,
        ci_high=high,
        bootstrap_resamples=resamples,
        mcnemar_p=mcnemar_exact(only_a, only_b) if one_sample else None,
        only_a=only_a,
        only_b=only_b,
        flipped_to_pass=tuple(t for t in common if t in solved_b and t not in solved_a),
        flipped_to_fail=tuple(t for t in common if t in solved_a and t not in solved_b),
        per_task=per_task,
        categories=_category_deltas(a, b, set(common)),
        notes=tuple(notes),
        regression=bool(regression),
        regression_test=test,
        **base,  # type: ignore[arg-type]
    )


def _task_order(task_id: str) -> tuple[str, int, str]:
    prefix, _, tail = task_id.rpartition("/")
    return (prefix, int(tail), "") if tail.isdigit() else (prefix, -1, tail)
