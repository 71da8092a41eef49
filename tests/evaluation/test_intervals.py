"""pass@k intervals: the point estimate is the run's pass@k, the interval a task bootstrap."""

from __future__ import annotations

import numpy as np
import pytest

from codex_metrics.evaluation import EvalRun, Outcome, SampleRecord
from codex_metrics.evaluation.intervals import pass_at_k_intervals


def _run(passes: list[list[bool]]) -> EvalRun:
    records = tuple(
        SampleRecord(task_id=f"t/{i}", sample_index=j, completion="",
                     outcome=Outcome.PASSED if p else Outcome.ASSERTION_FAILURE)
        for i, row in enumerate(passes)
        for j, p in enumerate(row)
    )  # fmt: skip
    return EvalRun("r", "m", "suite", "replay", records)


def test_point_estimate_is_pass_at_k_and_the_interval_holds_it() -> None:
    rng = np.random.default_rng(1)
    run = _run([[bool(x) for x in rng.random(10) < p] for p in rng.uniform(0, 1, 40)])
    by_k = {r.k: r for r in pass_at_k_intervals(run, (1, 10), seed=3)}
    assert by_k[1].value == pytest.approx(run.pass_at_k((1,))[1])
    assert by_k[10].value == pytest.approx(run.pass_at_k((10,))[10])
    for r in by_k.values():
        assert r.ci_low <= r.value <= r.ci_high and r.tasks == 40
    again = {r.k: r for r in pass_at_k_intervals(run, (1, 10), seed=3)}
    assert again == by_k  # the seed makes it repeatable


def test_more_tasks_narrow_the_interval() -> None:
    rng = np.random.default_rng(2)
    rows = [[bool(x) for x in rng.random(5) < 0.4] for _ in range(400)]
    small = pass_at_k_intervals(_run(rows[:25]), (1,))[0]
    large = pass_at_k_intervals(_run(rows), (1,))[0]
    assert (large.ci_high - large.ci_low) < (small.ci_high - small.ci_low) / 2
