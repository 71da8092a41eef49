"""The default pool: one sandboxed worker per core, more while samples wait on the clock."""

from __future__ import annotations

import os

import pytest

from codex_metrics.evaluation import execution
from codex_metrics.evaluation.outcomes import Outcome
from codex_metrics.evaluation.sandbox import ExecutionLimits

#: Prints when it starts (the wall clock is shared with the sandbox), then waits.
WAITER = "import time\nprint(repr(time.time()))\ntime.sleep(0.8)\n"
#: Prints which sandbox ran it: each worker's bubblewrap has its own PID namespace.
WHERE = "import os\nprint(os.readlink('/proc/self/ns/pid'))\n"
NO_BWRAP = execution.bwrap_path(execution.SandboxConfig()) is None


def _most_at_once(results: list) -> int:
    """The largest number of samples whose runs overlapped in time."""
    spans = [(float(r.stdout.strip()), float(r.stdout.strip()) + r.duration_s) for r in results]
    return max(sum(s <= start < e for s, e in spans) for start, _ in spans)


@pytest.mark.skipif(NO_BWRAP, reason="no bwrap")
def test_waiting_samples_grow_the_pool_beyond_one_worker_per_core() -> None:
    cores = os.cpu_count() or 1
    n = 3 * cores + 3
    limits = ExecutionLimits(timeout_s=5)
    results = execution.run_programs([WAITER] * n, limits=limits)
    assert [r.outcome for r in results] == [Outcome.PASSED] * n
    assert cores < _most_at_once(results) <= execution.default_workers()


@pytest.mark.skipif(NO_BWRAP, reason="no bwrap")
def test_an_explicit_worker_count_is_a_fixed_pool() -> None:
    limits = ExecutionLimits(timeout_s=5)
    results = execution.run_programs([WAITER] * 6, limits=limits, workers=2)
    assert [r.outcome for r in results] == [Outcome.PASSED] * 6
    assert _most_at_once(results) <= 2


@pytest.mark.skipif(NO_BWRAP, reason="no bwrap")
def test_fast_samples_do_not_start_the_whole_pool() -> None:
    """Samples of a few milliseconds never wait: the pool stays near one worker per core
    (the old fixed pool started all :func:`default_workers` sandboxes)."""
    results = execution.run_programs([WHERE] * 60)
    assert {r.outcome for r in results} == {Outcome.PASSED}
    sandboxes = {r.stdout.strip() for r in results}
    assert all(s.startswith("pid:[") for s in sandboxes)
    assert 1 <= len(sandboxes) < execution.default_workers()
